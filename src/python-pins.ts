import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Exec } from './exec.js'
import { lockedRequirements, type PythonProject } from './python-project/index.js'
import type { Architecture } from './service.js'

/**
 * How a service's Python pins reach serverless-python-requirements. A requirements file, or a Pipfile
 * or Poetry project whose tool the runner has, the plugin reads itself (its tool run through a shim
 * that strips AWS credentials). Otherwise (uv, which the plugin does not know; Poetry or Pipenv without
 * their tool) the action derives the exact locked pins, with their hashes, from the lockfile, writes
 * them outside the repository, and the plugin reads that file (preload/python-pins.cjs): no tracked
 * file is written, and the lockfile decides, frozen.
 */

export interface Pins {
  /** The file the plugin reads, when the action derived the pins. */
  file?: string
  /** The tool the plugin runs itself (pipenv, poetry), with its real path. */
  tool?: { name: 'pipenv' | 'poetry'; path: string }
  /** In words, for the log. */
  how: string
}

/**
 * The real executable of a tool on PATH, when it does what the plugin asks of it. The action's own
 * shim folder is left out of the search: a second step in the same job (RUNNER_TEMP lives as long as
 * the job) would otherwise find the first step's shim, take it for the tool, and write a shim that
 * execs itself.
 */
export async function usableTool(
  name: 'pipenv' | 'poetry',
  exec: Exec,
  env: Record<string, string>,
  ownShims?: string
): Promise<string | undefined> {
  const own = ownShims && path.resolve(ownShims)
  const searched = (env.PATH ?? '')
    .split(path.delimiter)
    .filter(dir => dir && (!own || path.resolve(dir) !== own))
    .join(path.delimiter)
  const where = await exec('sh', ['-c', `command -v ${name}`], {
    env: { ...env, PATH: searched },
    silent: true
  }).catch(() => undefined)
  const found = where?.exitCode === 0 ? where.stdout.trim() : ''
  if (!found) return undefined
  // Poetry 2 moved `export` into a plugin the runner may lack: without it, the action derives the pins.
  const check = name === 'poetry' ? ['export', '--help'] : ['--version']
  const works = await exec(found, check, { env, silent: true }).catch(() => undefined)
  return works?.exitCode === 0 ? found : undefined
}

export async function pythonPins(
  project: PythonProject | undefined,
  options: {
    pythonVersion: string
    architecture: Architecture
    /** Where a derived pins file goes (the runner's temp folder). */
    file: string
    exec: Exec
    env: Record<string, string>
    /** The action's own shim folder, which is never taken for the tool. */
    ownShims?: string
  }
): Promise<Pins> {
  if (!project || project.kind === 'requirements')
    return { how: 'requirements file, read by serverless-python-requirements' }
  if (project.pluginHandles && (project.kind === 'pipenv' || project.kind === 'poetry')) {
    const tool = await usableTool(project.kind, options.exec, options.env, options.ownShims)
    if (tool)
      return {
        tool: { name: project.kind, path: tool },
        how: `${path.basename(project.lockfile)}, read by serverless-python-requirements through ${project.kind} (${tool})`
      }
  }
  const pins = lockedRequirements(project, {
    python: options.pythonVersion,
    platform: 'linux',
    machine: options.architecture === 'arm64' ? 'aarch64' : 'x86_64'
  })
  mkdirSync(path.dirname(options.file), { recursive: true })
  writeFileSync(
    options.file,
    `# From ${path.basename(project.lockfile)}, by serverless-python-deploy: the exact locked pins.\n${pins.join('\n')}\n`
  )
  return {
    file: options.file,
    how: `${pins.length} pins from ${path.basename(project.lockfile)}, derived by the action`
  }
}

/** A shim for a Python tool the plugin runs from the credentialed serverless process: without the credentials. */
export function toolShim(dir: string, tool: { name: string; path: string }): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    path.join(dir, tool.name),
    `#!/bin/sh\nunset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN\nexec '${tool.path.replace(/'/g, `'\\''`)}' "$@"\n`,
    { mode: 0o755 }
  )
}
