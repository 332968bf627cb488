import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import * as semver from 'semver'
import { FRAMEWORK_VERSIONS, LAMBDA_PYTHON_LIFECYCLE, PLUGIN_VERSIONS } from './defaults.js'
import { UserError } from './errors.js'
import type { Exec } from './exec.js'
import type { Framework } from './inputs.js'
import type { ServiceConfig } from './service.js'

/**
 * The service's Node side: its own package manager, installed from its own lockfile without changing
 * a tracked file, and the Serverless Framework v3 (or its maintained fork osls) that runs it.
 */

export interface FrameworkInstall {
  /** The package: serverless or osls. */
  name: Framework
  version: string
  /** Its CLI entry (bin/serverless.js), run with the action's own Node. */
  entry: string
  /** Its package folder. */
  dir: string
  /** `project`: the service's own node_modules; `provided`: installed by the action for a service without one. */
  source: 'project' | 'provided'
}

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
const MARKER = '.serverless-python-deploy'
const V3 = '>=3.0.0 <4.0.0'

function readJson(file: string): Record<string, unknown> | undefined {
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

interface Declared {
  name: Framework
  version: string
  from: string
}

/** The framework the project pins: npm's lockfile when there is one, else the range package.json declares. */
export function projectFramework(dir: string): Declared | undefined {
  const manifest = readJson(path.join(dir, 'package.json')) as
    Record<string, Record<string, string> | undefined> | undefined
  if (!manifest) return undefined
  for (const name of ['serverless', 'osls'] as const) {
    const declared = manifest.dependencies?.[name] ?? manifest.devDependencies?.[name]
    if (!declared) continue
    for (const lockName of ['package-lock.json', 'npm-shrinkwrap.json']) {
      const lock = readJson(path.join(dir, lockName)) as
        | {
            packages?: Record<string, { version?: string }>
            dependencies?: Record<string, { version?: string }>
          }
        | undefined
      const version = lock?.packages?.[`node_modules/${name}`]?.version ?? lock?.dependencies?.[name]?.version
      if (version) return { name, version, from: lockName }
    }
    return { name, version: declared, from: 'package.json' }
  }
  return undefined
}

/**
 * Fails before anything is installed or deployed when the service cannot run on Serverless v3: a
 * project pinned to v4+, a frameworkVersion no v3 satisfies, or an input the project's own copy would
 * override (Serverless always hands over to a local installation).
 */
export function checkFramework(
  config: ServiceConfig,
  requested: { version?: string; framework?: Framework }
): void {
  const project = projectFramework(config.dir)
  const file = path.basename(config.configFile)
  if (project) {
    const range = semver.validRange(project.version)
    if (range && !semver.intersects(range, V3)) {
      throw new UserError(
        `The service pins ${project.name} ${project.version} in ${project.from}: this action runs Serverless Framework v3. Pin it to 3.x (npm install --save-dev ${project.name}@3) and commit the lockfile.`,
        { title: 'Serverless v3 only' }
      )
    }
    if (requested.version && range && !semver.intersects(range, requested.version)) {
      throw new UserError(
        `Input 'serverless-version' is '${requested.version}', but the service pins ${project.name} ${project.version} in ${project.from}, and Serverless always runs a project's own copy. Remove the input, or change the project's pin.`,
        { title: 'Conflicting framework version' }
      )
    }
    if (requested.framework && requested.framework !== project.name) {
      throw new UserError(
        `Input 'framework' is '${requested.framework}', but the service depends on ${project.name} in its package.json, and the project's own copy is the one that runs. Remove the input, or change the project's dependency.`,
        { title: 'Conflicting framework' }
      )
    }
  }
  if (config.frameworkVersion) {
    const wanted = semver.validRange(config.frameworkVersion)
    if (!wanted || !semver.intersects(wanted, V3)) {
      throw new UserError(
        `${file} has frameworkVersion '${config.frameworkVersion}', which no Serverless v3 satisfies: this action runs v3. Set frameworkVersion: '3'.`,
        { title: 'Serverless v3 only', file: config.configFile }
      )
    }
    const name = project?.name ?? requested.framework ?? 'serverless'
    const version = project?.version ?? requested.version ?? FRAMEWORK_VERSIONS[name]
    const range = semver.validRange(version)
    if (range && !semver.intersects(wanted, range)) {
      throw new UserError(
        `${file} has frameworkVersion '${config.frameworkVersion}', but ${name} ${version} would run. Pin a version that satisfies it (the serverless-version input or the project's package.json), or widen frameworkVersion to '3'.`,
        { title: 'frameworkVersion not satisfied', file: config.configFile }
      )
    }
  }
}

/** What the installed node_modules were installed from: the lockfile (or package.json), the tool, Node's ABI. */
function fingerprint(dir: string, project: NodeProject): string {
  return createHash('sha256')
    .update(project.manager)
    .update(project.packageManagerField ?? '')
    .update(readFileSync(project.lockfile ?? path.join(dir, 'package.json')))
    .update(process.versions.modules)
    .digest('hex')
}

/** The command that installs exactly the lockfile, or (without one) the manifest without writing a lockfile. */
export function installCommand(project: NodeProject): { tool: string; args: string[] } {
  // Without a lockfile nothing can be frozen; npm installs package.json's ranges and writes nothing.
  if (!project.lockfile)
    return { tool: 'npm', args: ['install', '--no-package-lock', '--no-audit', '--no-fund'] }
  const args = {
    npm: ['ci', '--no-audit', '--no-fund'],
    yarn: ['install', '--frozen-lockfile', '--non-interactive'],
    'yarn-berry': ['install', '--immutable'],
    pnpm: ['install', '--frozen-lockfile']
  }[project.manager]
  if (project.manager === 'npm') return { tool: 'npm', args }
  const tool = project.manager === 'pnpm' ? 'pnpm' : 'yarn'
  // corepack provides the exact version packageManager names; without it, the runner's own tool.
  return project.packageManagerField ? { tool: 'corepack', args: [tool, ...args] } : { tool, args }
}

const OUT_OF_SYNC =
  /can only install packages when your package\.json and package-lock\.json|Your lockfile needs to be updated, but yarn was run with `--frozen-lockfile`|The lockfile would have been modified by this install, which is explicitly forbidden|ERR_PNPM_OUTDATED_LOCKFILE|is not up to date with package\.json|Missing: .+ from lock file|Invalid: lock file's/

export type InstallResult = 'installed' | 'up to date' | 'no package.json'

/**
 * Installs the service's Node dependencies with its own package manager, from its lockfile, and is
 * skipped when node_modules was installed from that very lockfile under this Node ABI.
 */
/** Whether node_modules was installed from this very lockfile under this Node ABI. */
export function nodeModulesUpToDate(dir: string): boolean {
  const project = nodeProject(dir)
  const marker = path.join(dir, 'node_modules', MARKER)
  return (
    Boolean(project) &&
    existsSync(marker) &&
    readFileSync(marker, 'utf8') === fingerprint(dir, project as NodeProject)
  )
}

/** The edges a Node install touches: the process it starts, in the environment it is given, and the log. */
export interface InstallDeps {
  exec: Exec
  /** The package manager's environment (child-env.ts: 'package-manager'). */
  env: Record<string, string>
  log: (message: string) => void
  warn: (message: string) => void
}

export async function installNodeModules(dir: string, deps: InstallDeps): Promise<InstallResult> {
  const project = nodeProject(dir)
  if (!project) return 'no package.json'
  const marker = path.join(dir, 'node_modules', MARKER)
  const print = fingerprint(dir, project)
  if (nodeModulesUpToDate(dir)) {
    deps.log(
      `node_modules already matches ${path.basename(project.lockfile ?? 'package.json')}; install skipped`
    )
    return 'up to date'
  }
  if (!project.lockfile)
    deps.warn(
      'The service has no lockfile (package-lock.json, yarn.lock or pnpm-lock.yaml): its dependencies are installed from the ranges in package.json, and no lockfile is written. Commit one for reproducible deploys.'
    )
  const { tool, args } = installCommand(project)
  let output = ''
  let exitCode: number
  try {
    ;({ exitCode } = await deps.exec(tool, args, {
      cwd: dir,
      env: { COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', ...deps.env },
      onOutput: chunk => (output = (output + chunk).slice(-64 * 1024))
    }))
  } catch (error) {
    // exec throws when the tool is not on PATH at all.
    throw new UserError(
      `The service's lockfile ${path.basename(project.lockfile ?? '')} needs ${tool}, which this runner does not have (${error instanceof Error ? error.message : String(error)}). Add "packageManager": "${project.manager === 'pnpm' ? 'pnpm@9' : 'yarn@4'}…" to package.json (corepack then provides it), or install ${tool} in an earlier step.`,
      { title: `${tool} not found` }
    )
  }
  if (exitCode !== 0) {
    const lockName = path.basename(project.lockfile ?? 'package.json')
    if (OUT_OF_SYNC.test(output)) {
      throw new UserError(
        `${lockName} is out of sync with package.json, so ${tool} ${args.join(' ')} refused to install from it. Run ${project.manager === 'npm' ? 'npm install' : project.manager === 'pnpm' ? 'pnpm install' : 'yarn install'} locally and commit the updated ${lockName}.`,
        { title: 'Lockfile out of sync', file: path.join(dir, lockName) }
      )
    }
    throw new UserError(
      `${tool} ${args.join(' ')} failed (exit code ${exitCode}) in ${dir}; its output is in the "Node dependencies" log group above.`,
      { title: 'Node dependencies not installed' }
    )
  }
  if (existsSync(path.join(dir, '.pnp.cjs')) && !existsSync(path.join(dir, 'node_modules'))) {
    throw new UserError(
      `The service installs with Yarn Plug'n'Play, which Serverless v3 cannot load plugins from. Add nodeLinker: node-modules to .yarnrc.yml.`,
      { title: "Yarn Plug'n'Play" }
    )
  }
  // A package.json without dependencies leaves no node_modules behind; the marker still records it.
  mkdirSync(path.dirname(marker), { recursive: true })
  writeFileSync(marker, print)
  return 'installed'
}

function packageDir(from: string, name: string): string | undefined {
  try {
    return path.dirname(createRequire(path.join(from, 'package.json')).resolve(`${name}/package.json`))
  } catch {
    return undefined
  }
}

function frameworkAt(dir: string, source: FrameworkInstall['source']): FrameworkInstall {
  const manifest = readJson(path.join(dir, 'package.json')) as {
    name: Framework
    version: string
    bin?: Record<string, string>
  }
  const version = String(manifest.version)
  if (semver.major(version) !== 3) {
    throw new UserError(
      `The service's node_modules has ${manifest.name} ${version}: this action runs Serverless Framework v3. Pin ${manifest.name} to 3.x in package.json.`,
      { title: 'Serverless v3 only' }
    )
  }
  const bin = manifest.bin?.serverless ?? manifest.bin?.sls ?? 'bin/serverless.js'
  return { name: manifest.name, version, entry: path.join(dir, bin), dir, source }
}

export interface ProvideOptions {
  requested?: string
  framework?: Framework
  /** Where provided installs are kept between runs (the runner's tool cache). */
  cacheRoot: string
}

/** The folder a provided framework and plugins install into: one per set of package specs and Node ABI. */
export function providedPrefix(
  config: ServiceConfig,
  options: Pick<ProvideOptions, 'requested' | 'framework' | 'cacheRoot'>
): { prefix: string; specs: string[] } {
  const name = options.framework ?? 'serverless'
  const version = options.requested ?? FRAMEWORK_VERSIONS[name]
  const missing = config.plugins.filter(plugin => !packageDir(config.dir, plugin))
  const specs = [
    `${name}@${version}`,
    ...missing.map(plugin => (PLUGIN_VERSIONS[plugin] ? `${plugin}@${PLUGIN_VERSIONS[plugin]}` : plugin))
  ].sort()
  const key = createHash('sha256')
    .update(specs.join('\n'))
    .update(process.versions.modules)
    .digest('hex')
    .slice(0, 16)
  return { prefix: path.join(options.cacheRoot, 'serverless-python-deploy', key), specs }
}

/**
 * The service's own serverless (or osls) when it has one; otherwise the framework and the plugins
 * serverless.yml names, installed once into the tool cache. Serverless finds plugins beside itself
 * when the service lacks them, so no NODE_PATH is needed.
 */
/** The framework in the service's own node_modules, if it has one. */
export function ownFramework(dir: string): string | undefined {
  return ['serverless', 'osls']
    .map(name => path.join(dir, 'node_modules', name))
    .find(own => existsSync(path.join(own, 'package.json')))
}

export async function prepareFramework(
  config: ServiceConfig,
  options: ProvideOptions,
  deps: InstallDeps
): Promise<FrameworkInstall> {
  const own = ownFramework(config.dir)
  if (own) return frameworkAt(own, 'project')
  const { prefix, specs } = providedPrefix(config, options)
  const unpinned = specs.filter(spec => !spec.slice(1).includes('@'))
  if (unpinned.length)
    deps.warn(
      `Installing the latest ${unpinned.join(', ')}: add them to the service's package.json to pin their versions.`
    )
  const complete = path.join(prefix, '.complete')
  if (!existsSync(complete)) {
    mkdirSync(prefix, { recursive: true })
    const result = await deps.exec(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-package-lock', ...specs],
      { env: deps.env }
    )
    if (result.exitCode !== 0)
      throw new UserError(
        `npm install of ${specs.join(', ')} failed (exit code ${result.exitCode}); its output is in the "Node dependencies" log group above.`,
        { title: 'Framework not installed' }
      )
    writeFileSync(complete, specs.join('\n'))
  } else {
    deps.log(`Using ${specs.join(', ')} from ${prefix}`)
  }
  return frameworkAt(path.join(prefix, 'node_modules', options.framework ?? 'serverless'), 'provided')
}

/**
 * Whether the framework's configuration schema lists the runtime. Serverless 3.40 stops at
 * python3.11 and only warns for newer ones; osls keeps up with Lambda.
 */
export function frameworkKnowsRuntime(install: FrameworkInstall, runtime: string): boolean | undefined {
  const provider = path.join(install.dir, 'lib', 'plugins', 'aws', 'provider.js')
  if (!existsSync(provider)) return undefined
  return readFileSync(provider, 'utf8').includes(`'${runtime}'`)
}

export interface RuntimeNote {
  title: string
  message: string
}

/**
 * What to say about a runtime before building: that the framework's schema does not know it (a note
 * suggesting osls, not just Serverless' schema warning), and that Lambda has deprecated it (a warning
 * with the date its updates stop). `today` is YYYY-MM-DD.
 */
export function runtimeNotes(
  runtime: string,
  install: FrameworkInstall | undefined,
  today: string
): { schema?: RuntimeNote; deprecated?: RuntimeNote } {
  const notes: { schema?: RuntimeNote; deprecated?: RuntimeNote } = {}
  if (install && frameworkKnowsRuntime(install, runtime) === false) {
    notes.schema = {
      title: `${runtime} is newer than ${install.name} ${install.version}`,
      message: `${install.name} ${install.version} does not list ${runtime} in its configuration schema, so it warns about it; Lambda runs it all the same. osls, the maintained fork of Serverless v3, knows it: depend on osls instead of serverless in package.json (or set the framework input to osls for a service without its own).`
    }
  }
  const lifecycle = LAMBDA_PYTHON_LIFECYCLE[runtime]
  if (lifecycle && lifecycle.deprecated <= today) {
    const blocked = lifecycle.blockUpdate <= today
    notes.deprecated = {
      title: `${runtime} is deprecated`,
      message: `Lambda deprecated ${runtime} on ${lifecycle.deprecated}: it gets no more security patches${blocked ? `, and since ${lifecycle.blockUpdate} functions on it can no longer be updated` : `, and from ${lifecycle.blockUpdate} functions on it can no longer be updated (new ones from ${lifecycle.blockCreate})`}. Move provider.runtime to a supported Python, such as python3.13.`
    }
  }
  return notes
}
