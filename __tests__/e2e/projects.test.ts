import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { RULES } from '../../src/diagnosis.js'
import { FIXTURES, zipEntries } from '../support/fixture.js'
import { findStack, holdings, startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import { errorLines, NODE24, parseError, runAction, type ActionRun } from '../support/runner.js'

jest.setTimeout(900_000)

/**
 * Python projects in their own terms (Poetry, uv, Pipenv) and osls 4, through dist/index.js with real
 * pip, serverless and npm. Packaging needs no AWS: only osls 4's deploy, info and remove run against
 * moto. Every run shares one runner home, so the framework the action provides is installed once.
 */

const PROJECTS = path.join(FIXTURES, 'projects')
const PIPENV = '/usr/bin/pipenv'
/** What the fixtures' dev groups bring, and pytest's Windows-only colorama: none of it may ship. */
const DEV_ONLY = ['pytest', 'iniconfig', 'packaging', 'pluggy', 'pygments', 'colorama']

const temps: string[] = []
let home: string | undefined

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

function temp(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  temps.push(dir)
  return dir
}

/** A fresh copy of __tests__/fixtures/projects/<name>. */
function copyProject(name: string): string {
  const dir = path.join(temp(`projects-${name}-`), name)
  cpSync(path.join(PROJECTS, name), dir, {
    recursive: true,
    filter: source => !/[/\\](node_modules|\.serverless|__pycache__)([/\\]|$)/.test(source)
  })
  return dir
}

/**
 * Runs the action on `service` in the shared runner home; `fresh`: in a home of its own (with the warm
 * tool cache), which it then shares with no other run.
 */
async function action(
  service: string,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {},
  options: { fresh?: boolean; home?: string; killWhen?: RegExp } = {}
): Promise<ActionRun> {
  const run = await runAction({
    inputs: {
      command: 'package',
      'working-directory': service,
      stage: 'test',
      'aws-region': 'eu-west-1',
      ...inputs
    },
    env: { ...pipEnv(), ...env },
    node: NODE24,
    home: options.fresh ? undefined : (options.home ?? home),
    killWhen: options.killWhen
  })
  if (!options.fresh) home ??= run.home
  if (!temps.includes(run.home) && run.home !== home) temps.push(run.home)
  if (run.exitCode !== 0) console.log(run.stdout.slice(-6000), run.stderr.slice(-2000))
  return run
}

/** The title of a diagnosis rule (diagnosis.test.ts counts the rules provoked here by this call). */
function ruleTitle(id: string): string | undefined {
  return RULES.find(rule => rule.id === id)?.title
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-')
}

/** name -> version of every distribution in an artifact, from its `*.dist-info` folders. */
function shipped(artifact: string): Record<string, string> {
  const found: Record<string, string> = {}
  for (const entry of zipEntries(artifact)) {
    const match = /^([^/]+)-([^-/]+)\.dist-info\//.exec(entry)
    if (match) found[canonical(match[1])] = match[2]
  }
  return found
}

/** name -> version of every package a TOML lock lists (`[[package]]`), read with Python's tomllib. */
function tomlLockVersions(file: string): Record<string, string> {
  const script =
    'import json, sys, tomllib\nprint(json.dumps({p["name"]: p["version"] for p in tomllib.load(open(sys.argv[1], "rb"))["package"]}))'
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Record<
    string,
    string
  >
}

/** What the production install must be: the lock's packages but the dev-only ones and the project itself. */
function production(locked: Record<string, string>, project?: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(locked)
      .map(([name, version]) => [canonical(name), version.replace(/^==/, '')])
      .filter(([name]) => !DEV_ONLY.includes(name) && name !== project)
      .sort(([a], [b]) => a.localeCompare(b))
  )
}

function sorted(versions: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b)))
}

/** What a service folder holds, but its .serverless: every file with the hash of its content. */
function tree(dir: string, under = ''): string[] {
  return readdirSync(path.join(dir, under), { withFileTypes: true }).flatMap(entry => {
    const rel = path.join(under, entry.name)
    if (rel === '.serverless') return []
    if (entry.isDirectory()) return [`${rel}/`, ...tree(dir, rel)]
    return [
      `${rel} ${createHash('sha256')
        .update(readFileSync(path.join(dir, rel)))
        .digest('hex')}`
    ]
  })
}

/** Every folder under `dir`, at any depth. */
function foldersUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(entry => entry.isDirectory())
    .map(entry => path.join(entry.parentPath, entry.name))
}

/** The artifact's entries that would be the project itself, installed: its dist-info, an editable finder or .pth. */
function projectItself(artifact: string): string[] {
  return zipEntries(artifact).filter(entry => /fixture[_-]api|__editable__|\.pth$|\.egg-link$/i.test(entry))
}

/** A stopped run: one error, and neither the framework, npm nor pip was started (no `[command]` line). */
function expectStoppedBeforeAnything(run: ActionRun, service: string): ReturnType<typeof parseError> {
  expect(run.exitCode).toBe(1)
  const errors = errorLines(run)
  expect(errors).toHaveLength(1)
  expect(run.stdout).not.toContain('[command]')
  expect(existsSync(path.join(service, '.serverless'))).toBe(false)
  return parseError(errors[0])
}

/**
 * PATH without `tool`: each folder that has it is replaced by one of links to everything else it
 * holds (on a merged /usr, /bin and /usr/bin are the same folder and the only way to hide a file in it).
 */
function pathWithout(tool: string): string {
  const folders = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
  return folders
    .map(folder => {
      if (!existsSync(path.join(folder, tool))) return folder
      const links = temp(`path-without-${tool}-`)
      for (const name of readdirSync(folder))
        if (name !== tool) symlinkSync(path.join(folder, name), path.join(links, name))
      return links
    })
    .join(path.delimiter)
}

describe('Poetry: pyproject.toml with a Poetry build-system and poetry.lock, no poetry on the runner', () => {
  let service: string
  let run: ActionRun

  beforeAll(async () => {
    service = copyProject('poetry')
    run = await action(service)
  })

  it('packages the locked main group, pins derived by the action from poetry.lock', () => {
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(/Python dependencies: \d+ pins from poetry\.lock, derived by the action/)
    const artifact = path.join(service, '.serverless', 'fixture-poetry.zip')
    const expected = production(tomlLockVersions(path.join(service, 'poetry.lock')), 'fixture-api')
    expect(Object.keys(expected)).toEqual(expect.arrayContaining(['fastapi', 'mangum', 'pydantic-core']))
    expect(sorted(shipped(artifact))).toEqual(expected)
    const entries = zipEntries(artifact)
    expect(entries.filter(entry => /^(_?pytest|pluggy|iniconfig|pygments)[/-]/.test(entry))).toEqual([])
    expect(projectItself(artifact)).toEqual([])
    expect(entries).toContain('handler.py')
  })

  it('stops at a poetry.lock older than pyproject.toml, with one error naming `poetry lock`', async () => {
    const stale = copyProject('poetry')
    const pyproject = path.join(stale, 'pyproject.toml')
    writeFileSync(
      pyproject,
      readFileSync(pyproject, 'utf8').replace('mangum = ">=0.19"\n', 'mangum = ">=0.19"\nhttpx = ">=0.27"\n')
    )
    const failed = await action(stale)
    const error = expectStoppedBeforeAnything(failed, stale)
    expect(error.properties.title).toBe('poetry.lock out of date')
    // Relative to the repository (the workspace), as the runner annotates files.
    expect(error.properties.file).toBe('poetry/poetry.lock')
    expect(error.message).toContain('`poetry lock`')
  })
})

describe('uv: pyproject.toml (PEP 621, a dev dependency group) and uv.lock', () => {
  let service: string
  let before: string[]
  let run: ActionRun

  beforeAll(async () => {
    service = copyProject('uv')
    before = tree(service)
    run = await action(service)
  })

  it("packages exactly uv's pins, without the dev group or the editable project", () => {
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(/Python dependencies: \d+ pins from uv\.lock, derived by the action/)
    const artifact = path.join(service, '.serverless', 'fixture-uv.zip')
    const locked = tomlLockVersions(path.join(service, 'uv.lock'))
    expect(locked['fixture-api']).toBe('0.1.0')
    const expected = production(locked, 'fixture-api')
    expect(Object.keys(expected)).toEqual(expect.arrayContaining(['fastapi', 'mangum', 'pydantic-core']))
    expect(sorted(shipped(artifact))).toEqual(expected)
    expect(
      zipEntries(artifact).filter(entry => /^(_?pytest|pluggy|iniconfig|pygments)[/-]/.test(entry))
    ).toEqual([])
    expect(projectItself(artifact)).toEqual([])
  })

  it('writes nothing into the service folder but .serverless', () => {
    expect(tree(service)).toEqual(before)
  })

  it('a second step in the same job ships what it built, not what the first left in the temp folder', async () => {
    // serverless-python-requirements ships a static cache (<hash>_<arch>_slspyc) as it finds it; the
    // job's RUNNER_TEMP holds the earlier step's, where anything run in between could have written.
    const statics = foldersUnder(path.join(run.home, 'temp')).filter(
      dir => /_slspyc$/.test(dir) && !dir.endsWith('downloadCacheslspyc')
    )
    expect(statics.length).toBeGreaterThan(0)
    for (const dir of statics)
      writeFileSync(path.join(dir, 'planted_by_an_earlier_step.py'), 'raise SystemExit(1)\n')
    const again = await action(service, {}, {}, { home: run.home })
    expect(again.exitCode).toBe(0)
    const artifact = path.join(service, '.serverless', 'fixture-uv.zip')
    expect(zipEntries(artifact).filter(entry => entry.includes('planted_by_an_earlier_step'))).toEqual([])
    expect(sorted(shipped(artifact))).toEqual(
      production(tomlLockVersions(path.join(service, 'uv.lock')), 'fixture-api')
    )
  })

  it('stops at a uv.lock older than pyproject.toml, with one error naming `uv lock`', async () => {
    const stale = copyProject('uv')
    const pyproject = path.join(stale, 'pyproject.toml')
    writeFileSync(
      pyproject,
      readFileSync(pyproject, 'utf8').replace('"mangum>=0.19",\n', '"mangum>=0.19",\n    "httpx>=0.27",\n')
    )
    const failed = await action(stale)
    const error = expectStoppedBeforeAnything(failed, stale)
    expect(error.properties.title).toBe('uv.lock out of date')
    expect(error.message).toContain('httpx')
    expect(error.message).toContain('`uv lock`')
  })
})

describe('Pipenv: Pipfile and Pipfile.lock', () => {
  let expected: Record<string, string>

  beforeAll(() => {
    const lock = JSON.parse(readFileSync(path.join(PROJECTS, 'pipenv', 'Pipfile.lock'), 'utf8')) as {
      default: Record<string, { version: string }>
    }
    expected = production(Object.fromEntries(Object.entries(lock.default).map(([n, e]) => [n, e.version])))
  })

  it('packages the same pins, derived by the action, when pipenv is not on PATH', async () => {
    const service = copyProject('pipenv')
    const hidden = pathWithout('pipenv')
    expect(
      execFileSync('sh', ['-c', 'command -v pipenv || echo none'], { env: { PATH: hidden } }).toString()
    ).toBe('none\n')
    // A runner home of its own: what an earlier run left in the shared one is no part of this case.
    const run = await action(service, {}, { PATH: hidden }, { fresh: true })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(
      `Python dependencies: ${Object.keys(expected).length} pins from Pipfile.lock, derived by the action`
    )
    const artifact = path.join(service, '.serverless', 'fixture-pipenv.zip')
    expect(sorted(shipped(artifact))).toEqual(expected)
  })

  describe('when the runner has pipenv', () => {
    let pipenvHome: string

    beforeAll(() => {
      if (!existsSync(PIPENV))
        throw new Error(
          `${PIPENV} is missing: these tests need Debian's pipenv (apt-get install -y pipenv), as the runners the action supports may have it`
        )
    })

    it('packages the locked default packages through pipenv', async () => {
      const service = copyProject('pipenv')
      const run = await action(service, {}, {}, { fresh: true })
      pipenvHome = run.home
      expect(run.exitCode).toBe(0)
      expect(run.stdout).toContain(
        `Python dependencies: Pipfile.lock, read by serverless-python-requirements through pipenv (${PIPENV})`
      )
      expect(run.stdout).not.toContain('derived by the action')
      const artifact = path.join(service, '.serverless', 'fixture-pipenv.zip')
      expect(Object.keys(expected)).toEqual(expect.arrayContaining(['fastapi', 'mangum', 'pydantic-core']))
      expect(sorted(shipped(artifact))).toEqual(expected)
    })

    // A second step of the action in the same job (RUNNER_TEMP lives as long as the job) has the first
    // step's pipenv shim on PATH: it must find the real pipenv, not write a shim that execs itself
    // (serverless-python-requirements' `pipenv --version` would then spin forever; the run is killed as
    // soon as the log names the shim as the tool).
    it('packages again in the same job, through the real pipenv', async () => {
      const service = copyProject('pipenv')
      const run = await action(
        service,
        {},
        {},
        {
          home: pipenvHome,
          killWhen: /through pipenv \([^)]*serverless-python-deploy\/bin\/pipenv\)/
        }
      )
      expect(run.stdout).toContain(`through pipenv (${PIPENV})`)
      expect(run.exitCode).toBe(0)
      expect(sorted(shipped(path.join(service, '.serverless', 'fixture-pipenv.zip')))).toEqual(expected)
    })
  })
})

describe('osls 4', () => {
  let moto: Moto
  const region = 'eu-west-1'
  let aws: Record<string, string>

  beforeAll(async () => {
    moto = await startMoto()
    // An IP literal: the SDK osls 4 uses addresses S3 by path then, which moto answers.
    aws = {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${moto.port}`
    }
  })

  afterAll(async () => {
    await moto?.stop()
  })

  describe('as the service pins it in package.json: deploy, info, remove against moto', () => {
    let service: string
    let deployed: ActionRun

    beforeAll(() => {
      service = copyProject('osls4')
    })

    it('deploys, and outputs what moto holds and osls 4.3.1', async () => {
      deployed = await action(service, { command: 'deploy' }, aws)
      expect(deployed.exitCode).toBe(0)
      const stack = await findStack(moto, 'fixture-osls4-test', region)
      expect(stack?.StackStatus).toMatch(/COMPLETE$/)
      const url = stack?.Outputs?.find(o => o.OutputKey === 'HttpApiUrl')?.OutputValue
      expect(url).toBeTruthy()
      expect(deployed.outputs).toMatchObject({
        url,
        'stack-name': 'fixture-osls4-test',
        service: 'fixture-osls4',
        stage: 'test',
        region,
        'serverless-version': 'osls 4.3.1',
        'aws-account-id': '123456789012'
      })
      expect(deployed.stdout).toMatch(/\[command\]\S+ \S+\/node_modules\/osls\/bin\/serverless\.js package /)
    })

    it('info reads the same URL from the stack', async () => {
      const info = await action(service, { command: 'info' }, aws)
      expect(info.exitCode).toBe(0)
      expect(info.outputs.url).toBe(deployed.outputs.url)
      expect(info.outputs['serverless-version']).toBe('osls 4.3.1')
    })

    it('remove leaves moto no stack', async () => {
      const removed = await action(service, { command: 'remove' }, aws)
      expect(removed.exitCode).toBe(0)
      expect(await findStack(moto, 'fixture-osls4-test', region)).toBeUndefined()
      expect((await holdings(moto, [region])).stacks).toEqual([])
    })
  })

  it('with serverless-localstack 1.4.0: one error naming the plugin and osls 4, and nothing deployed', async () => {
    const service = copyProject('osls4-localstack')
    const before = await holdings(moto, [region])
    const run = await action(service, { command: 'deploy' }, aws)
    expect(run.exitCode).toBe(1)
    const errors = errorLines(run)
    expect(errors).toHaveLength(1)
    const { message, properties } = parseError(errors[0])
    expect(properties.title).toBe(ruleTitle('plugin-needs-sdk-v2'))
    expect(message).toContain('serverless-localstack')
    expect(message).toContain('osls 4')
    expect(run.stdout).not.toContain('serverless.js deploy')
    expect(await holdings(moto, [region])).toEqual(before)
    expect(await findStack(moto, 'fixture-osls4-localstack-test', region)).toBeUndefined()
  })

  it('framework: osls with serverless-version 4 packages a service without package.json on the shipped osls 4', async () => {
    const service = copyProject('osls4-provided')
    const run = await action(service, { framework: 'osls', 'serverless-version': '4' })
    expect(run.exitCode).toBe(0)
    expect(run.outputs['serverless-version']).toBe('osls 4.3.1')
    expect(run.stdout).toMatch(
      /Providing osls 4\.3\.1 and the plugins it may load from the action's lockfile/
    )
    const entries = zipEntries(path.join(service, '.serverless', 'fixture-osls4-provided.zip'))
    expect(entries).toContain('handler.py')
    expect(entries.some(entry => entry.startsWith('fastapi/'))).toBe(true)
  })
})
