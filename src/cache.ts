import * as cache from '@actions/cache'
import * as core from '@actions/core'
import type { Runner } from './runner.js'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Caches across runs. A GitHub-hosted runner is a fresh machine each time: without them every run
 * installs node_modules, resolves and downloads every wheel, and compiles every module again. Each
 * cache is restored before the step that would build it, and saved in the post step (on success, as
 * actions/setup-python does) only when that step built it completely in this run.
 */

export type CacheName = 'node-modules' | 'python' | 'framework'

export interface CacheSpec {
  name: CacheName
  paths: string[]
  key: string
  restoreKeys: string[]
}

/** `local`: the machine already has it (a warm or self-hosted runner), so nothing was downloaded. */
export type CacheOutcome = 'hit' | 'local' | 'partial' | 'miss' | 'off'

/** What the post step saves: each cache that its step built in this run, and only those. */
export interface CachePlan {
  save: CacheSpec[]
}

export const STATE = 'spd-cache-plan'

function hashFiles(files: string[]): string {
  const hash = createHash('sha256')
  for (const file of files.filter(f => existsSync(f)).sort()) {
    hash.update(path.basename(file)).update('\0').update(readFileSync(file))
  }
  return hash.digest('hex').slice(0, 24)
}

const platform = `${process.platform}-${os.arch()}`

/**
 * node_modules as package-lock.json and this Node ABI make it, with the lockfile's tarballs (gathered
 * from npm's cache): a restored tree is used only once checked file by file against them (node/tree.ts).
 */
export function nodeModulesCache(dir: string, lockfile: string, tarballs: string): CacheSpec {
  const base = `spd-node-modules-${platform}-node${process.versions.modules}-npm-`
  return {
    name: 'node-modules',
    paths: [path.join(dir, 'node_modules'), tarballs],
    key: `${base}${hashFiles([lockfile, path.join(dir, 'package.json')])}`,
    restoreKeys: []
  }
}

/** serverless-python-requirements' cache (wheels it built and downloaded) and the action's bytecode cache. */
/** The files that decide a service's Python dependencies, whichever way it pins them. */
const PYTHON_PINS = [
  'requirements.txt',
  'Pipfile',
  'Pipfile.lock',
  'poetry.lock',
  'uv.lock',
  'pyproject.toml'
]

/**
 * What changes a Python build: the runtime's version, Lambda's platform, and the files that pin the
 * dependencies. The key of the Python cache, and the name of the folder serverless-python-requirements
 * builds in, so that two builds never share the plugin's own cache (it keys it by requirements and
 * architecture only, and would hand a python3.9 service a python3.11 one's extensions).
 */
export function pythonBuildKey(dir: string, target: string, pythonVersion: string): string {
  return `${platform}-${target}-py${pythonVersion}-${hashFiles(PYTHON_PINS.map(name => path.join(dir, name)))}`
}

/**
 * pip's download cache for a build, exactly keyed: responses pip checks against the package index's
 * hashes when it reads them. The wheels pip built from source distributions (wheels/ in it), which it
 * would reuse without a check, are never saved or restored (python.ts removes them).
 */
export function pythonCache(downloadCache: string, buildKey: string): CacheSpec {
  return { name: 'python', paths: [downloadCache], key: `spd-python-${buildKey}`, restoreKeys: [] }
}

/** The framework and plugins the action provides from its shipped lockfile, with their tarballs. */
export function frameworkCache(dir: string, tarballs: string): CacheSpec {
  return {
    name: 'framework',
    paths: [path.join(dir, 'node_modules'), tarballs],
    key: `spd-framework-${platform}-node${process.versions.modules}-${path.basename(dir)}`,
    restoreKeys: []
  }
}

/** Where serverless-python-requirements keeps its cache, as its appdirectory dependency decides. */
export function pythonRequirementsCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  if (process.platform === 'darwin')
    return path.join(env.HOME || os.homedir(), 'Library', 'Caches', 'serverless-python-requirements')
  return path.join(
    env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache'),
    'serverless-python-requirements'
  )
}

/**
 * The cache service, as the run sees it: whether it answers, and what a restore found. An edge of the
 * run, so that a test can play the service.
 */
export interface CacheStore {
  /** Why no cache service can be used, or undefined when one answers. */
  unavailable: () => Promise<string | undefined>
  /** The key that matched, or undefined on a miss. */
  restore: (spec: CacheSpec) => Promise<string | undefined>
}

/**
 * The toolkit's cache service. Without one (a local run, GHES without it) the run goes on with one
 * notice instead of a warning per cache, and no minutes lost to the toolkit's retries.
 */
export function actionsCacheStore(env: Readonly<Record<string, string | undefined>>): CacheStore {
  return {
    unavailable: async () => {
      if (!cache.isFeatureAvailable()) return 'this runner has no cache service'
      const url = env.ACTIONS_RESULTS_URL || env.ACTIONS_CACHE_URL
      if (!url) return 'this runner has no cache service'
      try {
        await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3000) })
        return undefined
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code
        return `the cache service at ${new URL(url).host} does not answer (${cause ?? (error as Error).message})`
      }
    },
    restore: spec => cache.restoreCache(spec.paths, spec.key, spec.restoreKeys)
  }
}

/**
 * One run's use of the caches: each is restored before the step that would build it, unless caching
 * is off, no cache service answers (said once), or the machine already has what it holds (a warm
 * runner downloads nothing); the post step saves those its step built in this run.
 */
export class CacheSession {
  readonly outcomes: Partial<Record<CacheName, CacheOutcome>> = {}
  readonly plan: CacheSpec[] = []
  /** Why caching is off for this run, once known; empty when the service answers. */
  private off?: string

  constructor(
    private readonly enabled: boolean,
    private readonly store: CacheStore,
    private readonly runner: Pick<Runner, 'info' | 'notice'>
  ) {}

  async restore(spec: CacheSpec, present = false): Promise<CacheOutcome> {
    if (this.enabled && !present && this.off === undefined) {
      this.off = (await this.store.unavailable()) ?? ''
      if (this.off)
        this.runner.notice(`No caches restored or saved: ${this.off}. The run goes on without them.`, {
          title: 'Caching off'
        })
    }
    let outcome: CacheOutcome
    if (!this.enabled || (!present && this.off)) outcome = 'off'
    else if (present) outcome = 'local'
    else {
      const matched = await this.store.restore(spec)
      outcome = matched === spec.key ? 'hit' : matched ? 'partial' : 'miss'
      this.runner.info(`Cache ${spec.name}: ${outcome}${matched ? ` (${matched})` : ''}`)
    }
    this.outcomes[spec.name] = outcome
    return outcome
  }

  /** The post step saves this cache: its step is about to build it, and caching is on. */
  planSave(spec: CacheSpec): void {
    if (this.outcomes[spec.name] !== 'off') this.plan.push(spec)
  }

  /** `cache-hit`; undefined when no cache service answered. */
  hit(): string | undefined {
    return this.off ? undefined : cacheHit(this.outcomes)
  }

  /** Each cache's outcome, for the summary. */
  describe(): string {
    return Object.entries(this.outcomes)
      .map(([name, value]) => `${name}: ${value}`)
      .join(', ')
  }
}

/** The post step: saves what the main step built, never what a failed step left half-written. */
export async function savePlanned(plan: CachePlan): Promise<void> {
  for (const spec of plan.save) {
    if (!spec.paths.every(p => existsSync(p))) continue
    try {
      const id = await cache.saveCache(spec.paths, spec.key)
      core.info(
        id === -1
          ? `Cache ${spec.name} not saved (${spec.key}): see above.`
          : `Cache ${spec.name} saved: ${spec.key}`
      )
    } catch (error) {
      core.warning(`Cache ${spec.name} not saved: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** `cache-hit`: true when every cache the run used was restored exactly, false when none was. */
export function cacheHit(outcomes: Partial<Record<CacheName, CacheOutcome>>): string | undefined {
  const used = Object.values(outcomes).filter(o => o !== 'off')
  if (!used.length) return Object.keys(outcomes).length ? 'false' : undefined
  if (used.every(o => o === 'hit' || o === 'local')) return 'true'
  if (used.every(o => o === 'miss')) return 'false'
  return 'partial'
}

/** The post step: reads the plan the main step saved, and saves those caches. */
export async function savePost(): Promise<void> {
  const text = core.getState(STATE)
  if (!text) return
  await savePlanned(JSON.parse(text) as CachePlan)
}
