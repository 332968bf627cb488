import { jest } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Service } from '../../src/service.js'

// npm is stubbed: it records the call and lays out node_modules as npm would (none for a project
// without dependencies).
const calls: { command: string; args: string[]; cwd?: string }[] = []
let npmCreatesNodeModules = true
const exec = jest.fn(async (command: string, args: string[] = [], options: { cwd?: string } = {}) => {
  calls.push({ command, args, cwd: options.cwd })
  if (options.cwd && npmCreatesNodeModules)
    mkdirSync(path.join(options.cwd, 'node_modules'), { recursive: true })
  return 0
})
const warning = jest.fn()
jest.unstable_mockModule('@actions/exec', () => ({ exec }))
jest.unstable_mockModule('@actions/core', () => ({ info: jest.fn(), warning }))

const { checkFramework, installNodeModules, projectServerless } = await import('../../src/dependencies.js')
const { UserError } = await import('../../src/errors.js')
const { SERVERLESS_VERSION } = await import('../../src/defaults.js')

function project(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-deps-'))
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  }
  return dir
}

const lockV3 = (version: string) => ({
  lockfileVersion: 3,
  packages: { '': { devDependencies: { serverless: version } }, 'node_modules/serverless': { version } }
})
const lockV1 = (version: string) => ({ lockfileVersion: 1, dependencies: { serverless: { version } } })

function service(dir: string, frameworkVersion?: string): Service {
  return {
    dir,
    configFile: path.join(dir, 'serverless.yml'),
    name: 'api',
    frameworkVersion,
    runtime: 'python3.11',
    pythonVersion: '3.11',
    stage: 'dev',
    region: 'us-east-1',
    stackName: 'api-dev',
    plugins: []
  }
}

function failure(work: () => void): string {
  try {
    work()
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return (error as Error).message
  }
  throw new Error('expected a UserError')
}

describe('projectServerless', () => {
  it('reads a v3 lockfile', () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '^3' } },
      'package-lock.json': lockV3('3.39.0')
    })
    expect(projectServerless(dir)).toEqual({ version: '3.39.0', from: 'package-lock.json' })
  })

  it('reads a v1 lockfile and an npm-shrinkwrap.json first', () => {
    const dir = project({
      'package.json': {},
      'npm-shrinkwrap.json': lockV1('3.38.0'),
      'package-lock.json': lockV3('3.20.0')
    })
    expect(projectServerless(dir)).toEqual({ version: '3.38.0', from: 'npm-shrinkwrap.json' })
  })

  it("falls back to package.json's declared range", () => {
    expect(
      projectServerless(project({ 'package.json': { devDependencies: { serverless: '^3.38.0' } } }))
    ).toEqual({
      version: '^3.38.0',
      from: 'package.json'
    })
    expect(
      projectServerless(project({ 'package.json': { dependencies: { serverless: '3.40.0' } } }))
    ).toEqual({
      version: '3.40.0',
      from: 'package.json'
    })
  })

  it('is undefined without any serverless', () => {
    expect(projectServerless(project({ 'package.json': { dependencies: { mangum: '1' } } }))).toBeUndefined()
    expect(projectServerless(project({}))).toBeUndefined()
  })
})

describe('checkFramework', () => {
  it('rejects a project pinned to v4', () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('4.4.0') })
    expect(failure(() => checkFramework(service(dir), undefined))).toMatch(
      /pins serverless 4\.4\.0 in package-lock\.json: this action runs Serverless Framework v3/
    )
  })

  it('rejects a serverless-version the project pin would override', () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.38.0') })
    expect(failure(() => checkFramework(service(dir), '3.40.0'))).toMatch(
      /Input 'serverless-version' is '3\.40\.0', but the service pins serverless 3\.38\.0 in package-lock\.json/
    )
    expect(() => checkFramework(service(dir), '^3.30.0')).not.toThrow()
  })

  it("rejects frameworkVersion '4'", () => {
    expect(failure(() => checkFramework(service(project({}), '4'), undefined))).toMatch(
      /serverless\.yml has frameworkVersion '4', which no Serverless v3 satisfies/
    )
  })

  it("accepts frameworkVersion '>=3.38' with the project's 3.40.0", () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    expect(() => checkFramework(service(dir, '>=3.38'), undefined)).not.toThrow()
  })

  it('rejects a frameworkVersion the default serverless does not satisfy, naming both', () => {
    const message = failure(() => checkFramework(service(project({}), '3.30.0'), undefined))
    expect(message).toContain("frameworkVersion '3.30.0'")
    expect(message).toContain(`serverless ${SERVERLESS_VERSION} would run`)
  })

  it("accepts serverless-version 3.38.0 with frameworkVersion '3' and no package.json", () => {
    expect(() => checkFramework(service(project({}), '3'), '3.38.0')).not.toThrow()
    expect(failure(() => checkFramework(service(project({}), '3.30.0'), '3.38.0'))).toContain(
      'serverless 3.38.0 would run'
    )
  })
})

describe('installNodeModules', () => {
  beforeEach(() => {
    calls.length = 0
    warning.mockClear()
  })

  it('does nothing without package.json', async () => {
    expect(await installNodeModules(project({ 'serverless.yml': '' }))).toBe('none')
    expect(calls).toEqual([])
  })

  it('runs npm install, with a warning, without a lockfile', async () => {
    const dir = project({ 'package.json': {} })
    expect(await installNodeModules(dir)).toBe('install')
    expect(calls).toEqual([{ command: 'npm', args: ['install', '--no-audit', '--no-fund'], cwd: dir }])
    expect(warning).toHaveBeenCalledWith(expect.stringContaining('no package-lock.json'))
    expect(existsSync(path.join(dir, 'node_modules', '.serverless-python-deploy'))).toBe(false)
  })

  it('runs npm ci once per lockfile, and again when the lockfile changes', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    expect(await installNodeModules(dir)).toBe('ci')
    expect(calls).toEqual([{ command: 'npm', args: ['ci', '--no-audit', '--no-fund'], cwd: dir }])

    expect(await installNodeModules(dir)).toBe('up to date')
    expect(calls).toHaveLength(1)

    writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lockV3('3.39.0')))
    expect(await installNodeModules(dir)).toBe('ci')
    expect(calls).toHaveLength(2)
    expect(calls[1].args[0]).toBe('ci')
    expect(warning).not.toHaveBeenCalled()
  })

  it('records the lockfile even when npm ci leaves no node_modules (no dependencies)', async () => {
    const dir = project({ 'package.json': {}, 'package-lock.json': lockV3('3.40.0') })
    npmCreatesNodeModules = false
    try {
      expect(await installNodeModules(dir)).toBe('ci')
      expect(await installNodeModules(dir)).toBe('up to date')
    } finally {
      npmCreatesNodeModules = true
    }
  })
})
