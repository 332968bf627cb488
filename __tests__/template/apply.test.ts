// Applies the fastapi-lambda template the way `devcontainer templates apply` does, then runs what a
// developer runs in the container: pytest, npm ci, serverless package, serverless offline and uvicorn.
//
// Python environments are prepared before the tests are defined, so a test that cannot run here (an
// interpreter or a package that cannot be installed) is defined as skipped and the reason is printed,
// instead of passing without checking anything.
import { zipEntries } from '../support/fixture.js'
import { jest } from '@jest/globals'
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { DEFAULT_PYTHON_VERSION, LAMBDA_PYTHON_VERSIONS, SERVERLESS_VERSION } from '../../src/defaults.js'
import { localPipIndexEnv } from '../support/pip.js'
import {
  OMITTED_ON_APPLY,
  TEMPLATE_DIR,
  applyTemplate,
  freePort,
  listFiles,
  readJson,
  readJsonc,
  readTemplateMetadata,
  removeDir
} from './helpers.js'

jest.setTimeout(600_000)

const NON_DEFAULT_PYTHON = '3.12'
const GREETING = { message: 'Hello from FastAPI on AWS Lambda' }
const HEALTH = { status: 'ok' }

const WORK = mkdtempSync(join(tmpdir(), 'fastapi-lambda-apply-'))
/** HOME for serverless: keeps its state and the python-requirements cache out of the real home. */
const SLS_HOME = join(WORK, 'home')
mkdirSync(SLS_HOME)

const metadata = readTemplateMetadata()
const defaults = Object.fromEntries(
  Object.entries(metadata.options ?? {}).map(([name, option]) => [name, String(option.default)])
)
const custom = { pythonVersion: NON_DEFAULT_PYTHON, awsRegion: 'eu-west-1', serviceName: 'orders-api' }

const defaultDir = join(WORK, 'default')
const customDir = join(WORK, 'custom')
const defaultOptions = applyTemplate(defaultDir)
const customOptions = applyTemplate(customDir, custom)

const run = (
  command: string,
  args: string[],
  options: Parameters<typeof spawnSync>[2] = {}
): SpawnSyncReturns<string> =>
  spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options
  }) as SpawnSyncReturns<string>

const tail = (text: string | null | undefined, lines = 25): string =>
  (text ?? '').trim().split('\n').slice(-lines).join('\n')

/** pip's ERROR lines (its WARNING lines about local index folders are noise), else the tail. */
const pipErrors = (stderr: string): string => {
  const errors = stderr.split('\n').filter(line => line.startsWith('ERROR:'))
  return errors.length > 0 ? errors.join(' ') : tail(stderr, 4)
}

const firstLine = (text: string): string =>
  text
    .split('\n')
    .find(line => line.trim() !== '')
    ?.trim() ?? ''

const pipEnv = {
  ...process.env,
  ...localPipIndexEnv(),
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  PIP_NO_INPUT: '1'
}

// ---------------------------------------------------------------------------------------------------
// Python environments, prepared synchronously before any test is defined.

interface PythonEnv {
  version: string
  /** The interpreter found for the version (python3.X, else python3 when it is that version). */
  interpreter?: string
  /** Why the tests for this version cannot run here. */
  unavailable?: string
  /** The venv's python, once requirements are installed. */
  python?: string
  venvBin?: string
  venv?: string
  /** Whether the full requirements.txt (with mangum) installed. */
  mangum: boolean
  /** pip's answer when requirements.txt itself could not be installed. */
  fullInstallError?: string
}

function findInterpreter(version: string): { interpreter?: string; why?: string } {
  const tried: string[] = []
  for (const candidate of [`python${version}`, 'python3']) {
    const probe = run(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'])
    const found = probe.status === 0 ? probe.stdout.trim() : undefined
    if (found === version) return { interpreter: candidate }
    tried.push(
      found
        ? `${candidate} is Python ${found}`
        : `\`${candidate} -c pass\` fails (${firstLine(probe.stderr || String(probe.error ?? '')) || `exit ${probe.status}`})`
    )
  }
  return { why: `no Python ${version} on this machine: ${tried.join('; ')}` }
}

/** Requirements of requirements.txt except mangum, for machines whose index does not carry mangum. */
function requirementsWithoutMangum(projectDir: string): string {
  const file = join(
    WORK,
    `requirements-without-mangum-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`
  )
  const lines = readFileSync(join(projectDir, 'requirements.txt'), 'utf8')
    .split('\n')
    .filter(line => !/^\s*mangum\b/i.test(line))
  writeFileSync(file, lines.join('\n'))
  return file
}

function preparePython(projectDir: string, version: string): PythonEnv {
  const env: PythonEnv = { version, mangum: false }
  const { interpreter, why } = findInterpreter(version)
  if (!interpreter) return { ...env, unavailable: why }
  env.interpreter = interpreter
  const venv = join(WORK, `venv-${version}`)
  const created = run(interpreter, ['-m', 'venv', venv])
  if (created.status !== 0)
    return { ...env, unavailable: `\`${interpreter} -m venv\` failed: ${tail(created.stderr, 3)}` }
  env.venv = venv
  env.venvBin = join(venv, 'bin')
  const python = join(venv, 'bin', 'python')
  const pip = (args: string[]): SpawnSyncReturns<string> =>
    run(python, ['-m', 'pip', 'install', '--quiet', ...args], { cwd: projectDir, env: pipEnv })

  const full = pip(['-r', 'requirements.txt', '-r', 'requirements-dev.txt'])
  if (full.status !== 0) {
    env.fullInstallError = pipErrors(full.stderr)
    const partial = pip(['-r', requirementsWithoutMangum(projectDir), '-r', 'requirements-dev.txt'])
    if (partial.status !== 0) {
      return {
        ...env,
        unavailable: `pip cannot install the requirements for Python ${version}: ${pipErrors(partial.stderr)}`
      }
    }
  }
  env.mangum = run(python, ['-c', 'import mangum']).status === 0
  return { ...env, python }
}

const py = preparePython(defaultDir, DEFAULT_PYTHON_VERSION)
const pyCustom = preparePython(customDir, NON_DEFAULT_PYTHON)
const MANGUM_MISSING = `mangum is not installable here (${py.fullInstallError ?? 'import mangum fails in the venv'})`

for (const env of [py, pyCustom]) {
  if (env.unavailable) console.log(`Python ${env.version}: tests skipped: ${env.unavailable}`)
  else if (!env.mangum) console.log(`Python ${env.version}: mangum is missing: ${env.fullInstallError ?? ''}`)
}
if (!py.unavailable && !py.mangum) {
  console.log(`serverless offline through main.handler: skipped: ${MANGUM_MISSING}`)
}
/** serverless-python-requirements runs pip with python<runtime version> from PATH. */
const PACKAGE_SKIP = py.unavailable
  ? py.unavailable
  : py.interpreter !== `python${DEFAULT_PYTHON_VERSION}`
    ? `python${DEFAULT_PYTHON_VERSION} is not on PATH (serverless-python-requirements runs it)`
    : undefined
if (PACKAGE_SKIP) console.log(`serverless package: skipped: ${PACKAGE_SKIP}`)

afterAll(() => removeDir(WORK))

// ---------------------------------------------------------------------------------------------------

describe('applying the template', () => {
  it.each([
    ['defaults', defaultDir, defaultOptions],
    ['custom options', customDir, customOptions]
  ])('with %s leaves no ${templateOption...} behind', (_label, dir) => {
    for (const file of listFiles(dir)) {
      expect([file, readFileSync(join(dir, file), 'utf8').includes('${templateOption')]).toEqual([
        file,
        false
      ])
    }
  })

  it('copies every file except the ones the CLI omits', () => {
    const expected = listFiles(TEMPLATE_DIR).filter(file => !OMITTED_ON_APPLY.includes(file))
    expect(listFiles(defaultDir)).toEqual(expected)
    for (const file of [
      'main.py',
      'api.py',
      'serverless.yml',
      'package-lock.json',
      '.github/workflows/deploy.yml'
    ]) {
      expect(expected).toContain(file)
    }
  })

  it('uses the option defaults', () => {
    expect(defaultOptions).toEqual(defaults)
    expect(defaults.pythonVersion).toBe(DEFAULT_PYTHON_VERSION)
  })

  it.each([
    ['defaults', defaultDir, defaults],
    ['custom options', customDir, custom]
  ])('with %s writes the options where they apply', (_label, dir, options) => {
    const serverless = parseYaml(readFileSync(join(dir, 'serverless.yml'), 'utf8'))
    expect(serverless.service).toBe(options.serviceName)
    expect(serverless.provider.runtime).toBe(`python${options.pythonVersion}`)
    expect(serverless.provider.region).toBe(options.awsRegion)

    const devcontainer = readJsonc<{
      features: Record<string, { version?: string }>
      containerEnv: Record<string, string>
    }>(join(dir, '.devcontainer', 'devcontainer.json'))
    expect(devcontainer.features['ghcr.io/devcontainers/features/python:1'].version).toBe(
      options.pythonVersion
    )
    expect(devcontainer.containerEnv.AWS_REGION).toBe(options.awsRegion)

    const workflow = readFileSync(join(dir, '.github', 'workflows', 'deploy.yml'), 'utf8')
    expect(workflow).toContain(`python-version: '${options.pythonVersion}'`)

    expect(readJson<{ name: string }>(join(dir, 'package.json')).name).toBe(options.serviceName)
    const lock = readJson<{ name: string; packages: Record<string, { name?: string }> }>(
      join(dir, 'package-lock.json')
    )
    expect([lock.name, lock.packages[''].name]).toEqual([options.serviceName, options.serviceName])
  })

  it(`the non-default Python (${NON_DEFAULT_PYTHON}) is a Lambda runtime and gives runtime python${NON_DEFAULT_PYTHON}`, () => {
    expect(LAMBDA_PYTHON_VERSIONS).toContain(NON_DEFAULT_PYTHON)
    expect(NON_DEFAULT_PYTHON).not.toBe(DEFAULT_PYTHON_VERSION)
    expect(readFileSync(join(customDir, 'serverless.yml'), 'utf8')).toMatch(/^ {2}runtime: python3\.12$/m)
  })
})

// ---------------------------------------------------------------------------------------------------

interface TestCaseResult {
  id: string
  status: 'passed' | 'skipped' | 'failed'
  message: string
}

const decodeXml = (text: string): string =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&amp;/g, '&')

/** Test cases of a pytest JUnit XML report; id is "<classname>.<name>" (a skipped module: its dotted name). */
function parseJunit(xml: string): TestCaseResult[] {
  const results: TestCaseResult[] = []
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attributes = Object.fromEntries(
      [...match[1].matchAll(/(\w+)="([^"]*)"/g)].map(a => [a[1], decodeXml(a[2])])
    )
    const body = decodeXml(match[2] ?? '')
    const status = /<(failure|error)\b/.test(body) ? 'failed' : /<skipped\b/.test(body) ? 'skipped' : 'passed'
    const id = [attributes.classname, attributes.name].filter(Boolean).join('.')
    results.push({ id, status, message: body })
  }
  return results
}

const testFunctions = (dir: string, file: string): string[] =>
  [...readFileSync(join(dir, 'tests', file), 'utf8').matchAll(/^def (test_\w+)\(/gm)].map(m => m[1])

function runPytest(
  env: PythonEnv,
  dir: string
): { status: number | null; output: string; cases: TestCaseResult[] } {
  const report = join(WORK, `junit-${env.version}.xml`)
  const result = run(
    env.python as string,
    ['-m', 'pytest', '-p', 'no:cacheprovider', '-rs', `--junitxml=${report}`],
    {
      cwd: dir,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }
    }
  )
  const output = `${result.stdout}\n${result.stderr}`
  const cases = existsSync(report) ? parseJunit(readFileSync(report, 'utf8')) : []
  return { status: result.status, output, cases }
}

function expectStarterTests(env: PythonEnv, dir: string): void {
  const { status, output, cases } = runPytest(env, dir)
  if (status !== 0) throw new Error(`pytest failed on Python ${env.version}:\n${tail(output, 60)}`)

  const routeTests = testFunctions(dir, 'test_api.py')
  expect(routeTests.length).toBeGreaterThanOrEqual(2)
  for (const name of routeTests) {
    expect([name, cases.find(c => c.id === `tests.test_api.${name}`)?.status]).toEqual([name, 'passed'])
  }

  const handlerTests = testFunctions(dir, 'test_handler.py')
  expect(handlerTests.length).toBeGreaterThanOrEqual(1)
  const handlerCases = cases.filter(c => c.id.startsWith('tests.test_handler'))
  if (env.mangum) {
    for (const name of handlerTests) {
      expect([name, cases.find(c => c.id === `tests.test_handler.${name}`)?.status]).toEqual([name, 'passed'])
    }
  } else {
    expect(handlerCases.length).toBeGreaterThan(0)
    expect(handlerCases.filter(c => c.status !== 'skipped')).toEqual([])
    for (const skipped of handlerCases) expect(skipped.message).toMatch(/mangum/)
    expect(output).toMatch(/SKIPPED .*test_handler\.py.*mangum/)
    console.log(
      `Python ${env.version}: mangum is missing, so the Lambda handler test was SKIPPED: ${handlerCases[0].message.replace(/<[^>]*>/g, '')}`
    )
  }
}

describe(`starter tests on the default Python (${DEFAULT_PYTHON_VERSION})`, () => {
  ;(py.unavailable ? it.skip : it)(
    'pass: routes through TestClient, the Mangum handler or a reported skip',
    () => {
      expectStarterTests(py, defaultDir)
    }
  )
})

describe(`starter tests on Python ${NON_DEFAULT_PYTHON}`, () => {
  ;(pyCustom.unavailable ? it.skip : it)(
    'pass: routes through TestClient, the Mangum handler or a reported skip',
    () => {
      expectStarterTests(pyCustom, customDir)
    }
  )
})

// ---------------------------------------------------------------------------------------------------

/** Splits an npm script into words (the template's scripts use no quoting). */
const words = (script: string): string[] => script.trim().split(/\s+/)

function withOption(args: string[], flag: string, value: string): string[] {
  const index = args.indexOf(flag)
  if (index === -1) return [...args, flag, value]
  return [...args.slice(0, index + 1), value, ...args.slice(index + 2)]
}

interface Background {
  child: ChildProcess
  output: () => string
  stop: () => Promise<void>
}

/** Starts a process in its own process group, so that stopping it also stops what it spawned. */
function startBackground(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv }
): Background {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', chunk => (output += String(chunk)))
  child.stderr?.on('data', chunk => (output += String(chunk)))
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const signal = (name: NodeJS.Signals): void => {
    try {
      if (child.pid) process.kill(-child.pid, name)
    } catch {
      // already gone
    }
  }
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      signal('SIGTERM')
      const timer = setTimeout(() => signal('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      signal('SIGKILL') // anything left in the group
    }
  }
}

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  background: Background,
  ms = 90_000
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (background.child.exitCode !== null) {
      throw new Error(
        `${what}: the process exited (${background.child.exitCode}):\n${tail(background.output(), 40)}`
      )
    }
    if (Date.now() > deadline) throw new Error(`${what}: timed out:\n${tail(background.output(), 40)}`)
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}

async function getJson(url: string): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) })
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, body, text }
}

const slsEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...localPipIndexEnv(),
    HOME: SLS_HOME,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    ...extra
  }
  delete env.XDG_CACHE_HOME
  delete env.AWS_PROFILE
  return env
}

const scripts = readJson<{ scripts: Record<string, string> }>(join(TEMPLATE_DIR, 'package.json')).scripts

describe('npm scripts', () => {
  it('has the documented scripts', () => {
    expect(Object.keys(scripts)).toEqual(
      expect.arrayContaining(['dev', 'offline', 'deploy', 'remove', 'test'])
    )
    expect(words(scripts.dev)).toEqual(
      expect.arrayContaining(['uvicorn', 'api:app', '--reload', '--port', '8000'])
    )
    expect(words(scripts.offline).slice(0, 2)).toEqual(['serverless', 'offline'])
    expect(words(scripts.offline)).toEqual(expect.arrayContaining(['--httpPort', '3000']))
    expect(words(scripts.deploy).slice(0, 2)).toEqual(['serverless', 'deploy'])
    expect(words(scripts.remove).slice(0, 2)).toEqual(['serverless', 'remove'])
    expect(scripts.test).toBe('python3 -m pytest')
  })
})

describe('the applied project with Node (npm ci once for the file)', () => {
  const serverless = join(defaultDir, 'node_modules', '.bin', 'serverless')
  let npmCi: SpawnSyncReturns<string> | undefined

  beforeAll(() => {
    npmCi = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: defaultDir })
  })

  const requireNpmCi = (): void => {
    if (npmCi?.status !== 0) throw new Error(`npm ci failed:\n${tail(npmCi?.stderr, 40)}`)
  }

  it(`npm ci installs Serverless Framework ${SERVERLESS_VERSION} from the lockfile`, () => {
    requireNpmCi()
    const version = run(serverless, ['--version'], { cwd: defaultDir, env: slsEnv() })
    expect(version.status).toBe(0)
    expect(version.stdout).toContain(`Framework Core: ${SERVERLESS_VERSION}`)
  })

  ;(PACKAGE_SKIP ? it.skip : it)(
    'serverless package builds an x86_64 Lambda zip with the requirements and without dev files',
    () => {
      requireNpmCi()
      const artifact = join(WORK, 'artifact')
      const requirements = join(defaultDir, 'requirements.txt')
      const original = readFileSync(requirements, 'utf8')
      // Files that must stay out of the zip: [file, what to delete afterwards].
      const strays: [string, string][] = [
        ['.env', '.env'],
        ['__pycache__/stray.cpython-311.pyc', '__pycache__'],
        ['tests/__pycache__/stray.cpython-311.pyc', 'tests/__pycache__'],
        ['.venv/pyvenv.cfg', '.venv'],
        ['venv/pyvenv.cfg', 'venv'],
        ['.pytest_cache/README.md', '.pytest_cache']
      ]
      for (const [file] of strays) {
        mkdirSync(dirname(join(defaultDir, file)), { recursive: true })
        writeFileSync(join(defaultDir, file), 'SECRET=do-not-ship\n')
      }
      if (!py.mangum) {
        console.log(`serverless package: ${MANGUM_MISSING}; packaging requirements.txt without mangum`)
        writeFileSync(requirements, readFileSync(requirementsWithoutMangum(defaultDir), 'utf8'))
      }
      let packaged: SpawnSyncReturns<string>
      try {
        packaged = run(serverless, ['package', '--stage', 'ci', '--package', artifact], {
          cwd: defaultDir,
          env: slsEnv()
        })
      } finally {
        writeFileSync(requirements, original)
        for (const [, cleanup] of strays) rmSync(join(defaultDir, cleanup), { recursive: true, force: true })
      }
      if (packaged.status !== 0)
        throw new Error(`serverless package failed:\n${tail(packaged.stdout + packaged.stderr, 40)}`)

      const zip = join(artifact, `${defaults.serviceName}.zip`)
      const entries = zipEntries(zip, py.python as string)
      expect(entries).toEqual(
        expect.arrayContaining(['api.py', 'main.py', 'fastapi/__init__.py', 'starlette/__init__.py'])
      )
      expect(
        entries.some(e => /^pydantic_core\/_pydantic_core\.cpython-311-x86_64-linux-gnu\.so$/.test(e))
      ).toBe(true)
      if (py.mangum) expect(entries).toContain('mangum/__init__.py')
      const forbidden = entries.filter(
        e =>
          /^(node_modules|tests|\.venv|venv|__pycache__|\.pytest_cache|\.serverless|\.devcontainer|\.github)\//.test(
            e
          ) ||
          [
            'package.json',
            'package-lock.json',
            'requirements-dev.txt',
            'pytest.ini',
            '.env',
            '.gitignore'
          ].includes(e)
      )
      expect(forbidden).toEqual([])
      // uvicorn is a dev tool: it must not be in the Lambda package.
      expect(entries.filter(e => e.startsWith('uvicorn/'))).toEqual([])

      const template = readJson<{
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>
      }>(join(artifact, 'cloudformation-template-update-stack.json'))
      const resources = Object.values(template.Resources)
      const fn = resources.find(r => r.Type === 'AWS::Lambda::Function')
      expect(fn?.Properties).toMatchObject({
        Handler: 'main.handler',
        Runtime: `python${DEFAULT_PYTHON_VERSION}`
      })
      const route = resources.find(r => r.Type === 'AWS::ApiGatewayV2::Route')
      expect(route?.Properties.RouteKey).toBe('$default')
      // No IAM beyond the function's own logs.
      const role = resources.find(r => r.Type === 'AWS::IAM::Role')
      const statements = (
        role?.Properties.Policies as { PolicyDocument: { Statement: { Action: string[] }[] } }[]
      ).flatMap(p => p.PolicyDocument.Statement)
      expect(statements.flatMap(s => s.Action).filter(action => !action.startsWith('logs:'))).toEqual([])
      expect(role?.Properties.ManagedPolicyArns ?? []).toEqual([])
      expect(
        resources.filter(r => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
      ).toEqual([])
    }
  )

  describe('serverless offline', () => {
    let offline: Background | undefined
    let httpPort = 0

    beforeAll(async () => {
      if (npmCi?.status !== 0 || py.unavailable) return
      httpPort = await freePort()
      let args = words(scripts.offline).slice(1)
      args = withOption(args, '--httpPort', String(httpPort))
      args = withOption(args, '--host', '127.0.0.1')
      args = withOption(args, '--lambdaPort', String(await freePort()))
      args = withOption(args, '--websocketPort', String(await freePort()))
      offline = startBackground(serverless, args, {
        cwd: defaultDir,
        // serverless-offline runs `python3` from PATH (and honours VIRTUAL_ENV): make it the venv's.
        env: slsEnv({ PATH: `${py.venvBin}${delimiter}${process.env.PATH}`, VIRTUAL_ENV: py.venv })
      })
      await waitFor(
        'serverless offline',
        async () => (offline?.output().includes('Server ready') ? true : undefined),
        offline
      )
    })

    afterAll(async () => {
      await offline?.stop()
    })

    ;(py.unavailable ? it.skip : it)('starts and routes every method and path to the function', () => {
      requireNpmCi()
      expect(offline?.output()).toMatch(
        new RegExp(`ANY\\s*\\|\\s*http://127\\.0\\.0\\.1:${httpPort}/\\{default\\*\\}`)
      )
    })

    ;(py.unavailable || !py.mangum ? it.skip : it)(
      'answers GET / and GET /health through main.handler',
      async () => {
        requireNpmCi()
        const root = await getJson(`http://127.0.0.1:${httpPort}/`)
        expect([root.status, root.body ?? root.text]).toEqual([200, GREETING])
        const health = await getJson(`http://127.0.0.1:${httpPort}/health`)
        expect([health.status, health.body ?? health.text]).toEqual([200, HEALTH])
        const missing = await getJson(`http://127.0.0.1:${httpPort}/no-such-route`)
        expect(missing.status).toBe(404)
      }
    )
  })
})

describe('uvicorn with --reload (npm run dev)', () => {
  ;(py.unavailable ? it.skip : it)(
    'answers GET / and GET /health, and reloads when api.py changes',
    async () => {
      const port = await freePort()
      const [program, ...rest] = words(scripts.dev)
      expect(program).toBe('python3')
      let args = withOption(rest, '--port', String(port))
      args = withOption(args, '--host', '127.0.0.1')
      const uvicorn = startBackground(py.python as string, args, {
        cwd: defaultDir,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }
      })
      const api = join(defaultDir, 'api.py')
      const original = readFileSync(api, 'utf8')
      try {
        const base = `http://127.0.0.1:${port}`
        const health = await waitFor('uvicorn', async () => await getJson(`${base}/health`), uvicorn)
        expect([health.status, health.body]).toEqual([200, HEALTH])
        const root = await getJson(`${base}/`)
        expect([root.status, root.body]).toEqual([200, GREETING])
        const docs = await fetch(`${base}/docs`)
        expect(docs.status).toBe(200)
        expect(await docs.text()).toContain('/openapi.json')

        writeFileSync(api, original.replace(GREETING.message, 'Reloaded'))
        const reloaded = await waitFor(
          'uvicorn reload',
          async () => {
            const response = await getJson(`${base}/`)
            return (response.body as { message?: string } | undefined)?.message === 'Reloaded'
              ? response
              : undefined
          },
          uvicorn,
          60_000
        )
        expect(reloaded.status).toBe(200)
      } finally {
        writeFileSync(api, original)
        await uvicorn.stop()
      }
    }
  )
})
