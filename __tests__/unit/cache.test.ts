import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  cacheHit,
  frameworkCache,
  nodeModulesCache,
  pythonCache,
  pythonRequirementsCacheDir
} from '../../src/cache.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-cache-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function files(contents: Record<string, string>): void {
  for (const [name, text] of Object.entries(contents)) writeFileSync(path.join(dir, name), text)
}

describe('cache keys change when, and only when, their inputs change', () => {
  it('node_modules: the lockfile, package.json and the package manager', () => {
    files({ 'package-lock.json': '{"v":1}', 'package.json': '{}' })
    const lock = path.join(dir, 'package-lock.json')
    const first = nodeModulesCache(dir, lock, 'npm')
    expect(first.key).toMatch(
      new RegExp(
        `^spd-node-modules-${process.platform}-${os.arch()}-node${process.versions.modules}-npm-[0-9a-f]{24}$`
      )
    )
    expect(first.paths).toEqual([path.join(dir, 'node_modules')])
    // What travels with it (serverless' start caches) changes its paths, not its key.
    const alongside = nodeModulesCache(dir, lock, 'npm', ['/tool-cache/schema', '/tool-cache/compiled'])
    expect(alongside.paths).toEqual([
      path.join(dir, 'node_modules'),
      '/tool-cache/schema',
      '/tool-cache/compiled'
    ])
    expect(alongside.key).toBe(first.key)
    expect(nodeModulesCache(dir, lock, 'npm').key).toBe(first.key)
    files({ 'requirements.txt': 'fastapi\n' })
    expect(nodeModulesCache(dir, lock, 'npm').key).toBe(first.key)
    expect(nodeModulesCache(dir, lock, 'pnpm').key).not.toBe(first.key)
    files({ 'package-lock.json': '{"v":2}' })
    expect(nodeModulesCache(dir, lock, 'npm').key).not.toBe(first.key)
  })

  it('python: the requirements, the target platform and the Python version', () => {
    files({ 'requirements.txt': 'fastapi\n' })
    const first = pythonCache(dir, 'manylinux2014_x86_64', '3.11', ['/cache'])
    expect(first.key).toMatch(/^spd-python-.+-manylinux2014_x86_64-py3\.11-[0-9a-f]{24}$/)
    // A requirements change still restores the older cache (its downloads and bytecode are reusable).
    expect(first.restoreKeys).toEqual([first.key.replace(/[0-9a-f]{24}$/, '')])
    expect(pythonCache(dir, 'manylinux2014_x86_64', '3.11', ['/cache']).key).toBe(first.key)
    files({ 'package-lock.json': '{"v":3}' })
    expect(pythonCache(dir, 'manylinux2014_x86_64', '3.11', ['/cache']).key).toBe(first.key)
    expect(pythonCache(dir, 'manylinux2014_aarch64', '3.11', ['/cache']).key).not.toBe(first.key)
    expect(pythonCache(dir, 'manylinux2014_x86_64', '3.12', ['/cache']).key).not.toBe(first.key)
    files({ 'requirements.txt': 'fastapi\nmangum\n' })
    expect(pythonCache(dir, 'manylinux2014_x86_64', '3.11', ['/cache']).key).not.toBe(first.key)
  })

  it('framework: the provided install folder, which names its packages and Node ABI', () => {
    const spec = frameworkCache('/tool-cache/serverless-python-deploy/0123456789abcdef')
    expect(spec.key).toMatch(/-0123456789abcdef$/)
    expect(frameworkCache('/tool-cache/serverless-python-deploy/fedcba9876543210').key).not.toBe(spec.key)
    expect(
      frameworkCache('/tool-cache/serverless-python-deploy/0123456789abcdef', ['/schema']).paths
    ).toEqual(['/tool-cache/serverless-python-deploy/0123456789abcdef', '/schema'])
  })
})

describe('pythonRequirementsCacheDir', () => {
  it("follows serverless-python-requirements' appdirectory: XDG_CACHE_HOME, else ~/.cache", () => {
    if (process.platform === 'darwin') return
    expect(pythonRequirementsCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(
      '/x/serverless-python-requirements'
    )
    expect(pythonRequirementsCacheDir({ HOME: '/h' })).toBe('/h/.cache/serverless-python-requirements')
  })
})

describe('cacheHit', () => {
  it.each<[Parameters<typeof cacheHit>[0], string | undefined]>([
    [{ 'node-modules': 'hit', python: 'hit' }, 'true'],
    [{ 'node-modules': 'hit', python: 'partial' }, 'partial'],
    [{ 'node-modules': 'miss', python: 'hit' }, 'partial'],
    [{ 'node-modules': 'miss', python: 'miss' }, 'false'],
    [{ 'node-modules': 'off' }, 'false'],
    [{}, undefined]
  ])('%j is %s', (outcomes, expected) => {
    expect(cacheHit(outcomes)).toBe(expected)
  })
})
