import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStacksCommand,
  type Stack,
  type StackStatus
} from '@aws-sdk/client-cloudformation'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

/** A moto server on a free loopback port. Address it as localhost: moto's S3 needs that name. */
export interface Moto {
  port: number
  endpoint: string
  stop: () => Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export function motoServerCommand(): string {
  const found = spawnSync('moto_server', ['--help'], { stdio: 'ignore' })
  if (found.status === 0) return 'moto_server'
  throw new Error('moto_server is not installed; the e2e global setup installs moto[server] with pip')
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort()
  const child: ChildProcess = spawn(motoServerCommand(), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: false
  })
  let stderr = ''
  child.stderr?.on('data', chunk => (stderr += String(chunk)))
  const endpoint = `http://localhost:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`)
    try {
      const response = await fetch(`${endpoint}/moto-api/`)
      if (response.status < 500) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto_server did not start on ${port}: ${stderr}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  return {
    port,
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** Every stack status but DELETE_COMPLETE: what a stack that still exists can be in. */
const LIVE: StackStatus[] = [
  'CREATE_IN_PROGRESS',
  'CREATE_FAILED',
  'CREATE_COMPLETE',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'DELETE_IN_PROGRESS',
  'DELETE_FAILED',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE',
  'REVIEW_IN_PROGRESS',
  'IMPORT_IN_PROGRESS',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED',
  'IMPORT_ROLLBACK_COMPLETE'
]

/**
 * What moto holds: every stack that is not deleted in the given regions, as `region/name STATUS`, and
 * every bucket. A test that must prove nothing was created compares this with empty lists.
 */
export async function holdings(
  moto: Moto,
  regions: string[]
): Promise<{ stacks: string[]; buckets: string[] }> {
  const stacks: string[] = []
  for (const region of regions) {
    const cfn = new CloudFormationClient({ region, endpoint: moto.endpoint, credentials: MOTO_KEYS })
    try {
      const listed = await cfn.send(new ListStacksCommand({ StackStatusFilter: LIVE }))
      stacks.push(...(listed.StackSummaries ?? []).map(s => `${region}/${s.StackName} ${s.StackStatus}`))
    } finally {
      cfn.destroy()
    }
  }
  // S3's ListBuckets lists the buckets of every region; moto answers an unsigned GET / as ListBuckets.
  const text = await (await fetch(`${moto.endpoint}/`)).text()
  if (!text.includes('<ListAllMyBucketsResult'))
    throw new Error(`moto did not list buckets: ${text.slice(0, 200)}`)
  return { stacks, buckets: [...text.matchAll(/<Name>([^<]+)<\/Name>/g)].map(found => found[1]) }
}

/** Keys moto accepts for its default account; keys from an assumed role map to that role's account. */
export const MOTO_KEYS = { accessKeyId: 'testing', secretAccessKey: 'testing' }

/**
 * The stack of that name in that region, as the account of `credentials` sees it; undefined when there is
 * none, or only a deleted one.
 */
export async function findStack(
  moto: Moto,
  name: string,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = MOTO_KEYS
): Promise<Stack | undefined> {
  const client = new CloudFormationClient({ region, endpoint: moto.endpoint, credentials })
  try {
    const stack = (await client.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]
    return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? stack : undefined
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) return undefined
    throw error
  } finally {
    client.destroy()
  }
}
