import * as core from '@actions/core'
import * as exec from '@actions/exec'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import * as semver from 'semver'
import { PLUGIN_VERSIONS, SERVERLESS_VERSION } from './defaults.js'
import { UserError } from './errors.js'
import type { Service } from './service.js'

export interface ServerlessInstall {
  bin: string
  version: string
  /** `project`: the service's own node_modules; `provided`: installed by the action for a service without one. */
  source: 'project' | 'provided'
}

export interface DependencyOptions {
  /** The `serverless-version` input. */
  requested?: string
  /** Where provided installs are kept between runs (the runner's tool cache). */
  cacheRoot: string
}

const LOCKFILES = ['npm-shrinkwrap.json', 'package-lock.json']
const MARKER = '.serverless-python-deploy'
const V3 = '>=3.0.0 <4.0.0'

function readJson(file: string): Record<string, unknown> | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined
}

export function lockfile(dir: string): string | undefined {
  return LOCKFILES.map(name => path.join(dir, name)).find(file => existsSync(file))
}

/** The serverless version the project pins: its lockfile, else the range package.json declares. */
export function projectServerless(dir: string): { version: string; from: string } | undefined {
  const lock = lockfile(dir)
  if (lock) {
    const data = readJson(lock) as {
      packages?: Record<string, { version?: string }>
      dependencies?: Record<string, { version?: string }>
    }
    const version =
      data.packages?.['node_modules/serverless']?.version ?? data.dependencies?.serverless?.version
    if (version) return { version, from: path.basename(lock) }
  }
  const manifest = readJson(path.join(dir, 'package.json')) as
    Record<string, Record<string, string> | undefined> | undefined
  const declared = manifest?.dependencies?.serverless ?? manifest?.devDependencies?.serverless
  return declared ? { version: declared, from: 'package.json' } : undefined
}

/**
 * Fails before anything is installed or deployed when the service cannot run on Serverless v3: a
 * project pinned to v4+, a frameworkVersion no v3 satisfies, or a serverless-version input the
 * project's own copy would override (Serverless always hands over to a local installation).
 */
export function checkFramework(service: Service, requested: string | undefined): void {
  const project = projectServerless(service.dir)
  const file = path.basename(service.configFile)
  if (project) {
    const range = semver.validRange(project.version)
    if (!range || !semver.intersects(range, V3)) {
      throw new UserError(
        `The service pins serverless ${project.version} in ${project.from}: this action runs Serverless Framework v3. Pin it to 3.x (npm install --save-dev serverless@3) and commit the lockfile.`
      )
    }
    if (requested && !semver.intersects(range, requested)) {
      throw new UserError(
        `Input 'serverless-version' is '${requested}', but the service pins serverless ${project.version} in ${project.from}, and Serverless always runs a project's own copy. Remove the input, or change the project's pin.`
      )
    }
  }
  if (service.frameworkVersion) {
    const wanted = semver.validRange(service.frameworkVersion)
    const version = project?.version ?? requested ?? SERVERLESS_VERSION
    if (!wanted || !semver.intersects(wanted, V3)) {
      throw new UserError(
        `${file} has frameworkVersion '${service.frameworkVersion}', which no Serverless v3 satisfies: this action runs v3. Set frameworkVersion: '3'.`
      )
    }
    const range = semver.validRange(version)
    if (range && !semver.intersects(wanted, range)) {
      throw new UserError(
        `${file} has frameworkVersion '${service.frameworkVersion}', but serverless ${version} would run. Pin a serverless version that satisfies it (serverless-version or the project's package.json), or widen frameworkVersion to '3'.`
      )
    }
  }
}

function fingerprint(lock: string): string {
  return createHash('sha256').update(readFileSync(lock)).update(process.versions.modules).digest('hex')
}

/** `npm ci` from the lockfile, skipped when node_modules was installed from this very lockfile. */
export async function installNodeModules(dir: string): Promise<'ci' | 'install' | 'up to date' | 'none'> {
  if (!existsSync(path.join(dir, 'package.json'))) return 'none'
  const lock = lockfile(dir)
  const marker = path.join(dir, 'node_modules', MARKER)
  const print = lock ? fingerprint(lock) : undefined
  if (print && existsSync(marker) && readFileSync(marker, 'utf8') === print) {
    core.info('node_modules already matches the lockfile; npm ci skipped')
    return 'up to date'
  }
  if (!lock)
    core.warning(
      'The service has no package-lock.json; running npm install. Commit a lockfile for reproducible deploys.'
    )
  await exec.exec('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: dir })
  if (print) {
    // A package.json without dependencies leaves no node_modules behind.
    mkdirSync(path.dirname(marker), { recursive: true })
    writeFileSync(marker, print)
  }
  return lock ? 'ci' : 'install'
}

function resolvable(dir: string, name: string): boolean {
  try {
    createRequire(path.join(dir, 'package.json')).resolve(`${name}/package.json`)
    return true
  } catch {
    return false
  }
}

/**
 * The service's own serverless when it has one; otherwise serverless 3.x and the plugins serverless.yml
 * names, installed once into the tool cache. Serverless finds plugins beside itself when the service
 * lacks them, so no NODE_PATH is needed.
 */
export async function prepareServerless(
  service: Service,
  options: DependencyOptions
): Promise<ServerlessInstall> {
  const own = path.join(service.dir, 'node_modules', 'serverless')
  if (existsSync(path.join(own, 'package.json'))) {
    const version = String(readJson(path.join(own, 'package.json'))?.version)
    if (semver.major(version) !== 3) {
      throw new UserError(
        `The service's node_modules has serverless ${version}: this action runs Serverless Framework v3. Pin serverless to 3.x in package.json.`
      )
    }
    return { bin: path.join(service.dir, 'node_modules', '.bin', 'serverless'), version, source: 'project' }
  }
  const version = options.requested ?? SERVERLESS_VERSION
  const missing = service.plugins.filter(plugin => !resolvable(service.dir, plugin))
  const specs = [
    `serverless@${version}`,
    ...missing.map(plugin => (PLUGIN_VERSIONS[plugin] ? `${plugin}@${PLUGIN_VERSIONS[plugin]}` : plugin))
  ].sort()
  const unpinned = missing.filter(plugin => !PLUGIN_VERSIONS[plugin])
  if (unpinned.length)
    core.warning(
      `Installing the latest ${unpinned.join(', ')}: add them to the service's package.json to pin their versions.`
    )
  const key = createHash('sha256')
    .update(specs.join('\n'))
    .update(process.versions.modules)
    .digest('hex')
    .slice(0, 16)
  const prefix = path.join(options.cacheRoot, 'serverless-python-deploy', key)
  const complete = path.join(prefix, '.complete')
  if (!existsSync(complete)) {
    mkdirSync(prefix, { recursive: true })
    await exec.exec('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', ...specs])
    writeFileSync(complete, specs.join('\n'))
  } else {
    core.info(`Using ${specs.join(', ')} from ${prefix}`)
  }
  const installed = String(readJson(path.join(prefix, 'node_modules', 'serverless', 'package.json'))?.version)
  return {
    bin: path.join(prefix, 'node_modules', '.bin', 'serverless'),
    version: installed,
    source: 'provided'
  }
}
