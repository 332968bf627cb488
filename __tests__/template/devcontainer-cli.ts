/**
 * The real devcontainers CLI (npm @devcontainers/cli, a devDependency), run the way a template author and a
 * user run it: `devcontainer templates publish` pushes template/src to a registry, exactly as the release
 * workflow's devcontainers/action does, and `devcontainer templates apply` pulls a template from it into a
 * folder. The registry is oci-registry.ts on localhost, so nothing leaves the machine.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEMPLATES_SRC, removeDir } from './helpers.js'
import { startOciRegistry, type OciRegistry } from './oci-registry.js'

export const CLI_PACKAGE = '@devcontainers/cli'
/** Where release-template.yml publishes: ghcr.io/<owner>/<repo>, i.e. the namespace of this repository. */
export const NAMESPACE = 'serverless-python-deploy/action'

/** The CLI's entry point, from node_modules; a missing devDependency is an error that says what to install. */
export function devcontainerCli(): { entry: string; version: string } {
  const require = createRequire(import.meta.url)
  let manifest: string
  try {
    manifest = require.resolve(`${CLI_PACKAGE}/package.json`)
  } catch {
    throw new Error(
      `${CLI_PACKAGE} is not installed: it is a devDependency of this repository (npm ci installs it); ` +
        'the template tests publish and apply the template with it'
    )
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }
  return { entry: join(manifest, '..', 'devcontainer.js'), version }
}

export interface CliRun {
  status: number | null
  stdout: string
  stderr: string
}

export interface PublishedTemplates {
  registry: OciRegistry
  /** What `templates publish` printed on stdout: { <template id>: { publishedTags, digest, version } }. */
  published: Record<string, { publishedTags?: string[]; digest?: string; version?: string }>
  /** A template id to apply, e.g. localhost:41234/serverless-python-deploy/action/fastapi-lambda:1 */
  ref(id: string, tag?: string): string
  /** `devcontainer templates apply` of a published template into `dest`. */
  apply(id: string, dest: string, options?: Record<string, string>, tag?: string): Promise<CliRun>
  /** Stops the registry and removes the CLI's temp folder. */
  stop(): Promise<void>
}

/**
 * Publishes every template of `src` with the real CLI to a fresh loopback registry. The CLI's temp files
 * (it packs into os.tmpdir()) go to a private folder that stop() removes, also after a failure here.
 */
export async function publishTemplates(src = TEMPLATES_SRC): Promise<PublishedTemplates> {
  const { entry } = devcontainerCli()
  const work = mkdtempSync(join(tmpdir(), 'devcontainer-cli-'))
  let registry: OciRegistry | undefined
  try {
    registry = await startOciRegistry()
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: work, TMP: work, TEMP: work }
    // The registry is on localhost: no proxy may stand in between, and no token is needed.
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'GITHUB_TOKEN'])
      delete env[name]

    const cli = (args: string[]): Promise<CliRun> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', chunk => (stdout += String(chunk)))
        child.stderr.on('data', chunk => (stderr += String(chunk)))
        child.once('error', reject)
        child.once('close', status => resolve({ status, stdout, stderr }))
      })

    const publish = await cli([
      'templates',
      'publish',
      src,
      '--registry',
      registry.host,
      '--namespace',
      NAMESPACE
    ])
    if (publish.status !== 0)
      throw new Error(
        `devcontainer templates publish failed (${publish.status}):\n${publish.stderr.slice(-3000)}`
      )
    const host = registry.host
    const ref = (id: string, tag = 'latest') => `${host}/${NAMESPACE}/${id}:${tag}`
    const started = registry
    return {
      registry: started,
      published: JSON.parse(
        publish.stdout.trim().split('\n').pop() ?? '{}'
      ) as PublishedTemplates['published'],
      ref,
      apply: (id, dest, options = {}, tag = 'latest') => {
        const tmp = mkdtempSync(join(work, 'apply-'))
        mkdirSync(dest, { recursive: true })
        return cli([
          'templates',
          'apply',
          '--workspace-folder',
          dest,
          '--template-id',
          ref(id, tag),
          '--template-args',
          JSON.stringify(options),
          '--tmp-dir',
          tmp
        ])
      },
      stop: async () => {
        await started.stop()
        removeDir(work)
      }
    }
  } catch (error) {
    await registry?.stop()
    removeDir(work)
    throw error
  }
}

/** The files `templates apply` says it wrote: its last stdout line is {"files": ["./api.py", ...]}. */
export function appliedFiles(run: CliRun): string[] {
  const line = run.stdout.trim().split('\n').pop() ?? ''
  const { files } = JSON.parse(line) as { files: string[] }
  return files.map(file => file.replace(/^\.\//, '')).sort()
}
