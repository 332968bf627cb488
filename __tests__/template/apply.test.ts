// Applies the fastapi-lambda template with the real devcontainers CLI, published to and pulled from a
// loopback OCI registry (devcontainer-cli.ts), then runs what a developer runs in the container: pytest,
// npm ci, serverless package, serverless offline and uvicorn.
//
// Python environments are prepared before the tests are defined, so a test that cannot run here (no
// interpreter of that version) is defined as skipped and the reason is printed, instead of passing without
// checking anything. Everything the starter needs installs here (mangum from the shared wheelhouse through
// pipEnv()), so a failed install is a failed test, never a skip.
import { zipEntries } from '../support/fixture.js'
import { jest } from '@jest/globals'
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand
} from '@aws-sdk/client-cloudformation'
import { DEFAULT_PYTHON_VERSION, FRAMEWORK_VERSIONS, LAMBDA_PYTHON_VERSIONS } from '../../src/defaults.js'
import { startMoto } from '../support/moto.js'
import { pipEnv as localPipEnv } from '../support/pip.js'
import { REGION, createGitHubOidcProvider, createStack } from '../iam/stack.js'
import { appliedFiles, devcontainerCli, publishTemplates } from './devcontainer-cli.js'
import {
  OMITTED_ON_APPLY,
  TEMPLATE_DIR,
  TEMPLATE_ID,
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
/**
 * The Python the starter is run on: the one beside the machine's own Node (python3.11 on PATH, as on Debian
 * images), and the one the local package index has binary wheels for. The default (3.13) is checked as the
 * files it writes; a project applied with this version is the one that installs, tests, packages and serves.
 */
const RUN_PYTHON = '3.11'
const GREETING = { message: 'Hello from FastAPI on AWS Lambda' }
const HEALTH = { status: 'ok' }

const WORK = mkdtempSync(join(tmpdir(), 'fastapi-lambda-apply-'))
/** HOME for serverless: keeps its state and the python-requirements cache out of the real home. */
const SLS_HOME = join(WORK, 'home')
mkdirSync(SLS_HOME)

const metadata = readTemplateMetadata()
/** Users apply the template by its major tag (fastapi-lambda:2), as its page shows. */
const MAJOR = metadata.version.split('.')[0]
const defaults = Object.fromEntries(
  Object.entries(metadata.options ?? {}).map(([name, option]) => [name, String(option.default)])
)
const custom = { pythonVersion: NON_DEFAULT_PYTHON, awsRegion: 'eu-west-1', serviceName: 'orders-api' }

const defaultDir = join(WORK, 'default')
const customDir = join(WORK, 'custom')
const runDir = join(WORK, `python${RUN_PYTHON}`)

// Publish template/src with the real CLI, as the release workflow does, and apply it twice from the registry
// as a user does: with the defaults and with every option set. The registry is stopped once both are applied.
const applied = await (async () => {
  try {
    const templates = await publishTemplates()
    try {
      const withDefaults = await templates.apply(TEMPLATE_ID, defaultDir, {}, MAJOR)
      const withCustom = await templates.apply(TEMPLATE_ID, customDir, custom, MAJOR)
      const withRunPython = await templates.apply(TEMPLATE_ID, runDir, { pythonVersion: RUN_PYTHON }, MAJOR)
      for (const [what, result] of [
        ['defaults', withDefaults],
        ['custom options', withCustom],
        [`pythonVersion ${RUN_PYTHON}`, withRunPython]
      ] as const)
        if (result.status !== 0)
          throw new Error(`devcontainer templates apply (${what}) failed:\n${result.stderr.slice(-3000)}`)
      return {
        published: templates.published,
        tags: templates.registry.tags(`serverless-python-deploy/action/${TEMPLATE_ID}`),
        requests: templates.registry.requests.map(r => `${r.method} ${r.path} ${r.status}`),
        files: { default: appliedFiles(withDefaults), custom: appliedFiles(withCustom) }
      }
    } finally {
      await templates.stop()
    }
  } catch (error) {
    removeDir(WORK)
    throw error
  }
})()

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

/** The local index and the shared wheelhouse (mangum), as pip reads them from the environment. */
const pipEnv = {
  ...process.env,
  ...localPipEnv(),
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  PIP_NO_INPUT: '1'
}

// ---------------------------------------------------------------------------------------------------
// Python environments, prepared synchronously before any test is defined.

interface PythonEnv {
  version: string
  /** The interpreter found for the version (python3.X, else python3 when it is that version). */
  interpreter?: string
  /** Why the tests for this version cannot run here: no interpreter of that version. */
  unavailable?: string
  /** pip's answer when requirements.txt and requirements-dev.txt could not be installed: a failure. */
  installError?: string
  /** The venv's python, once requirements are installed. */
  python?: string
  venvBin?: string
  venv?: string
}

/**
 * A Python of that version that really runs: python3.X from PATH, else pyenv's build of it (pyenv's
 * python3.X shim exits 127 unless the version is selected, so it is selected through PYENV_VERSION),
 * else python3 when it is that version. `env` is what the interpreter needs to run.
 */
function findInterpreter(version: string): { interpreter?: string; env?: NodeJS.ProcessEnv; why?: string } {
  const tried: string[] = []
  const pyenv = run('pyenv', ['versions', '--bare'])
  const pyenvVersion = (pyenv.status === 0 ? pyenv.stdout : '')
    .split('\n')
    .map(line => line.trim())
    .filter(line => line === version || line.startsWith(`${version}.`))
    .pop()
  const candidates: [string, NodeJS.ProcessEnv][] = [
    [`python${version}`, process.env],
    ...(pyenvVersion
      ? [[`python${version}`, { ...process.env, PYENV_VERSION: pyenvVersion }] as [string, NodeJS.ProcessEnv]]
      : []),
    ['python3', process.env]
  ]
  for (const [candidate, env] of candidates) {
    const probe = run(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { env })
    const found = probe.status === 0 ? probe.stdout.trim() : undefined
    if (found === version) return { interpreter: candidate, env }
    const label = env.PYENV_VERSION ? `PYENV_VERSION=${env.PYENV_VERSION} ${candidate}` : candidate
    tried.push(
      found
        ? `${label} is Python ${found}`
        : `\`${label} -c pass\` fails (${firstLine(probe.stderr || String(probe.error ?? '')) || `exit ${probe.status}`})`
    )
  }
  return { why: `no Python ${version} on this machine: ${tried.join('; ')}` }
}

function preparePython(projectDir: string, version: string): PythonEnv {
  const env: PythonEnv = { version }
  const { interpreter, env: interpreterEnv, why } = findInterpreter(version)
  if (!interpreter) return { ...env, unavailable: why }
  env.interpreter = interpreter
  const venv = join(WORK, `venv-${version}`)
  const created = run(interpreter, ['-m', 'venv', venv], { env: interpreterEnv })
  if (created.status !== 0)
    return { ...env, installError: `\`${interpreter} -m venv\` failed: ${tail(created.stderr, 3)}` }
  env.venv = venv
  env.venvBin = join(venv, 'bin')
  const python = join(venv, 'bin', 'python')
  const installed = run(
    python,
    ['-m', 'pip', 'install', '--quiet', '-r', 'requirements.txt', '-r', 'requirements-dev.txt'],
    { cwd: projectDir, env: pipEnv }
  )
  if (installed.status !== 0)
    return {
      ...env,
      installError: `pip cannot install requirements.txt and requirements-dev.txt for Python ${version}: ${pipErrors(installed.stderr)}`
    }
  return { ...env, python }
}

const py = preparePython(runDir, RUN_PYTHON)
if (py.unavailable) console.log(`Python ${py.version}: tests skipped: ${py.unavailable}`)

/** Fails the test that needs this Python when its requirements did not install. */
function requirePython(env: PythonEnv): string {
  if (env.installError) throw new Error(env.installError)
  return env.python as string
}

/** serverless-python-requirements runs pip with python<runtime version> from PATH. */
const PACKAGE_SKIP = py.unavailable
  ? py.unavailable
  : py.interpreter !== `python${RUN_PYTHON}`
    ? `python${RUN_PYTHON} is not on PATH (serverless-python-requirements runs it)`
    : undefined
if (PACKAGE_SKIP) console.log(`serverless package: skipped: ${PACKAGE_SKIP}`)

afterAll(() => removeDir(WORK))

// ---------------------------------------------------------------------------------------------------

describe('applying the template with the devcontainers CLI', () => {
  it('publishes it the way the release workflow does, and pulls it from the registry by its major tag', () => {
    const cli = devcontainerCli()
    expect(cli.version).toMatch(/^\d+\.\d+\.\d+$/)
    const { version } = metadata
    expect(applied.published[TEMPLATE_ID]).toMatchObject({ version })
    const [major, minor] = version.split('.')
    expect(applied.tags).toEqual([major, `${major}.${minor}`, version, 'latest'])
    // apply fetched the manifest of the major tag, then its one layer, and nothing failed along the way
    const pulls = applied.requests.filter(r => r.startsWith('GET ') && r.includes(`/${TEMPLATE_ID}/`))
    expect(pulls.filter(r => r.includes(`/manifests/${MAJOR} `))).toEqual(
      [defaultDir, customDir, runDir].map(
        () => `GET /v2/serverless-python-deploy/action/${TEMPLATE_ID}/manifests/${MAJOR} 200`
      )
    )
    // the page tells users that tag
    expect(readFileSync(join(TEMPLATE_DIR, 'README.md'), 'utf8')).toContain(`/${TEMPLATE_ID}:${MAJOR} `)
    expect(pulls.filter(r => r.includes('/blobs/sha256:')).every(r => r.endsWith(' 200'))).toBe(true)
  })

  it.each([
    ['defaults', defaultDir],
    ['custom options', customDir]
  ])('with %s leaves no ${templateOption...} behind', (_label, dir) => {
    const files = listFiles(dir)
    expect(files.length).toBeGreaterThan(10)
    for (const file of files) {
      expect([file, readFileSync(join(dir, file), 'utf8').includes('${templateOption')]).toEqual([
        file,
        false
      ])
    }
  })

  it('copies every file but the top-level README.md and devcontainer-template.json, docs/README.md included', () => {
    const source = listFiles(TEMPLATE_DIR)
    const omitted = source.filter(file => !applied.files.default.includes(file))
    expect(omitted).toEqual(['README.md', 'devcontainer-template.json'])
    expect(applied.files.default).toEqual(source.filter(file => !OMITTED_ON_APPLY.includes(file)))
    expect(listFiles(defaultDir)).toEqual(applied.files.default)
    expect(applied.files.custom).toEqual(applied.files.default)
    for (const file of [
      'docs/README.md',
      'main.py',
      'api.py',
      'serverless.yml',
      'package-lock.json',
      '.github/workflows/deploy.yml',
      '.github/workflows/preview.yml'
    ])
      expect(applied.files.default).toContain(file)
  })

  it.each([
    ['defaults', defaultDir, {}],
    ['custom options', customDir, custom]
  ])(
    'with %s gives exactly what helpers.ts applyTemplate gives (the quicker tests use it)',
    (_label, dir, chosen) => {
      const emulated = mkdtempSync(join(WORK, 'emulated-'))
      try {
        applyTemplate(emulated, chosen)
        expect(listFiles(emulated)).toEqual(listFiles(dir))
        for (const file of listFiles(dir)) {
          const same = readFileSync(join(emulated, file)).equals(readFileSync(join(dir, file)))
          expect([file, same]).toEqual([file, true])
        }
      } finally {
        removeDir(emulated)
      }
    }
  )

  it('opens files in Codespaces that the project has: the guide, not the omitted README.md', () => {
    const config = readJsonc<{ customizations: { codespaces: { openFiles: string[] } } }>(
      join(defaultDir, '.devcontainer', 'devcontainer.json')
    )
    const { openFiles } = config.customizations.codespaces
    expect(openFiles).toContain('docs/README.md')
    for (const file of openFiles) expect([file, existsSync(join(defaultDir, file))]).toEqual([file, true])
  })

  it('uses the option defaults', () => {
    expect(defaults.pythonVersion).toBe(DEFAULT_PYTHON_VERSION)
    expect(readFileSync(join(defaultDir, 'serverless.yml'), 'utf8')).toContain(
      `runtime: python${DEFAULT_PYTHON_VERSION}`
    )
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

    for (const name of ['deploy.yml', 'preview.yml']) {
      const workflow = readFileSync(join(dir, '.github', 'workflows', name), 'utf8')
      expect([name, workflow.includes(`python-version: '${options.pythonVersion}'`)]).toEqual([name, true])
    }

    // the guide's bootstrap commands name this service and region
    const guide = readFileSync(join(dir, 'docs', 'README.md'), 'utf8')
    expect(guide).toContain(`ServiceName=${options.serviceName} Stage=dev GitHubEnvironment=dev`)
    expect(guide).toContain(`--region ${options.awsRegion}`)

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
    requirePython(env),
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

  // the Mangum handler runs: mangum is a requirement, so its tests never skip
  const handlerTests = testFunctions(dir, 'test_handler.py')
  expect(handlerTests.length).toBeGreaterThanOrEqual(4)
  for (const name of handlerTests) {
    expect([name, cases.find(c => c.id === `tests.test_handler.${name}`)?.status]).toEqual([name, 'passed'])
  }
  expect(cases.filter(c => c.status !== 'passed')).toEqual([])
  expect(cases).toHaveLength(routeTests.length + handlerTests.length)
  // pytest.ini turns warnings into errors; none is even reported (the Starlette deprecation of httpx was one)
  expect(output).not.toMatch(/warnings? summary|Warning:/i)
}

describe(`starter tests on Python ${RUN_PYTHON}`, () => {
  ;(py.unavailable ? it.skip : it)(
    'pass: routes through TestClient and the Mangum handler, with no skip and no warning',
    () => {
      expectStarterTests(py, runDir)
    }
  )

  ;(py.unavailable ? it.skip : it)(
    "fail on a warning, such as Starlette's deprecation of plain httpx in its TestClient",
    () => {
      // A test that warns the way Starlette >= 1.2 did when the template installed httpx instead of httpx2.
      const probe = join(runDir, 'tests', 'test_warning_probe.py')
      writeFileSync(
        probe,
        [
          'import warnings',
          '',
          'from starlette.exceptions import StarletteDeprecationWarning',
          '',
          '',
          'def test_probe() -> None:',
          '    warnings.warn("Using `httpx` with `starlette.testclient` is deprecated", StarletteDeprecationWarning)',
          ''
        ].join('\n')
      )
      try {
        const result = run(requirePython(py), ['-m', 'pytest', '-p', 'no:cacheprovider', '-q', probe], {
          cwd: runDir,
          env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }
        })
        expect(result.status).toBe(1)
        expect(result.stdout).toContain('FAILED tests/test_warning_probe.py::test_probe')
        expect(result.stdout).toMatch(
          /^E +starlette\.exceptions\.StarletteDeprecationWarning: Using `httpx`/m
        )
      } finally {
        rmSync(probe, { force: true })
      }
    }
  )
})

/*
 * The starter's own tests cannot run on the non-default Python here: the machine's index has binary wheels
 * (pydantic-core among them) for CPython 3.11 only. What a real 3.12 can check without them, it checks:
 * every module of the applied project, tests included, compiles on it with warnings as errors, so syntax
 * or an escape that 3.12 rejects or warns about fails here rather than on a user's first run.
 */
describe(`the starter on Python ${NON_DEFAULT_PYTHON}`, () => {
  it('compiles on a real Python of that version, tests included, with warnings as errors', () => {
    const found = findInterpreter(NON_DEFAULT_PYTHON)
    expect(found.why).toBeUndefined()
    const modules = [
      'api.py',
      'main.py',
      ...readdirSync(join(customDir, 'tests')).map(f => `tests/${f}`)
    ].filter(f => f.endsWith('.py'))
    expect(modules).toEqual(
      expect.arrayContaining(['api.py', 'main.py', 'tests/test_api.py', 'tests/test_handler.py'])
    )
    const tag = `cpython-${NON_DEFAULT_PYTHON.replace('.', '')}`
    const compiled = run(found.interpreter as string, ['-W', 'error', '-m', 'py_compile', ...modules], {
      cwd: customDir,
      env: { ...found.env, PYTHONPYCACHEPREFIX: join(WORK, `pycache-${tag}`) }
    })
    expect([compiled.status, tail(compiled.stderr, 10)]).toEqual([0, ''])
    // The bytecode is that version's: the check ran on the interpreter it names.
    expect(
      readdirSync(join(WORK, `pycache-${tag}`, customDir.slice(1))).filter(f => f.includes(tag))
    ).toHaveLength(2)
  })
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
    ...localPipEnv(),
    HOME: SLS_HOME,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    ...extra
  }
  delete env.XDG_CACHE_HOME
  // No AWS credentials from anywhere: serverless package, print and offline must not need any.
  for (const name of Object.keys(env))
    if (
      /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE|CONTAINER_)/.test(
        name
      )
    )
      delete env[name]
  env.AWS_CONFIG_FILE = join(SLS_HOME, 'no-aws-config')
  env.AWS_SHARED_CREDENTIALS_FILE = join(SLS_HOME, 'no-aws-credentials')
  env.AWS_EC2_METADATA_DISABLED = 'true'
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
  const serverless = join(runDir, 'node_modules', '.bin', 'serverless')
  let npmCi: SpawnSyncReturns<string> | undefined

  beforeAll(() => {
    // as postCreateCommand runs it: no install scripts
    npmCi = run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: runDir })
  })

  const requireNpmCi = (): void => {
    if (npmCi?.status !== 0) throw new Error(`npm ci failed:\n${tail(npmCi?.stderr, 40)}`)
  }

  it(`npm ci installs osls ${FRAMEWORK_VERSIONS.osls} from the lockfile`, () => {
    requireNpmCi()
    const version = run(serverless, ['--version'], { cwd: runDir, env: slsEnv() })
    expect(version.status).toBe(0)
    expect(version.stdout).toContain(`osls version: ${FRAMEWORK_VERSIONS.osls}`)
  })

  ;(PACKAGE_SKIP ? it.skip : it)(
    'serverless package builds an x86_64 Lambda zip with the requirements and without dev files',
    () => {
      requireNpmCi()
      const artifact = join(WORK, 'artifact')
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
        mkdirSync(dirname(join(runDir, file)), { recursive: true })
        writeFileSync(join(runDir, file), 'SECRET=do-not-ship\n')
      }
      let packaged: SpawnSyncReturns<string>
      try {
        packaged = run(serverless, ['package', '--stage', 'ci', '--package', artifact], {
          cwd: runDir,
          env: slsEnv()
        })
      } finally {
        for (const [, cleanup] of strays) rmSync(join(runDir, cleanup), { recursive: true, force: true })
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
      expect(entries).toContain('mangum/__init__.py')
      // the test client's HTTP library is a dev requirement only
      expect(entries.filter(e => /^httpx2?\//.test(e))).toEqual([])
      const forbidden = entries.filter(
        e =>
          /^(node_modules|tests|docs|\.venv|venv|__pycache__|\.pytest_cache|\.serverless|\.devcontainer|\.github)\//.test(
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
        Runtime: `python${RUN_PYTHON}`
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
      // The bootstrap's boundary, completed by CloudFormation (the next test evaluates it against the bootstrap).
      expect(role?.Properties.PermissionsBoundary).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':iam::',
            { Ref: 'AWS::AccountId' },
            `:policy/${defaults.serviceName}-ci-${defaults.awsRegion}-lambda-boundary`
          ]
        ]
      })
    }
  )

  it('names the permissions boundary the IAM bootstrap creates, for a stage and for the previews (moto)', async () => {
    requireNpmCi()
    // serverless resolves its variables for real (no credentials); moto's CloudFormation completes the
    // expression, as AWS's does at deploy time, next to the stacks iam/github-deploy-role.yml creates.
    const preview = parseYaml(readFileSync(join(runDir, '.github', 'workflows', 'preview.yml'), 'utf8')) as {
      jobs: { preview: { env: Record<string, string> } }
    }
    const previewEnv = preview.jobs.preview.env
    expect(Object.keys(previewEnv)).toEqual(['PERMISSIONS_BOUNDARY_STAGE'])
    const boundaryOf = (stage: string, extra: NodeJS.ProcessEnv = {}): unknown => {
      const printed = run(
        serverless,
        ['print', '--stage', stage, '--path', 'provider.iam.role.permissionsBoundary', '--format', 'json'],
        { cwd: runDir, env: slsEnv(extra) }
      )
      if (printed.status !== 0)
        throw new Error(`serverless print failed:\n${tail(printed.stdout + printed.stderr)}`)
      return JSON.parse(printed.stdout)
    }
    const expressions = {
      dev: boundaryOf('dev'),
      prod: boundaryOf('prod'),
      'pr-7 (preview.yml)': boundaryOf('pr-7', previewEnv),
      'pr-7 (without preview.yml env)': boundaryOf('pr-7')
    }

    // the boundary's name holds the region: moto's stacks are created in the template's default one
    expect(defaults.awsRegion).toBe(REGION)
    const moto = await startMoto()
    try {
      await createGitHubOidcProvider(moto)
      const bootstrap = (Stage: string, GitHubEnvironment: string) =>
        createStack(moto, `github-deploy-${GitHubEnvironment}`, {
          GitHubRepository: 'octo-org/octo-app',
          GitHubOwnerId: '1001',
          GitHubRepositoryId: '2002',
          ServiceName: defaults.serviceName,
          Stage,
          GitHubEnvironment,
          CreateOidcProvider: 'false'
        })
      const bootstrapped = {
        dev: (await bootstrap('dev', 'dev')).boundaryArn,
        prod: (await bootstrap('prod', 'prod')).boundaryArn,
        preview: (await bootstrap('pr-*', 'preview')).boundaryArn
      }

      const cfn = new CloudFormationClient({
        region: REGION,
        endpoint: moto.endpoint,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
      })
      const evaluated: Record<string, string | undefined> = {}
      for (const [i, [what, expression]] of Object.entries(expressions).entries()) {
        const StackName = `boundary-expression-${i}`
        await cfn.send(
          new CreateStackCommand({
            StackName,
            TemplateBody: JSON.stringify({
              Resources: { Nothing: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
              Outputs: { Boundary: { Value: expression } }
            })
          })
        )
        const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName }))
        evaluated[what] = Stacks?.[0]?.Outputs?.find(o => o.OutputKey === 'Boundary')?.OutputValue
      }
      expect(evaluated).toEqual({
        dev: bootstrapped.dev,
        prod: bootstrapped.prod,
        'pr-7 (preview.yml)': bootstrapped.preview,
        // without the workflow's PERMISSIONS_BOUNDARY_STAGE a preview would ask for a boundary nobody made
        'pr-7 (without preview.yml env)': expect.not.stringMatching(/-pr-_-/)
      })
      expect(Object.values(bootstrapped)).not.toContain(evaluated['pr-7 (without preview.yml env)'])
    } finally {
      await moto.stop()
    }
  })

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
        cwd: runDir,
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

    ;(py.unavailable ? it.skip : it)('answers GET / and GET /health through main.handler', async () => {
      requireNpmCi()
      const root = await getJson(`http://127.0.0.1:${httpPort}/`)
      expect([root.status, root.body ?? root.text]).toEqual([200, GREETING])
      const health = await getJson(`http://127.0.0.1:${httpPort}/health`)
      expect([health.status, health.body ?? health.text]).toEqual([200, HEALTH])
      const missing = await getJson(`http://127.0.0.1:${httpPort}/no-such-route`)
      expect(missing.status).toBe(404)
    })
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
        cwd: runDir,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }
      })
      const api = join(runDir, 'api.py')
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
