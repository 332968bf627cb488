import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  cacheHit,
  frameworkCache,
  nodeModulesCache,
  pythonBuildKey,
  pythonCache,
  pythonRequirementsCacheDir
} from '../../src/cache.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-cache-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function files(contents: Record<string, string>): void {
  for (const [name, text] of Object.entries(contents)) writeFileSync(path.join(dir, name), text)
}

describe('cache keys change when, and only when, their inputs change', () => {
  it('node_modules: the lockfile and package.json, with npm cache’s tarballs alongside', () => {
    files({ 'package-lock.json': '{"v":1}', 'package.json': '{}' })
    const lock = path.join(dir, 'package-lock.json')
    const first = nodeModulesCache(dir, lock, '/npm-cache')
    expect(first.key).toMatch(
      new RegExp(
        `^spd-node-modules-${process.platform}-${os.arch()}-node${process.versions.modules}-npm-[0-9a-f]{24}$`
      )
    )
    expect(first.paths).toEqual([path.join(dir, 'node_modules'), '/npm-cache'])
    expect(first.restoreKeys).toEqual([])
    expect(nodeModulesCache(dir, lock, '/other-cache').key).toBe(first.key)
    files({ 'requirements.txt': 'fastapi\n' })
    expect(nodeModulesCache(dir, lock, '/npm-cache').key).toBe(first.key)
    files({ 'package-lock.json': '{"v":2}' })
    expect(nodeModulesCache(dir, lock, '/npm-cache').key).not.toBe(first.key)
  })

  it('python: every pinning file, the target platform and the Python version; exact keys only', () => {
    files({ 'requirements.txt': 'fastapi\n' })
    const key = pythonBuildKey(dir, 'manylinux2014_x86_64', '3.11')
    expect(key).toMatch(/^.+-manylinux2014_x86_64-py3\.11-[0-9a-f]{24}$/)
    const spec = pythonCache('/downloads', key)
    expect(spec).toEqual({ name: 'python', paths: ['/downloads'], key: `spd-python-${key}`, restoreKeys: [] })
    expect(pythonBuildKey(dir, 'manylinux2014_x86_64', '3.11')).toBe(key)
    files({ 'package-lock.json': '{"v":3}' })
    expect(pythonBuildKey(dir, 'manylinux2014_x86_64', '3.11')).toBe(key)
    expect(pythonBuildKey(dir, 'manylinux2014_aarch64', '3.11')).not.toBe(key)
    expect(pythonBuildKey(dir, 'manylinux2014_x86_64', '3.12')).not.toBe(key)
    for (const [name, text] of [
      ['requirements.txt', 'fastapi\nmangum\n'],
      ['uv.lock', 'version = 1\n'],
      ['poetry.lock', '# poetry\n'],
      ['Pipfile.lock', '{}'],
      ['pyproject.toml', '[project]\n']
    ]) {
      const before = pythonBuildKey(dir, 'manylinux2014_x86_64', '3.11')
      files({ [name]: text })
      expect(pythonBuildKey(dir, 'manylinux2014_x86_64', '3.11')).not.toBe(before)
    }
  })

  it('framework: the provided install folder, which names its lockfile and Node ABI', () => {
    const spec = frameworkCache('/tool-cache/framework/serverless-0123456789abcdef', '/npm')
    expect(spec.key).toMatch(/-serverless-0123456789abcdef$/)
    expect(spec.paths).toEqual(['/tool-cache/framework/serverless-0123456789abcdef/node_modules', '/npm'])
    expect(frameworkCache('/tool-cache/framework/serverless-fedcba9876543210', '/npm').key).not.toBe(spec.key)
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
