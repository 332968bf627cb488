import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import * as semver from 'semver'
import { asset } from './assets.js'
import { FRAMEWORK_VERSIONS, LAMBDA_PYTHON_LIFECYCLE } from './defaults.js'
import { UserError } from './errors.js'
import type { Framework } from './inputs.js'
import { installNodeModules, type InstallDeps } from './node/install.js'
import { readJson } from './node/project.js'
import type { ServiceConfig } from './service.js'

/**
 * The Serverless Framework v3 (or its maintained fork osls) that runs the service: the service's own,
 * or for a service without one, the framework and plugins the action provides from a lockfile it
 * ships (frameworks/<name>/package-lock.json), installed frozen and with no install script.
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
 * The majors each framework runs in: Serverless Framework v3, and osls (its maintained fork) 3 and 4.
 * Serverless Inc's v4 is refused: it needs a login and, for larger companies, a licence, and it
 * packages Python itself; osls 4 is the v4 line this action runs.
 */
const MAJORS: Readonly<Record<Framework, string>> = { serverless: '>=3.0.0 <4.0.0', osls: '>=3.0.0 <5.0.0' }

/** `found` names what was found: "The service pins serverless 4.4.0 in package-lock.json". */
function refuseMajor(name: Framework, found: string): UserError {
  return name === 'serverless'
    ? new UserError(
        `${found}: this action runs Serverless Framework v3, or osls 3 or 4 (its maintained fork); Serverless Inc's v4 needs a login and, for larger companies, a licence. Pin it to 3.x (npm install --save-dev serverless@3), or move to osls (npm install --save-dev osls), and commit the lockfile.`,
        { title: 'Serverless v3 or osls only' }
      )
    : new UserError(
        `${found}: this action runs osls 3 and 4. Pin it to 3.x or 4.x and commit the lockfile.`,
        {
          title: 'Serverless v3 or osls only'
        }
      )
}

/**
 * Fails before anything is installed or deployed when the service cannot run on a framework this
 * action runs: a project pinned to Serverless v4, a frameworkVersion the framework that would run does
 * not satisfy (osls 4 refuses frameworkVersion '3'), or an input the project's own copy would override
 * (Serverless always hands over to a local installation).
 */
/**
 * A plugin the service does not have is installed by name: a name that is not an npm package name (such
 * as `--registry=…`) would reach npm as an option. Checked with the service, before anything runs.
 */
function checkPluginNames(config: ServiceConfig): void {
  const bad = config.plugins
    .filter(plugin => !packageDir(config.dir, plugin))
    .find(plugin => !NPM_NAME.test(plugin) || plugin.length > 214)
  if (bad !== undefined)
    throw new UserError(
      `${path.basename(config.configFile)} names the plugin '${bad}', which is not an npm package name. List plugins by their package names (such as serverless-python-requirements), or by a ./path for a local plugin.`,
      { title: 'Not a plugin name', file: config.configFile }
    )
}

export function checkFramework(
  config: ServiceConfig,
  requested: { version?: string; framework?: Framework }
): void {
  const project = projectFramework(config.dir)
  const file = path.basename(config.configFile)
  if (project) {
    const range = semver.validRange(project.version)
    if (range && !semver.intersects(range, MAJORS[project.name]))
      throw refuseMajor(
        project.name,
        `The service pins ${project.name} ${project.version} in ${project.from}`
      )
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
  checkPluginNames(config)
  const name = project?.name ?? requested.framework ?? 'serverless'
  if (!project && requested.version) {
    const range = semver.validRange(requested.version)
    if (!range || !semver.intersects(range, MAJORS[name])) {
      throw new UserError(
        `Input 'serverless-version' is '${requested.version}': ${name === 'serverless' ? "the Serverless Framework runs here as v3 (Serverless Inc's v4 needs a login and a licence); use a 3.x version such as 3.40.0, or set framework: osls for osls 4" : 'osls runs here as 3.x or 4.x; use a version such as 3.77.1 or 4.3.1'} (or leave it empty for the one the action ships).`,
        { title: 'Serverless v3 or osls only' }
      )
    }
  }
  if (config.frameworkVersion) {
    const wanted = semver.validRange(config.frameworkVersion)
    if (!wanted || !semver.intersects(wanted, MAJORS[name])) {
      throw new UserError(
        `${file} has frameworkVersion '${config.frameworkVersion}', which no ${name === 'serverless' ? 'Serverless v3' : 'osls 3 or 4'} satisfies. Set frameworkVersion: '${name === 'serverless' ? '3' : '3 || 4'}'.`,
        { title: 'Serverless v3 or osls only', file: config.configFile }
      )
    }
    const version = project?.version ?? requested.version ?? FRAMEWORK_VERSIONS[name]
    const range = semver.validRange(version)
    if (range && !semver.intersects(wanted, range)) {
      throw new UserError(
        `${file} has frameworkVersion '${config.frameworkVersion}', but ${name} ${version} would run (osls 4 refuses a frameworkVersion of '3'). Pin a version that satisfies it (the serverless-version input or the project's package.json), or widen frameworkVersion (such as '3 || 4').`,
        { title: 'frameworkVersion not satisfied', file: config.configFile }
      )
    }
  }
}

/** The framework in the service's own node_modules: the package its package.json names, if installed. */
export function ownFramework(dir: string): string | undefined {
  const declared = projectFramework(dir)
  const names = declared ? [declared.name] : (['serverless', 'osls'] as const)
  return names
    .map(name => path.join(dir, 'node_modules', name))
    .find(own => existsSync(path.join(own, 'package.json')))
}

function packageDir(from: string, name: string): string | undefined {
  try {
    return path.dirname(createRequire(path.join(from, 'package.json')).resolve(`${name}/package.json`))
  } catch {
    return undefined
  }
}

export function frameworkAt(dir: string, source: FrameworkInstall['source']): FrameworkInstall {
  const manifest = readJson(path.join(dir, 'package.json')) as {
    name: Framework
    version: string
    bin?: Record<string, string>
  }
  const version = String(manifest.version)
  if (!semver.satisfies(version, MAJORS[manifest.name] ?? MAJORS.serverless))
    throw refuseMajor(manifest.name, `The service's node_modules has ${manifest.name} ${version}`)
  const bin = manifest.bin?.serverless ?? manifest.bin?.sls ?? 'bin/serverless.js'
  return { name: manifest.name, version, entry: path.join(dir, bin), dir, source }
}

/**
 * A package name npm takes: the plugin names serverless.yml gives reach npm's command line only as
 * names (`--registry=http://…` would be an option).
 */
const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/

export interface ProvidedFramework {
  name: Framework
  version: string
  /** Where it is installed: one folder per lockfile (or, unlocked, per version) in the tool cache. */
  dir: string
  /** The shipped lockfile it installs from; undefined for a serverless-version the action ships none for. */
  lockfile?: string
}

/** The frameworks the action ships a lockfile for (src/frameworks/<folder>), each with the plugins it provides. */
const SHIPPED: readonly { name: Framework; folder: string }[] = [
  { name: 'serverless', folder: 'serverless' },
  { name: 'osls', folder: 'osls' },
  { name: 'osls', folder: 'osls4' }
]

interface Shipped {
  name: Framework
  version: string
  folder: string
  plugins: string[]
}

function shipped(): Shipped[] {
  return SHIPPED.map(({ name, folder }) => {
    const dependencies = (readJson(asset('frameworks', folder, 'package.json'))?.dependencies ??
      {}) as Record<string, string>
    return {
      name,
      folder,
      version: dependencies[name],
      plugins: Object.keys(dependencies).filter(dep => dep !== name)
    }
  })
}

/**
 * What the action provides for a service without its own framework: the shipped lockfile of the
 * framework asked for (its default version, or the shipped one serverless-version's range takes);
 * otherwise that version, unlocked. Every plugin serverless.yml names must be the service's own or
 * one the lockfile has.
 */
export function providedFramework(
  config: ServiceConfig,
  options: { requested?: string; framework?: Framework; toolCache: (...parts: string[]) => string }
): ProvidedFramework {
  const name = options.framework ?? 'serverless'
  const candidates = shipped().filter(entry => entry.name === name)
  const lock = options.requested
    ? candidates.find(entry => semver.satisfies(entry.version, options.requested as string))
    : candidates.find(entry => entry.version === FRAMEWORK_VERSIONS[name])
  const plugins = (
    lock ??
    candidates.find(entry => entry.version === FRAMEWORK_VERSIONS[name]) ??
    candidates[0]
  ).plugins
  const missing = config.plugins.filter(plugin => !packageDir(config.dir, plugin))
  const unknown = missing.filter(plugin => !plugins.includes(plugin))
  if (unknown.length) {
    const version = lock?.version ?? options.requested ?? FRAMEWORK_VERSIONS[name]
    throw new UserError(
      `${path.basename(config.configFile)} names ${unknown.join(', ')}, which the service does not install and the action does not provide (it provides ${name} ${version} with ${plugins.join(', ')}, from a lockfile). Add a package.json that installs the framework and its plugins (npm install --save-dev ${name}@${String(semver.minVersion(version) ?? version).split('.')[0]} ${unknown.join(' ')}) and commit package-lock.json.`,
      { title: 'Plugin not provided', file: config.configFile }
    )
  }
  if (lock) {
    const lockfile = asset('frameworks', lock.folder, 'package-lock.json')
    const hash = createHash('sha256')
      .update(readFileSync(lockfile))
      .update(process.versions.modules)
      .digest('hex')
    return {
      name,
      version: lock.version,
      lockfile,
      dir: options.toolCache('framework', `${name}-${hash.slice(0, 16)}`)
    }
  }
  const version = options.requested as string
  return { name, version, dir: options.toolCache('framework', `${name}-${version}-unlocked`) }
}

/** Installs the provided framework (or proves the one there is the lockfile's) and finds its CLI. */
export async function installProvided(
  provided: ProvidedFramework,
  deps: InstallDeps
): Promise<FrameworkInstall> {
  mkdirSync(provided.dir, { recursive: true })
  deps.log(
    `Providing ${provided.name} ${provided.version} and the plugins it may load ${provided.lockfile ? "from the action's lockfile" : 'unlocked'}, in ${provided.dir}`
  )
  if (provided.lockfile) {
    const shipped = path.dirname(provided.lockfile)
    for (const file of ['package.json', 'package-lock.json', '.npmrc'])
      if (existsSync(path.join(shipped, file)))
        cpSync(path.join(shipped, file), path.join(provided.dir, file))
  } else {
    const shipped = readJson(asset('frameworks', provided.name, 'package.json')) ?? {}
    const dependencies = {
      ...(shipped.dependencies as Record<string, string>),
      [provided.name]: provided.version
    }
    writeFileSync(
      path.join(provided.dir, 'package.json'),
      JSON.stringify({ ...shipped, dependencies }, null, 2)
    )
    deps.warn(
      `serverless-version ${provided.version} is not the version the action ships a lockfile for (${FRAMEWORK_VERSIONS[provided.name]}): its dependencies are resolved now, and may differ from run to run. Pin it in the service's own package.json and commit the lockfile for reproducible deploys.`
    )
  }
  await installNodeModules(provided.dir, deps)
  return frameworkAt(path.join(provided.dir, 'node_modules', provided.name), 'provided')
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
