import { jest } from '@jest/globals'
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { copyFixture } from '../support/fixture.js'
import { startMoto, type Moto } from '../support/moto.js'
import { startFaultProxy } from '../support/oidc.js'
import { pipEnv } from '../support/pip.js'
import { NODE24, runAction, type ActionRun, type RunOptions, errorLines } from '../support/runner.js'

jest.setTimeout(900_000)

/**
 * Faults survived, with nothing lost, through dist/index.js against moto: AWS throttling on the
 * action's own calls, two runs deploying one stage at once, and a runner killed in the middle of a
 * deploy.
 */

const REGION = 'eu-west-1'
let moto: Moto
let service: string
let home: string | undefined

function run(
  stage: string,
  env: Record<string, string> = {},
  extra: Partial<RunOptions> = {}
): Promise<ActionRun> {
  return runAction({
    inputs: { command: 'deploy', 'working-directory': service, stage, 'aws-region': REGION },
    env: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: moto.endpoint,
      ...pipEnv(),
      ...env
    },
    node: NODE24,
    home,
    ...extra
  })
}

async function stackStatus(name: string): Promise<string | undefined> {
  const cfn = new CloudFormationClient({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
  try {
    return (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus
  } catch {
    return undefined
  } finally {
    cfn.destroy()
  }
}

beforeAll(async () => {
  moto = await startMoto()
  service = copyFixture('service', { node: 'none' })
  // Serverless provided by the action, installed once for the file into the shared runner home.
  const yml = path.join(service, 'serverless.yml')
  writeFileSync(
    yml,
    readFileSync(yml, 'utf8').replace('stages: [dev, test]', 'stages: [throttled, denied, busy, killed]')
  )
  const first = await run('throttled')
  home = first.home
  if (first.exitCode !== 0) console.log(first.stdout.slice(-3000))
  expect(first.exitCode).toBe(0)
})

afterAll(async () => {
  await moto?.stop()
})

describe("AWS throttling on the action's own calls", () => {
  it('is retried with backoff, each retry logged, a bounded number of times', async () => {
    const proxy = await startFaultProxy(moto.endpoint, 'Throttling', 2, 'DescribeStacks')
    try {
      // Only the action's own CloudFormation client goes through the proxy; serverless talks to moto.
      const deployed = await run('throttled', { AWS_ENDPOINT_URL_CLOUDFORMATION: proxy.endpoint })
      expect(deployed.exitCode).toBe(0)
      const retries = deployed.stdout
        .split('\n')
        .filter(line => /^cloudformation:DescribeStacks .* failed \(Throttling\); retry \d of 4/.test(line))
      expect(retries).toEqual([
        expect.stringMatching(/failed \(Throttling\); retry 1 of 4 in \d+\.\ds$/),
        expect.stringMatching(/failed \(Throttling\); retry 2 of 4 in \d+\.\ds$/)
      ])
      // Two faults and the call that went through, then the calls after it.
      expect(proxy.assumeCalls).toBeGreaterThanOrEqual(3)
    } finally {
      await proxy.close()
    }
  })

  it('AccessDenied is not retried: one call, one error', async () => {
    const proxy = await startFaultProxy(moto.endpoint, 'AccessDenied', 99, 'DescribeStacks')
    try {
      const denied = await run('denied', { AWS_ENDPOINT_URL_CLOUDFORMATION: proxy.endpoint })
      expect(denied.exitCode).toBe(1)
      expect(errorLines(denied)).toHaveLength(1)
      expect(proxy.assumeCalls).toBe(1)
      expect(denied.stdout).not.toMatch(/retry 1 of 4/)
      expect(denied.stdout).not.toContain('serverless.js deploy')
    } finally {
      await proxy.close()
    }
  })
})

describe('two runs deploy the same stage at once (a workflow without concurrency)', () => {
  it('both finish green, or one fails with the clear message; the stack ends complete', async () => {
    // Two runs are two machines: each has its own checkout and runner home.
    const other = copyFixture('service', { node: 'none' })
    writeFileSync(path.join(other, 'serverless.yml'), readFileSync(path.join(service, 'serverless.yml')))
    const [a, b] = await Promise.all([
      run('busy'),
      runAction({
        inputs: { command: 'deploy', 'working-directory': other, stage: 'busy', 'aws-region': REGION },
        env: {
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          AWS_ENDPOINT_URL: moto.endpoint,
          ...pipEnv()
        },
        node: NODE24
      })
    ])
    for (const r of [a, b]) {
      if (r.exitCode !== 0) {
        console.log(r.stdout.slice(-3000))
        expect(errorLines(r)).toEqual([
          expect.stringMatching(/Stack busy|Another deploy is updating the stack|still .*IN_PROGRESS/)
        ])
      }
    }
    expect([a.exitCode, b.exitCode]).toContain(0)
    expect(await stackStatus('fixture-api-busy')).toMatch(/^(CREATE|UPDATE)_COMPLETE$/)
  })
})

describe('the runner is killed in the middle of a deploy', () => {
  it('the next run finds the stack as it was left, and deploys', async () => {
    const killed = await run('killed', {}, { killWhen: /serverless\.js deploy --package \.serverless/ })
    expect(killed.exitCode).not.toBe(0)
    expect(killed.stdout).toMatch(/serverless\.js deploy --package \.serverless/)
    const next = await run('killed')
    if (next.exitCode !== 0) console.log(next.stdout.slice(-3000))
    expect(next.exitCode).toBe(0)
    expect(await stackStatus('fixture-api-killed')).toMatch(/^(CREATE|UPDATE)_COMPLETE$/)
    expect(next.outputs['stack-name']).toBe('fixture-api-killed')
  })
})
