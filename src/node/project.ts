import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * How a service installs its Node side: its package manager and its lockfile, and the command that
 * installs exactly that lockfile with no script running (scripts.ts runs the approved ones after).
 */

export type PackageManager = 'npm' | 'yarn' | 'yarn-berry' | 'pnpm'

export interface NodeProject {
  manager: PackageManager
  /** The lockfile, when the project has one. */
  lockfile?: string
  /** `packageManager` in package.json (`pnpm@9.12.0`): then corepack provides that exact tool. */
  packageManagerField?: string
}

const LOCKFILES: [string, PackageManager][] = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn']
]

export function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/** How the project installs its Node dependencies; undefined without a package.json. */
export function nodeProject(dir: string): NodeProject | undefined {
  const manifest = readJson(path.join(dir, 'package.json'))
  if (!manifest) return undefined
  const field = typeof manifest.packageManager === 'string' ? manifest.packageManager : undefined
  const named = field?.split('@')[0]
  const found = LOCKFILES.filter(([name]) => existsSync(path.join(dir, name)))
  // packageManager decides between lockfiles that both exist; otherwise the first in npm's order.
  const [lockName, kind] = found.find(([, manager]) => manager.startsWith(named ?? '\0')) ?? found[0] ?? []
  if (!lockName || !kind) return { manager: 'npm', packageManagerField: field }
  const lockfile = path.join(dir, lockName)
  // Yarn 2+ (berry) lockfiles are YAML with a __metadata block; classic ones are not.
  const manager =
    kind === 'yarn' && /^__metadata:/m.test(readFileSync(lockfile, 'utf8')) ? 'yarn-berry' : kind
  return { manager, lockfile, packageManagerField: field }
}

/** A package manager's command line, through corepack when packageManager names the exact tool. */
export interface Command {
  tool: string
  args: string[]
  env?: Record<string, string>
}

function through(project: NodeProject, args: string[]): Command {
  if (project.manager === 'npm') return { tool: 'npm', args }
  const tool = project.manager === 'pnpm' ? 'pnpm' : 'yarn'
  // corepack provides the exact version packageManager names; without it, the runner's own tool.
  return project.packageManagerField ? { tool: 'corepack', args: [tool, ...args] } : { tool, args }
}

/**
 * The command that installs exactly the lockfile with no install script running, or (without a
 * lockfile) the manifest without writing a lockfile.
 */
export function installCommand(project: NodeProject): Command {
  if (!project.lockfile)
    return {
      tool: 'npm',
      args: ['install', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund']
    }
  switch (project.manager) {
    case 'npm':
      return through(project, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'])
    case 'yarn':
      return through(project, ['install', '--frozen-lockfile', '--non-interactive', '--ignore-scripts'])
    case 'yarn-berry':
      return { ...through(project, ['install', '--immutable']), env: { YARN_ENABLE_SCRIPTS: 'false' } }
    case 'pnpm':
      return through(project, ['install', '--frozen-lockfile', '--ignore-scripts'])
  }
}

/** The command that runs approved dependencies' install scripts, by package name. */
export function rebuildCommand(project: NodeProject, names: string[]): Command {
  // Yarn classic has no rebuild; npm's works on any node_modules tree.
  if (project.manager === 'yarn' || !project.lockfile) return { tool: 'npm', args: ['rebuild', ...names] }
  return through(project, ['rebuild', ...names])
}

/**
 * The command that runs one of the project's own lifecycle scripts, that one alone: `npm run install`
 * would also run preinstall and postinstall, which run in their own turn (--ignore-scripts keeps npm
 * run to the script it names). npm comes with every Node, whatever the project's package manager.
 */
export function runScriptCommand(name: string): Command {
  return { tool: 'npm', args: ['run', name, '--ignore-scripts'] }
}

/** The command that installs the lockfile again, to say in messages. */
export function lockCommand(project: NodeProject): string {
  return project.manager === 'npm'
    ? 'npm install'
    : project.manager === 'pnpm'
      ? 'pnpm install'
      : 'yarn install'
}

/** What the package managers print when the lockfile does not match package.json. */
export const OUT_OF_SYNC =
  /can only install packages when your package\.json and package-lock\.json|Your lockfile needs to be updated, but yarn was run with `--frozen-lockfile`|The lockfile would have been modified by this install, which is explicitly forbidden|ERR_PNPM_OUTDATED_LOCKFILE|is not up to date with package\.json|Missing: .+ from lock file|Invalid: lock file's/
