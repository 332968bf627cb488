import { jest } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { SERVERLESS_VERSION } from '../../src/defaults.js'
import {
  checkFramework,
  installCommand,
  installNodeModules,
  nodeProject,
  projectFramework,
  runtimeNotes
} from '../../src/dependencies.js'
import { UserError } from '../../src/errors.js'
import type { Exec } from '../../src/exec.js'
import type { ServiceConfig } from '../../src/service.js'

// The package managers are stubbed: each call is recorded, lays out node_modules as the tool would
// (none for a project without dependencies) and prints what the test scripts.
const calls: { command: string; args: string[]; cwd?: string; env?: Record<string, string> }[] = []
let createsNodeModules = true
let script: { exitCode: number; output: string } = { exitCode: 0, output: '' }
const exec: Exec = async (command, args, options) => {
  calls.push({ command, args, cwd: options.cwd, env: options.env })
  options.onOutput?.(script.output, 'stdout')
  if (options.cwd && createsNodeModules && script.exitCode === 0)
    mkdirSync(path.join(options.cwd, 'node_modules'), { recursive: true })
  return { exitCode: script.exitCode, stdout: script.output, stderr: '' }
}
const warning = jest.fn()

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function project(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-deps-'))
  dirs.push(dir)
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  }
  return dir
}

const lockV3 = (version: string, name = 'serverless') => ({
  lockfileVersion: 3,
  packages: { '': { devDependencies: { [name]: version } }, [`node_modules/${name}`]: { version } }
})
const lockV1 = (version: string) => ({ lockfileVersion: 1, dependencies: { serverless: { version } } })

function config(dir: string, frameworkVersion?: string): ServiceConfig {
  return { dir, configFile: path.join(dir, 'serverless.yml'), frameworkVersion, plugins: [] }
}

function failure(work: () => unknown): string {
  try {
    work()
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return (error as Error).message
  }
  throw new Error('expected a UserError')
}

describe('projectFramework', () => {
  it('reads a v3 lockfile', () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '^3' } },
      'package-lock.json': lockV3('3.39.0')
    })
    expect(projectFramework(dir)).toEqual({
      name: 'serverless',
      version: '3.39.0',
      from: 'package-lock.json'
    })
  })

  it('reads a v1 lockfile, preferring the locked version to the declared range', () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '^3' } },
      'npm-shrinkwrap.json': lockV1('3.38.0')
    })
    expect(projectFramework(dir)).toEqual({
      name: 'serverless',
      version: '3.38.0',
      from: 'npm-shrinkwrap.json'
    })
  })

  it("falls back to package.json's declared range, and knows osls", () => {
    expect(
      projectFramework(project({ 'package.json': { devDependencies: { serverless: '^3.38.0' } } }))
    ).toEqual({
      name: 'serverless',
      version: '^3.38.0',
      from: 'package.json'
    })
    const osls = project({
      'package.json': { devDependencies: { osls: '^3.77.0' } },
      'package-lock.json': lockV3('3.77.1', 'osls')
    })
    expect(projectFramework(osls)).toEqual({ name: 'osls', version: '3.77.1', from: 'package-lock.json' })
  })

  it('is undefined without any framework', () => {
    expect(projectFramework(project({ 'package.json': { dependencies: { mangum: '1' } } }))).toBeUndefined()
    expect(projectFramework(project({}))).toBeUndefined()
  })
})

describe('checkFramework', () => {
  it('rejects a project pinned to v4, in the lockfile or in package.json', () => {
    const locked = project({
      'package.json': { devDependencies: { serverless: '^4' } },
      'package-lock.json': lockV3('4.4.0')
    })
    expect(failure(() => checkFramework(config(locked), {}))).toMatch(
      /pins serverless 4\.4\.0 in package-lock\.json: this action runs Serverless Framework v3/
    )
    const declared = project({ 'package.json': { devDependencies: { serverless: '^4.4.0' } } })
    expect(failure(() => checkFramework(config(declared), {}))).toMatch(
      /pins serverless \^4\.4\.0 in package\.json/
    )
  })

  it('rejects inputs the project pin would override', () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '3.38.0' } },
      'package-lock.json': lockV3('3.38.0')
    })
    expect(failure(() => checkFramework(config(dir), { version: '3.40.0' }))).toMatch(
      /Input 'serverless-version' is '3\.40\.0', but the service pins serverless 3\.38\.0 in package-lock\.json/
    )
    expect(() => checkFramework(config(dir), { version: '^3.30.0' })).not.toThrow()
    expect(failure(() => checkFramework(config(dir), { framework: 'osls' }))).toMatch(
      /Input 'framework' is 'osls', but the service depends on serverless/
    )
  })

  it("rejects frameworkVersion '4'", () => {
    expect(failure(() => checkFramework(config(project({}), '4'), {}))).toMatch(
      /serverless\.yml has frameworkVersion '4', which no Serverless v3 satisfies/
    )
  })

  it("accepts frameworkVersion '>=3.38' with the project's 3.40.0", () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '3.40.0' } },
      'package-lock.json': lockV3('3.40.0')
    })
    expect(() => checkFramework(config(dir, '>=3.38'), {})).not.toThrow()
  })

  it('rejects a frameworkVersion the default serverless does not satisfy, naming both', () => {
    const message = failure(() => checkFramework(config(project({}), '3.30.0'), {}))
    expect(message).toContain("frameworkVersion '3.30.0'")
    expect(message).toContain(`serverless ${SERVERLESS_VERSION} would run`)
  })

  it('checks frameworkVersion against the requested version or framework', () => {
    expect(() => checkFramework(config(project({}), '3'), { version: '3.38.0' })).not.toThrow()
    expect(failure(() => checkFramework(config(project({}), '3.30.0'), { version: '3.38.0' }))).toContain(
      'serverless 3.38.0 would run'
    )
    expect(failure(() => checkFramework(config(project({}), '3.40.0'), { framework: 'osls' }))).toMatch(
      /osls 3\.\d+\.\d+ would run/
    )
  })
})

describe('nodeProject and installCommand', () => {
  it('picks each package manager by its lockfile', () => {
    const npm = nodeProject(project({ 'package.json': {}, 'package-lock.json': {} }))
    expect(npm).toMatchObject({ manager: 'npm' })
    expect(installCommand(npm!)).toEqual({ tool: 'npm', args: ['ci', '--no-audit', '--no-fund'] })
    const yarn = nodeProject(project({ 'package.json': {}, 'yarn.lock': '# yarn lockfile v1\n' }))
    expect(installCommand(yarn!)).toEqual({
      tool: 'yarn',
      args: ['install', '--frozen-lockfile', '--non-interactive']
    })
    const berry = nodeProject(
      project({
        'package.json': { packageManager: 'yarn@4.5.0' },
        'yarn.lock': '__metadata:\n  version: 8\n'
      })
    )
    expect(berry).toMatchObject({ manager: 'yarn-berry', packageManagerField: 'yarn@4.5.0' })
    expect(installCommand(berry!)).toEqual({ tool: 'corepack', args: ['yarn', 'install', '--immutable'] })
    const pnpm = nodeProject(
      project({ 'package.json': { packageManager: 'pnpm@9.12.0' }, 'pnpm-lock.yaml': '' })
    )
    expect(installCommand(pnpm!)).toEqual({
      tool: 'corepack',
      args: ['pnpm', 'install', '--frozen-lockfile']
    })
  })

  it('lets packageManager choose between two lockfiles', () => {
    const dir = project({
      'package.json': { packageManager: 'pnpm@9.0.0' },
      'package-lock.json': {},
      'pnpm-lock.yaml': ''
    })
    expect(nodeProject(dir)).toMatchObject({ manager: 'pnpm', lockfile: path.join(dir, 'pnpm-lock.yaml') })
  })

  it('installs without a lockfile with npm, writing none', () => {
    const bare = nodeProject(project({ 'package.json': { packageManager: 'yarn@1.22.22' } }))
    expect(bare?.lockfile).toBeUndefined()
    expect(installCommand(bare!)).toEqual({
      tool: 'npm',
      args: ['install', '--no-package-lock', '--no-audit', '--no-fund']
    })
  })

  it('is undefined without package.json', () => {
    expect(nodeProject(project({ 'serverless.yml': '' }))).toBeUndefined()
  })
})

describe('installNodeModules', () => {
  const env = { exec, env: { PATH: '/usr/bin' }, log: () => undefined, warn: warning }
  beforeEach(() => {
    calls.length = 0
    warning.mockClear()
    script = { exitCode: 0, output: '' }
  })

  it('does nothing without package.json', async () => {
    expect(await installNodeModules(project({ 'serverless.yml': '' }), env)).toBe('no package.json')
    expect(calls).toEqual([])
  })

  it('installs without a lockfile, with a warning, and writes none', async () => {
    const dir = project({ 'package.json': {} })
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls.map(c => [c.command, c.args])).toEqual([
      ['npm', ['install', '--no-package-lock', '--no-audit', '--no-fund']]
    ])
    expect(warning).toHaveBeenCalledWith(expect.stringContaining('no lockfile'))
    // A second run installs nothing new: package.json is what was installed from.
    expect(await installNodeModules(dir, env)).toBe('up to date')
    expect(calls).toHaveLength(1)
  })

  it('installs once per lockfile, and again when the lockfile changes', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls.map(c => [c.command, c.args, c.cwd])).toEqual([
      ['npm', ['ci', '--no-audit', '--no-fund'], dir]
    ])
    expect(await installNodeModules(dir, env)).toBe('up to date')
    expect(calls).toHaveLength(1)
    writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lockV3('3.39.0')))
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls).toHaveLength(2)
    expect(warning).not.toHaveBeenCalled()
  })

  it('installs again when node_modules was installed under another Node ABI', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    await installNodeModules(dir, env)
    const marker = path.join(dir, 'node_modules', '.serverless-python-deploy')
    expect(readFileSync(marker, 'utf8')).toMatch(/^[0-9a-f]{64}$/)
    writeFileSync(marker, 'installed-under-another-abi')
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls).toHaveLength(2)
  })

  it('records the lockfile even when the install leaves no node_modules (no dependencies)', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    createsNodeModules = false
    try {
      expect(await installNodeModules(dir, env)).toBe('installed')
      expect(await installNodeModules(dir, env)).toBe('up to date')
    } finally {
      createsNodeModules = true
    }
  })

  it.each([
    [
      'npm',
      { 'package-lock.json': {} },
      '`npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync.'
    ],
    [
      'yarn',
      { 'yarn.lock': '' },
      'error Your lockfile needs to be updated, but yarn was run with `--frozen-lockfile`.'
    ],
    [
      'pnpm',
      { 'pnpm-lock.yaml': '' },
      'ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile" because pnpm-lock.yaml is not up to date with package.json'
    ]
  ])('says that a %s lockfile is out of sync with package.json', async (_tool, files, output) => {
    const dir = project({ 'package.json': {}, ...files })
    script = { exitCode: 1, output }
    const error = await installNodeModules(dir, env).catch(e => e as Error)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toMatch(
      /^\S+ is out of sync with package\.json, so .+ refused to install from it\. Run .+ and commit/
    )
    expect(existsSync(path.join(dir, 'node_modules', '.serverless-python-deploy'))).toBe(false)
  })

  it('passes the given environment through, corepack told not to prompt', async () => {
    const dir = project({ 'package.json': { packageManager: 'pnpm@9.12.0' }, 'pnpm-lock.yaml': '' })
    await installNodeModules(dir, env)
    expect(calls[0].env).toEqual({ COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', PATH: '/usr/bin' })
  })
})

describe('runtimeNotes', () => {
  const framework = (dir: string, version: string) => ({
    name: 'serverless' as const,
    version,
    entry: path.join(dir, 'bin', 'serverless.js'),
    dir,
    source: 'project' as const
  })

  it("notes a runtime the framework's schema does not list, suggesting osls", () => {
    const dir = project({})
    mkdirSync(path.join(dir, 'lib', 'plugins', 'aws'), { recursive: true })
    writeFileSync(
      path.join(dir, 'lib', 'plugins', 'aws', 'provider.js'),
      "enum: ['python3.10', 'python3.11']"
    )
    expect(runtimeNotes('python3.12', framework(dir, '3.40.0'), '2026-11-29').schema?.message).toMatch(
      /^serverless 3\.40\.0 does not list python3\.12 in its configuration schema.+osls/
    )
    expect(runtimeNotes('python3.11', framework(dir, '3.40.0'), '2026-11-29').schema).toBeUndefined()
  })

  it('warns about a runtime Lambda has deprecated, with the date its updates stop', () => {
    expect(runtimeNotes('python3.10', undefined, '2026-11-29').deprecated?.message).toBe(
      'Lambda deprecated python3.10 on 2026-10-31: it gets no more security patches, and from 2027-03-03 functions on it can no longer be updated (new ones from 2027-02-01). Move provider.runtime to a supported Python, such as python3.13.'
    )
    expect(runtimeNotes('python3.9', undefined, '2027-06-01').deprecated?.message).toContain(
      'and since 2027-03-03 functions on it can no longer be updated'
    )
    expect(runtimeNotes('python3.11', undefined, '2026-11-29').deprecated).toBeUndefined()
  })
})
