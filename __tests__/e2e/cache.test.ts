import { jest } from '@jest/globals'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startCacheServer, type CacheServer } from '../support/cache-server.js'
import { FIXTURES } from '../support/fixture.js'
import { pipEnv } from '../support/pip.js'
import { NODE24, runAction, runPost, type ActionRun } from '../support/runner.js'

jest.setTimeout(900_000)

/**
 * Caches across runs through dist/index.js and dist/post/index.js, with the real @actions/cache
 * against a loopback cache service: a cold run saves in its post step, and a run on an empty machine
 * restores everything and installs nothing.
 */

let server: CacheServer

const notices = (run: ActionRun) => run.stdout.split('\n').filter(line => line.startsWith('::notice'))
const warnings = (run: ActionRun) => run.stdout.split('\n').filter(line => line.startsWith('::warning'))

/**
 * A machine as a hosted runner has it: the same paths on every run (the workspace, the runner's home
 * and tool cache, the user cache), emptied between runs. The toolkit's cache versions hash the paths,
 * so a restore only matches where they are the same, as on GitHub's runners.
 */
function machine(name: string) {
  const base = mkdtempSync(path.join(os.tmpdir(), `machine-${name}-`))
  const home = path.join(base, 'home')
  const workspace = path.join(base, 'work', 'service')
  return {
    /** An empty machine with a fresh checkout of the fixture. */
    fresh(withPackageJson: boolean): string {
      rmSync(path.join(base, 'home'), { recursive: true, force: true })
      rmSync(path.join(base, 'xdg'), { recursive: true, force: true })
      rmSync(path.dirname(workspace), { recursive: true, force: true })
      mkdirSync(home, { recursive: true })
      cpSync(path.join(FIXTURES, 'service'), workspace, { recursive: true })
      if (!withPackageJson) {
        rmSync(path.join(workspace, 'package.json'))
        rmSync(path.join(workspace, 'package-lock.json'))
      }
      return workspace
    },
    home,
    // npm's own download cache is the run's shared one: what is cold here is the runner (its workspace,
    // tool cache and the cache service), which is what the action's caches are about.
    env: { XDG_CACHE_HOME: path.join(base, 'xdg') },
    remove: () => rmSync(base, { recursive: true, force: true })
  }
}

/** Serverless' compiled config-schema validators in a runner home, with when each was written. */
function validators(home: string): { file: string; written: number }[] {
  const found: { file: string; written: number }[] = []
  for (const base of [
    path.join(home, 'temp', 'serverless-python-deploy', 'serverless-schema'),
    path.join(home, 'tool-cache', 'serverless-python-deploy', 'serverless-schema'),
    home
  ]) {
    const artifacts = path.join(base, '.serverless', 'artifacts')
    if (!existsSync(artifacts)) continue
    for (const folder of readdirSync(artifacts))
      for (const name of readdirSync(path.join(artifacts, folder))) {
        const file = path.join(artifacts, folder, name)
        found.push({ file: path.relative(home, file), written: statSync(file).mtimeMs })
      }
  }
  return found
}

/** Files under a folder, with when each was written. */
function filesUnder(dir: string): { file: string; written: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => path.join(entry.parentPath, entry.name))
    .map(file => ({ file, written: statSync(file).mtimeMs }))
}

/**
 * Serverless' start caches hold code it loads (the validator is JavaScript, the compile cache V8's
 * code): no cache brings them. This run compiled its own, in the runner's temp folder, and wrote
 * nothing of them where a later job could find it.
 */
function expectStartCachesOwn(home: string, started: number): void {
  const own = validators(home)
  expect(own).toEqual([
    {
      file: expect.stringMatching(
        /^temp\/serverless-python-deploy\/serverless-schema\/\.serverless\/artifacts\/ajv-validate-[\d.]+\/[0-9a-f]{40}\.js$/
      ),
      written: expect.any(Number)
    }
  ])
  expect(own[0].written).toBeGreaterThanOrEqual(started - 1000)
  const compiled = filesUnder(path.join(home, 'temp', 'serverless-python-deploy', 'node-compile-cache'))
  expect(compiled.length).toBeGreaterThan(0)
  expect(compiled.every(entry => entry.written >= started - 1000)).toBe(true)
  expect(existsSync(path.join(home, 'tool-cache', 'serverless-python-deploy', 'node-compile-cache'))).toBe(
    false
  )
}

async function packageOn(
  box: ReturnType<typeof machine>,
  service: string,
  env: Record<string, string>,
  inputs: Record<string, string> = {}
): Promise<ActionRun> {
  const run = await runAction({
    inputs: { command: 'package', 'working-directory': service, stage: 'prod', ...inputs },
    env: { ...pipEnv(), ...box.env, ...env },
    node: NODE24,
    home: box.home
  })
  if (run.exitCode !== 0) console.log(run.stdout.slice(-4000))
  return run
}

beforeAll(async () => {
  server = await startCacheServer()
})

afterAll(async () => {
  await server?.stop()
})

describe('a service with its own lockfile', () => {
  const box = machine('lockfile')
  afterAll(() => box.remove())
  let cold: ActionRun

  it('a cold run misses every cache, and its post step saves node_modules and the Python caches', async () => {
    cold = await packageOn(box, box.fresh(true), server.env)
    expect(cold.exitCode).toBe(0)
    expect(cold.outputs['cache-hit']).toBe('false')
    expect(cold.stdout).toContain('[command]/usr/bin/npm ci')
    const post = await runPost(cold, { inputs: {}, env: { ...box.env, ...server.env }, node: NODE24 })
    expect(post.exitCode).toBe(0)
    const saved = server
      .entries()
      .filter(entry => entry.finalized)
      .map(entry => entry.key)
    expect(saved).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spd-node-modules-linux-x64-node\d+-npm-[0-9a-f]{24}$/),
        expect.stringMatching(/^spd-python-linux-x64-manylinux2014_x86_64-py3\.11-[0-9a-f]{24}$/)
      ])
    )
    // The service brings its own serverless: the action installed none to cache.
    expect(saved.some(key => key.startsWith('spd-framework-'))).toBe(false)
    // Serverless kept its schema validator in the runner's temp folder, not in the home.
    expectStartCachesOwn(box.home, 0)
  })

  it('a run on an empty machine restores them, installs nothing, and reports cache-hit true', async () => {
    const service = box.fresh(true)
    const started = Date.now()
    const fresh = await packageOn(box, service, server.env)
    expect(fresh.exitCode).toBe(0)
    expect(fresh.outputs['cache-hit']).toBe('true')
    // Restored node_modules is used only once every file is proved against the restored tarballs.
    expect(fresh.stdout).toMatch(
      /node_modules is what package-lock\.json gives: \d+ packages, \d+ files checked against their tarballs/
    )
    expect(fresh.stdout).not.toContain('[command]/usr/bin/npm ci')
    expect(existsSync(path.join(service, '.serverless', 'fixture-api.zip'))).toBe(true)
    expect(fresh.summary).toContain('node-modules: hit, python: hit')
    expectStartCachesOwn(box.home, started)
    // Exact hits are not saved again.
    const post = await runPost(fresh, { inputs: {}, env: { ...box.env, ...server.env }, node: NODE24 })
    expect(post.exitCode).toBe(0)
    expect(post.stdout).not.toContain('saved:')
  })

  it('cache: false asks no service at all', async () => {
    const before = server.requests.length
    const off = await packageOn(box, box.fresh(true), server.env, { cache: 'false' })
    expect(off.exitCode).toBe(0)
    expect(server.requests.length).toBe(before)
    expect(notices(off).filter(line => line.includes('Caching off'))).toEqual([])
    expect(off.outputs['cache-hit']).toBe('false')
  })
})

describe('a service without package.json', () => {
  const box = machine('provided')
  afterAll(() => box.remove())

  it('caches the serverless the action provides', async () => {
    const cold = await packageOn(box, box.fresh(false), server.env)
    expect(cold.exitCode).toBe(0)
    expect(cold.stdout).toMatch(
      /Providing serverless 3\.\d+\.\d+ and the plugins it may load from the action's lockfile/
    )
    expect(cold.stdout).toContain('[command]/usr/bin/npm ci --ignore-scripts --no-audit --no-fund')
    const post = await runPost(cold, { inputs: {}, env: { ...box.env, ...server.env }, node: NODE24 })
    expect(post.stdout).toMatch(
      /Cache framework saved: spd-framework-linux-x64-node\d+-serverless-[0-9a-f]{16}/
    )
    const service = box.fresh(false)
    const started = Date.now()
    const fresh = await packageOn(box, service, server.env)
    expect(fresh.exitCode).toBe(0)
    expect(fresh.stdout).not.toContain('[command]/usr/bin/npm ci')
    expect(fresh.stdout).toContain('node_modules is what package-lock.json gives')
    expect(fresh.outputs['cache-hit']).toBe('true')
    // No start cache came along with the provided framework either.
    expectStartCachesOwn(box.home, started)
  })
})

describe('without a cache service', () => {
  const box = machine('none')
  afterAll(() => box.remove())

  it('says so in one notice and goes on', async () => {
    const stopped = await startCacheServer()
    const env = stopped.env
    await stopped.stop()
    const run = await packageOn(box, box.fresh(true), env)
    expect(run.exitCode).toBe(0)
    expect(notices(run).filter(line => line.includes('Caching off'))).toEqual([
      expect.stringMatching(
        /^::notice title=Caching off::No caches restored or saved: the cache service at 127\.0\.0\.1:\d+ does not answer \(ECONNREFUSED\)/
      )
    ])
    expect(warnings(run).filter(line => /cache/i.test(line))).toEqual([])
    expect(run.outputs['cache-hit']).toBeUndefined()
  })
})
