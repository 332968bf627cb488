import { jest } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { UserError } from '../../../src/errors.js'
import type { Exec } from '../../../src/exec.js'
import { installNodeModules } from '../../../src/node/install.js'

// The package managers are stubbed: each call is recorded, lays out node_modules as the tool would
// (none for a project without dependencies, and whatever packages the test gives) and prints what the
// test scripts.
const calls: { command: string; args: string[]; cwd?: string; env?: Record<string, string> }[] = []
let createsNodeModules = true
let installs: Record<string, Record<string, unknown>> = {}
let script: { exitCode: number; output: string } = { exitCode: 0, output: '' }
const exec: Exec = async (command, args, options) => {
  calls.push({ command, args, cwd: options.cwd, env: options.env })
  options.onOutput?.(script.output, 'stdout')
  const installing = args.includes('ci') || args.includes('install')
  if (installing && options.cwd && createsNodeModules && script.exitCode === 0) {
    mkdirSync(path.join(options.cwd, 'node_modules'), { recursive: true })
    writeFileSync(path.join(options.cwd, 'node_modules', '.package-lock.json'), '{}')
    for (const [location, pkg] of Object.entries(installs)) {
      mkdirSync(path.join(options.cwd, location), { recursive: true })
      writeFileSync(path.join(options.cwd, location, 'package.json'), JSON.stringify(pkg))
    }
  }
  return { exitCode: script.exitCode, stdout: script.output, stderr: '' }
}
const warning = jest.fn()
const notices: string[] = []
const logs: string[] = []

const dirs: string[] = []
afterAll(() => dirs.forEach(dir => rmSync(dir, { recursive: true, force: true })))

function project(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-node-install-'))
  dirs.push(dir)
  for (const [name, content] of Object.entries(files))
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  return dir
}

const lockV3 = (version: string) => ({
  lockfileVersion: 3,
  packages: { '': { devDependencies: { serverless: version } }, 'node_modules/serverless': { version } }
})

describe('installNodeModules', () => {
  const env = {
    exec,
    env: { PATH: '/usr/bin' },
    log: (message: string) => void logs.push(message),
    warn: warning,
    notice: (message: string) => void notices.push(message),
    npmCaches: []
  }
  beforeEach(() => {
    calls.length = 0
    logs.length = 0
    notices.length = 0
    installs = {}
    warning.mockClear()
    script = { exitCode: 0, output: '' }
  })

  it('does nothing without package.json', async () => {
    expect(await installNodeModules(project({ 'serverless.yml': '' }), env)).toBe('no package.json')
    expect(calls).toEqual([])
  })

  it('installs without a lockfile, with a warning, writes none, and never trusts what it left', async () => {
    const dir = project({ 'package.json': {} })
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls.map(c => [c.command, c.args])).toEqual([
      ['npm', ['install', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund']]
    ])
    expect(warning).toHaveBeenCalledWith(expect.stringContaining('no lockfile'))
    expect(existsSync(path.join(dir, 'package-lock.json'))).toBe(false)
    // Nothing says what that node_modules should hold: the next run installs again.
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls).toHaveLength(2)
    expect(logs).toContain(
      "node_modules was there before this run and cannot be checked against npm's lockfile: installing it again"
    )
  })

  it('installs from the lockfile, and again when the node_modules it finds cannot be proved to be the lockfile’s', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls.map(c => [c.command, c.args, c.cwd])).toEqual([
      ['npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], dir]
    ])
    // npm's record of the tree is no artifact's business.
    expect(existsSync(path.join(dir, 'node_modules', '.package-lock.json'))).toBe(false)
    expect(await installNodeModules(dir, env)).toBe('installed')
    expect(calls).toHaveLength(2)
    expect(logs).toContain(
      'node_modules is not what package-lock.json gives (node_modules/serverless is missing): installing it again'
    )
    expect(warning).not.toHaveBeenCalled()
  })

  it('copes with an install that leaves no node_modules (no dependencies)', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    createsNodeModules = false
    try {
      expect(await installNodeModules(dir, env)).toBe('installed')
    } finally {
      createsNodeModules = true
    }
  })

  it('runs no dependency script it is not told to, the approved ones and the project’s own after the install', async () => {
    const dir = project({
      'package.json': {
        allowScripts: { esbuild: true },
        scripts: { postinstall: 'node setup.js', test: 'jest' }
      },
      'package-lock.json': lockV3('3.40.0')
    })
    installs = {
      'node_modules/esbuild': {
        name: 'esbuild',
        version: '0.28.2',
        scripts: { postinstall: 'node install.js' }
      },
      'node_modules/es5-ext': { name: 'es5-ext', version: '0.10.64', scripts: { postinstall: 'node -e x' } }
    }
    await installNodeModules(dir, env)
    expect(calls.map(c => [c.command, ...c.args].join(' '))).toEqual([
      'npm ci --ignore-scripts --no-audit --no-fund',
      'npm rebuild esbuild',
      'npm run postinstall --ignore-scripts'
    ])
    expect(notices).toEqual([
      expect.stringMatching(/^Install scripts not run, .+: es5-ext@0\.10\.64 \(postinstall\)\./)
    ])
  })

  it('names the package and version npm found no release of (ETARGET)', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': {} })
    script = {
      exitCode: 1,
      output: 'npm error code ETARGET\nnpm error notarget No matching version found for left-pad@9.9.9.\n'
    }
    const error = await installNodeModules(dir, env).catch(e => e as UserError)
    expect(error).toBeInstanceOf(UserError)
    expect((error as UserError).message).toMatch(
      /^npm ci --ignore-scripts --no-audit --no-fund found no version left-pad@9\.9\.9 in the registry \(ETARGET\)/
    )
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
    expect(calls).toHaveLength(1)
  })

  it('passes the given environment through, corepack told not to prompt', async () => {
    const dir = project({ 'package.json': { packageManager: 'pnpm@9.12.0' }, 'pnpm-lock.yaml': '' })
    await installNodeModules(dir, env)
    expect(calls[0].env).toEqual({ COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', PATH: '/usr/bin' })
    expect(calls[0].args).toEqual(['pnpm', 'install', '--frozen-lockfile', '--ignore-scripts'])
  })
})
