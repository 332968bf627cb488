import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { copyFixture, zipEntries } from '../support/fixture.js'
import { VENV } from '../support/hermetic.mjs'
import { holdings, startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import { errorLines, NODE24, parseError, runAction, type ActionRun } from '../support/runner.js'
import { linkTree } from '../support/warm.mjs'
import { buildWheelhouse } from '../support/wheelhouse.js'
import { applyTemplate, PACKAGED_HERE } from '../template/helpers.js'

jest.setTimeout(600_000)

/**
 * Artifact verification through dist/index.js, against one moto server, with real serverless 3.x and
 * real pip: what the static and the dynamic checks refuse before anything is uploaded, what they let
 * through, and the bytecode and digests of what is shipped. One runner home serves the whole file, as
 * a self-hosted runner's would.
 */

const REGION = 'us-east-1'
const scratch = mkdtempSync(path.join(os.tmpdir(), 'verify-'))
const PYENV = process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv')

let moto: Moto
let home: string
let wheelhouse: string

/** A pyenv Python by its minor version, the real binary (pyenv's shims answer only for the selected one). */
function pyenvPython(minor: string): string {
  const version = readdirSync(path.join(PYENV, 'versions')).find(name => name.startsWith(`${minor}.`))
  if (!version) throw new Error(`pyenv has no Python ${minor} in ${PYENV}/versions`)
  return path.join(PYENV, 'versions', version, 'bin', `python${minor}`)
}

const python = (minor: string, code: string, ...args: string[]): string =>
  execFileSync(pyenvPython(minor), ['-c', code, ...args], { encoding: 'utf8' }).trim()

/** A real extension module of that Python's standard library (an x86_64 ELF shared object). */
const extensionOf = (minor: string): string => python(minor, 'import _uuid; print(_uuid.__file__)')

interface ServiceSpec {
  runtime?: string
  architecture?: 'x86_64' | 'arm64'
  handler?: string
  /** The function's events; none when not given. */
  events?: unknown[]
  /** requirements.txt, and serverless-python-requirements with it. */
  requirements?: string[]
  pythonRequirements?: Record<string, unknown>
  /** Files beside serverless.yml; handler.py is a plain 200 unless given. */
  files?: Record<string, string | Buffer>
}

const OK_HANDLER = 'def handler(event, context):\n    return {"statusCode": 200, "body": "ok"}\n'

/**
 * A service as small as the case allows: one function, serverless-localstack so that a deploy reaches
 * moto (through AWS_ENDPOINT_URL), and no package.json (the action provides serverless).
 */
function service(name: string, spec: ServiceSpec = {}): string {
  const dir = path.join(scratch, 'services', name)
  mkdirSync(dir, { recursive: true })
  const doc = {
    service: name,
    frameworkVersion: '3',
    provider: {
      name: 'aws',
      runtime: spec.runtime ?? 'python3.11',
      ...(spec.architecture ? { architecture: spec.architecture } : {}),
      region: REGION,
      // moto does not update stack outputs through change sets
      deploymentMethod: 'direct'
    },
    functions: {
      api: { handler: spec.handler ?? 'handler.handler', ...(spec.events ? { events: spec.events } : {}) }
    },
    plugins: [...(spec.requirements ? ['serverless-python-requirements'] : []), 'serverless-localstack'],
    custom: {
      localstack: { stages: ['dev'], autostart: false },
      ...(spec.requirements
        ? { pythonRequirements: { dockerizePip: false, ...spec.pythonRequirements } }
        : {})
    }
  }
  writeFileSync(path.join(dir, 'serverless.yml'), YAML.stringify(doc))
  if (spec.requirements)
    writeFileSync(path.join(dir, 'requirements.txt'), `${spec.requirements.join('\n')}\n`)
  for (const [file, content] of Object.entries({ 'handler.py': OK_HANDLER, ...spec.files })) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), content)
  }
  return dir
}

function awsEnv(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ENDPOINT_URL: moto.endpoint,
    // No AWS SDK may ask an instance metadata service: none is here.
    AWS_EC2_METADATA_DISABLED: 'true',
    ...pipEnv()
  }
}

async function action(
  dir: string,
  inputs: Record<string, string> = {},
  options: { env?: Record<string, string>; node?: string } = {}
): Promise<ActionRun> {
  const started = Date.now()
  const run = await runAction({
    inputs: { command: 'package', 'working-directory': dir, ...inputs },
    env: { ...awsEnv(), ...options.env },
    node: options.node ?? NODE24,
    home
  })
  console.log(
    `${path.basename(dir)} (${inputs.command ?? 'package'}): exit ${run.exitCode} in ${((Date.now() - started) / 1000).toFixed(1)} s`
  )
  return run
}

/** The run's one error, or a failure that shows the log's end. */
function onlyError(run: ActionRun): { title?: string; message: string } {
  const errors = errorLines(run)
  if (errors.length !== 1) console.log(run.stdout.slice(-6000), run.stderr.slice(-2000))
  expect(errors).toHaveLength(1)
  const error = parseError(errors[0])
  return { title: error.properties.title, message: error.message }
}

function passed(run: ActionRun): void {
  if (run.exitCode !== 0) console.log(run.stdout.slice(-6000), run.stderr.slice(-2000))
  expect(errorLines(run)).toEqual([])
  expect(run.exitCode).toBe(0)
}

const nothingDeployed = async () =>
  expect(await holdings(moto, [REGION])).toEqual({ stacks: [], buckets: [] })

const zipOf = (dir: string) => path.join(dir, '.serverless', `${path.basename(dir)}.zip`)

beforeAll(async () => {
  moto = await startMoto()
  // One runner home for the file, starting with the warm tool cache (the serverless the action provides).
  home = mkdtempSync(path.join(scratch, 'home-'))
  const warm = process.env.SPD_WARM && path.join(process.env.SPD_WARM, 'tool-cache')
  if (warm && existsSync(warm)) linkTree(warm, path.join(home, 'tool-cache'))
  wheelhouse = buildWheelhouse()
})

afterAll(async () => {
  await moto?.stop()
  rmSync(scratch, { recursive: true, force: true })
  if (wheelhouse) rmSync(wheelhouse, { recursive: true, force: true })
})

describe("the folder the action's node runs from stays off its children's PATH", () => {
  // Debian and Ubuntu images have /usr/bin/node beside /usr/bin/python3.11: a folder that holds the
  // node the action runs on and a python3.11 that is not the one the action chose. That python3.11
  // leaves a marker when anything runs it.
  let bin: string
  let marker: string
  const node = () => path.join(bin, 'node')

  beforeAll(() => {
    bin = path.join(scratch, 'usr-bin')
    marker = path.join(scratch, 'usr-bin-python3.11-ran')
    mkdirSync(bin)
    // A hard link, not a symlink: Node resolves a symlink to its target for process.execPath, so the
    // action would see NODE24's own folder; a hard link is a node in this folder, as /usr/bin/node is.
    try {
      linkSync(NODE24, node())
    } catch {
      copyFileSync(NODE24, node())
      chmodSync(node(), 0o755)
    }
    writeFileSync(
      path.join(bin, 'python3.11'),
      `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexec '${pyenvPython('3.11')}' "$@"\n`,
      { mode: 0o755 }
    )
  })

  it('arm64 with pydantic: one error naming pydantic-core, its version and aarch64; the other python3.11 never ran', async () => {
    rmSync(marker, { force: true })
    const run = await action(
      service('path-arm64', { architecture: 'arm64', requirements: ['pydantic'] }),
      {},
      { node: node() }
    )
    expect(run.exitCode).toBe(1)
    const error = onlyError(run)
    expect(error.message).toMatch(/pydantic[-_]core \d+\.\d+\.\d+ .*(aarch64|arm64)/)
    expect(existsSync(marker)).toBe(false)
  })

  it('x86_64: packages with the chosen Python, whose version is the output, and pip ran under it', async () => {
    rmSync(marker, { force: true })
    const dir = service('path-x86', {
      requirements: ['pydantic'],
      files: { 'handler.py': `import pydantic\n\n${OK_HANDLER}` }
    })
    const run = await action(dir, {}, { node: node() })
    passed(run)
    const chosen = python('3.11', 'import platform; print(platform.python_version())')
    expect(run.outputs['python-version']).toBe(chosen)
    expect(run.stdout).toContain(`Python ${chosen} (path): ${pyenvPython('3.11')}`)
    expect(zipEntries(zipOf(dir))).toContain('pydantic/__init__.py')
    expect(existsSync(marker)).toBe(false)
  })
})

describe('the static check refuses an artifact that would not run, and nothing is uploaded', () => {
  const WHEEL =
    'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_28_x86_64\n'
  const cases: [string, () => ServiceSpec, RegExp][] = [
    [
      'an x86_64 shared library in an arm64 artifact',
      // Named like no extension module: only its ELF header says what it is.
      () => ({ architecture: 'arm64', files: { 'lib/libspeed.so': readFileSync(extensionOf('3.11')) } }),
      /static-1\.zip › lib\/libspeed\.so: x86_64 code; Lambda needs aarch64 code\./
    ],
    [
      'a CPython 3.12 extension module for python3.11',
      () => ({
        files: { 'native/_uuid.cpython-312-x86_64-linux-gnu.so': readFileSync(extensionOf('3.12')) }
      }),
      /static-2\.zip › native\/_uuid\.cpython-312-x86_64-linux-gnu\.so: an extension module for CPython 3\.12; Lambda needs CPython 3\.11 \(cpython-311\)/
    ],
    [
      'a manylinux_2_28 wheel for python3.11 (Amazon Linux 2, glibc 2.26)',
      () => ({
        files: {
          'x/__init__.py': '',
          'x/_x.cpython-311-x86_64-linux-gnu.so': readFileSync(extensionOf('3.11')),
          'x-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\nName: x\nVersion: 1.0\n',
          'x-1.0.dist-info/WHEEL': WHEEL,
          'x-1.0.dist-info/RECORD':
            'x/__init__.py,,\nx/_x.cpython-311-x86_64-linux-gnu.so,,\nx-1.0.dist-info/METADATA,,\nx-1.0.dist-info/WHEEL,,\nx-1.0.dist-info/RECORD,,\n'
        }
      }),
      /static-3\.zip › x\/_x\.cpython-311-x86_64-linux-gnu\.so: glibc 2\.28 \(wheel tags: manylinux_2_28_x86_64\); Lambda needs glibc 2\.26 or older \(Amazon Linux 2\)\. x 1\.0 needs glibc 2\.28/
    ],
    [
      'a handler module that is not in the zip',
      () => ({ handler: 'app.handler' }),
      /static-4\.zip › app\.py: no app\.py or app\/__init__\.py at the zip's root; Lambda needs the module of handler app\.handler\./
    ],
    [
      'a handler name its module does not define',
      () => ({ handler: 'handler.main' }),
      /static-5\.zip › handler\.py: no top-level main in handler\.py \(it defines handler\); Lambda needs a top-level main/
    ]
  ]

  it.each(cases.map(([name, spec, found], index) => [name, spec, found, index + 1] as const))(
    '%s',
    async (_name, spec, found, index) => {
      const run = await action(service(`static-${index}`, spec()), { command: 'deploy' })
      expect(run.exitCode).toBe(1)
      const error = onlyError(run)
      expect(error.title).toBe('Artifact would not run on Lambda')
      expect(error.message).toMatch(/; nothing was uploaded\.\n/)
      expect(error.message).toMatch(found)
      // One problem, in one line after the first.
      expect(error.message.split('\n')).toHaveLength(2)
      expect(run.stdout).not.toMatch(/serverless\.js deploy\b/)
      await nothingDeployed()
    }
  )
})

describe('the dynamic check imports and calls each handler before anything is uploaded', () => {
  it('refuses a handler whose import raises (a dependency requirements.txt lacks)', async () => {
    const dir = service('import-fails', { files: { 'handler.py': `import httpx\n\n${OK_HANDLER}` } })
    const run = await action(dir, { command: 'deploy' })
    expect(run.exitCode).toBe(1)
    const error = onlyError(run)
    expect(error.title).toBe('Function fails its check')
    expect(error.message).toMatch(
      /^import-fails-dev-api fails before it is deployed: .*nothing was uploaded\./
    )
    expect(error.message).toContain("ModuleNotFoundError: No module named 'httpx'")
    expect(error.message).toContain('handler.py:1 in <module>: import httpx')
    expect(error.message).toMatch(
      /Fix: The code imports httpx, .*add the distribution that provides it to requirements\.txt/
    )
    await nothingDeployed()
  })

  it('refuses an app whose smoke-test-path answers 500', async () => {
    const dir = service('answers-500', {
      events: [{ httpApi: '*' }],
      files: {
        'handler.py':
          'def handler(event, context):\n    return {"statusCode": 500 if event["rawPath"] == "/health" else 200, "body": "database unreachable"}\n'
      }
    })
    const run = await action(dir, { command: 'deploy' })
    expect(run.exitCode).toBe(1)
    const error = onlyError(run)
    expect(error.title).toBe('Function fails its check')
    expect(error.message).toContain(
      'answers-500-dev-api (api): GET /health via httpApi answered 500, expected 200-399: database unreachable'
    )
    await nothingDeployed()
  })

  it('refuses a handler that opens a network connection at import time, and points to verify: static', async () => {
    // moto listens there: were the connection not refused, the import would succeed.
    const dir = service('network-at-import', {
      files: {
        'handler.py': `import socket\n\nsocket.create_connection(("127.0.0.1", ${moto.port}), timeout=5).close()\n\n${OK_HANDLER}`
      }
    })
    const run = await action(dir, { command: 'deploy' })
    expect(run.exitCode).toBe(1)
    const error = onlyError(run)
    expect(error.title).toBe('Function fails its check')
    expect(error.message).toContain(`127.0.0.1:${moto.port}`)
    expect(error.message).toContain('verify: static')
    await nothingDeployed()
  })

  it("passes a handler that creates boto3.resource('dynamodb') at import time without bundling boto3", async () => {
    const dir = service('boto-at-import', {
      files: {
        'handler.py': `import boto3\n\ntable = boto3.resource("dynamodb").Table("items")\n\n${OK_HANDLER}`
      }
    })
    const run = await action(dir)
    passed(run)
    expect(run.stdout).toContain(
      'Installing boto3 for the check, as the python3.11 runtime provides it to functions'
    )
    expect(run.stdout).toMatch(
      /Artifact verified: static: 1 zip, 0 packages, 0 problems \([\d.]+ s\); dynamic: api imported in [\d.]+ s; [\d.]+ s in all/
    )
    expect(zipEntries(zipOf(dir)).filter(name => /^(boto3|botocore)\//.test(name))).toEqual([])
  })

  /** The service's function `api` called by an HTTP API, a REST API (`http`) and a load balancer. */
  function threeTriggers(dir: string): void {
    const file = path.join(dir, 'serverless.yml')
    const doc = YAML.parse(readFileSync(file, 'utf8')) as { functions: { api: { events: unknown[] } } }
    doc.functions.api.events = [
      { httpApi: '*' },
      { http: { path: '/{proxy+}', method: 'any' } },
      {
        alb: {
          listenerArn:
            'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/verify/50dc6c495c0c9188/f2f7dc8efc522ab2',
          priority: 1,
          conditions: { path: '/*' }
        }
      }
    ]
    writeFileSync(file, YAML.stringify(doc))
  }

  /** The verification line of the log and the summary's, with the import time it reports. */
  function verifiedThroughThree(run: ActionRun): void {
    const calls =
      'GET \\/health → 200 \\(httpApi\\), GET \\/health → 200 \\(http\\), GET \\/health → 200 \\(alb\\)'
    const line = new RegExp(
      `Artifact verified: static: 1 zip, \\d+ packages, 0 problems \\([\\d.]+ s\\); dynamic: api imported in ([\\d.]+) s, ${calls}; [\\d.]+ s in all`
    )
    expect(run.stdout).toMatch(line)
    expect(Number(line.exec(run.stdout)?.[1])).toBeGreaterThan(0)
    expect(run.summary).toMatch(new RegExp(`api imported in [\\d.]+ s, ${calls}`))
  }

  it('passes the fixture service through HTTP API 2.0, REST and ALB events, its import time in the log and summary', async () => {
    const dir = copyFixture('service')
    try {
      threeTriggers(dir)
      const run = await action(dir)
      passed(run)
      verifiedThroughThree(run)
    } finally {
      rmSync(path.dirname(dir), { recursive: true, force: true })
    }
  })

  it("passes the template's starter through the same three, its import time in the log and summary", async () => {
    const project = path.join(scratch, 'starter', 'project')
    applyTemplate(project, PACKAGED_HERE)
    threeTriggers(project)
    const run = await action(project)
    passed(run)
    verifiedThroughThree(run)
  })
})

/**
 * Each .pyc of a zip against a fresh compile of its .py in the zip, as py/bytecode.py compiles it
 * (file name /var/task/<name>, unchecked hash), and where the planted markers are. Compared as header
 * and unmarshalled code, file names included: marshal's bytes for equal code can differ between two
 * processes (its back-references follow reference counts).
 */
const CHECK_PYC = String.raw`
import importlib.util, json, marshal, sys, types, zipfile
from importlib import _bootstrap_external
archive, markers = sys.argv[1], [m.encode() for m in sys.argv[2:]]
z = zipfile.ZipFile(archive)
infos = [i for i in z.infolist() if not i.is_dir()]
sources = {i.filename: z.read(i) for i in infos if i.filename.endswith(".py")}
root = "/opt" if all(i.filename.startswith("python/") for i in infos) else "/var/task"

def names(code):
    return [code.co_filename] + [n for c in code.co_consts if isinstance(c, types.CodeType) for n in names(c)]

report = {"pycs": 0, "differ": [], "orphans": [], "planted": []}
for info in infos:
    data = z.read(info)
    if any(marker in data for marker in markers):
        report["planted"].append(info.filename)
    if not info.filename.endswith(".pyc"):
        continue
    report["pycs"] += 1
    folder, _, base = info.filename.rpartition("__pycache__/")
    module, _, suffix = base.partition(".")
    source = folder + module + ".py"
    if suffix != sys.implementation.cache_tag + ".pyc" or source not in sources:
        report["orphans"].append(info.filename)
        continue
    code = compile(sources[source], root + "/" + source, "exec", dont_inherit=True)
    fresh = _bootstrap_external._code_to_hash_pyc(code, importlib.util.source_hash(sources[source]), checked=False)
    shipped = marshal.loads(data[16:])
    if data[:16] != fresh[:16] or shipped != code or names(shipped) != names(code):
        report["differ"].append(info.filename)
print(json.dumps(report))
`

/** A checked-hash .pyc of other code, stamped with the real source's hash: Python loads it for that source. */
const PLANT_PYC = String.raw`
import importlib.util, sys
from importlib import _bootstrap_external
source, target, planted = sys.argv[1:]
code = compile(planted, source, "exec", dont_inherit=True)
stamp = importlib.util.source_hash(open(source, "rb").read())
open(target, "wb").write(_bootstrap_external._code_to_hash_pyc(code, stamp, checked=True))
`

/** The wheel pip built and cached, with its module rewritten (pip does not check a cached wheel's RECORD). */
const TAMPER_WHEEL = String.raw`
import os, sys, zipfile
wheel, module, text = sys.argv[1:]
original = wheel + ".original"
os.rename(wheel, original)
with zipfile.ZipFile(original) as source, zipfile.ZipFile(wheel, "w") as target:
    for info in source.infolist():
        target.writestr(info, text.encode() if info.filename == module else source.read(info))
os.remove(original)
`

/** Every file under a folder, relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => path.relative(dir, path.join(entry.parentPath, entry.name)))
}

describe('bytecode in the artifact is compiled in this run from the sources in the zip', () => {
  const PLANTED_PYC = 'PLANTED_BY_THE_WORKSPACE_PYC'
  const PLANTED_WHEEL = 'PLANTED_BY_THE_CACHED_WHEEL'

  it('ignores a planted __pycache__ and a tampered wheel in the build cache', async () => {
    const builds = path.join(home, 'temp', 'serverless-python-deploy', 'python-build')
    const before = new Set(existsSync(builds) ? readdirSync(builds) : [])
    // spdpure has a source distribution only: with a --platform of its own (and --no-deps), pip builds
    // it and keeps the wheel in its cache. No static cache, so that pip runs in every package.
    const dir = service('bytecode', {
      requirements: ['spdpure'],
      pythonRequirements: {
        useStaticCache: false,
        pipCmdExtraArgs: ['--platform manylinux2014_x86_64', '--no-deps']
      },
      files: { 'handler.py': `import spdpure\n\n${OK_HANDLER}` }
    })
    const env = { PIP_FIND_LINKS: `${wheelhouse} ${pipEnv().PIP_FIND_LINKS ?? ''}`.trim() }
    passed(await action(dir, {}, { env }))

    // The build's own pip cache, as this run left it; a built wheel in it, as pip makes one, tampered.
    const build = readdirSync(builds).filter(name => !before.has(name))
    expect(build).toHaveLength(1)
    const downloads = path.join(builds, build[0], 'serverless-python-requirements', 'downloadCacheslspyc')
    expect(existsSync(downloads)).toBe(true)
    execFileSync(
      pyenvPython('3.11'),
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--target',
        path.join(scratch, 'pip-target'),
        '--platform',
        'manylinux2014_x86_64',
        '--no-deps',
        '--cache-dir',
        downloads,
        'spdpure'
      ],
      { env: { ...process.env, ...awsEnv(), ...env }, stdio: 'pipe' }
    )
    const wheels = filesUnder(path.join(downloads, 'wheels')).filter(name => name.endsWith('.whl'))
    expect(wheels).toEqual([expect.stringMatching(/spdpure-1\.0-.*\.whl$/)])
    execFileSync(pyenvPython('3.11'), [
      '-c',
      TAMPER_WHEEL,
      path.join(downloads, 'wheels', wheels[0]),
      'spdpure.py',
      `PURE = True\n${PLANTED_WHEEL} = True\n`
    ])

    // A workspace __pycache__ that Python would load for handler.py as it is.
    mkdirSync(path.join(dir, '__pycache__'))
    execFileSync(pyenvPython('3.11'), [
      '-c',
      PLANT_PYC,
      path.join(dir, 'handler.py'),
      path.join(dir, '__pycache__', 'handler.cpython-311.pyc'),
      `${PLANTED_PYC} = True\n${OK_HANDLER}`
    ])
    expect(
      python(
        '3.11',
        `import sys; sys.path.insert(0, sys.argv[1]); import handler; print(hasattr(handler, "${PLANTED_PYC}"))`,
        dir
      )
    ).toBe('True')

    const run = await action(dir, {}, { env })
    passed(run)
    const report = JSON.parse(
      execFileSync(pyenvPython('3.11'), ['-c', CHECK_PYC, zipOf(dir), PLANTED_PYC, PLANTED_WHEEL], {
        encoding: 'utf8'
      })
    ) as { pycs: number; differ: string[]; orphans: string[]; planted: string[] }
    expect(report).toEqual({ pycs: expect.any(Number), differ: [], orphans: [], planted: [] })
    // The handler's and spdpure's bytecode at least.
    expect(zipEntries(zipOf(dir))).toEqual(
      expect.arrayContaining(['__pycache__/handler.cpython-311.pyc', '__pycache__/spdpure.cpython-311.pyc'])
    )
    expect(report.pycs).toBeGreaterThanOrEqual(2)
  })
})

describe('what public services do', () => {
  it('a service with devDependencies and no !node_modules/** pattern ships nothing from node_modules', async () => {
    const dir = copyFixture('service')
    try {
      writeFileSync(
        path.join(dir, 'serverless.yml'),
        YAML.stringify({
          service: 'dev-dependencies',
          frameworkVersion: '3',
          provider: { name: 'aws', runtime: 'python3.11', region: REGION },
          functions: { api: { handler: 'handler.handler' } }
        })
      )
      writeFileSync(path.join(dir, 'handler.py'), OK_HANDLER)
      rmSync(path.join(dir, 'requirements.txt'))
      const run = await action(dir)
      passed(run)
      const entries = zipEntries(path.join(dir, '.serverless', 'dev-dependencies.zip'))
      expect(entries).toContain('handler.py')
      expect(entries.filter(name => name.startsWith('node_modules/'))).toEqual([])
    } finally {
      rmSync(path.dirname(dir), { recursive: true, force: true })
    }
  })

  it('python3.9 after python3.11 on one runner, same requirements: never green with CPython 3.11 files', async () => {
    // path-x86 packaged pydantic for python3.11 in this home; now the same requirements for python3.9.
    const bin = path.join(scratch, 'python3.9-bin')
    mkdirSync(bin)
    symlinkSync(pyenvPython('3.9'), path.join(bin, 'python3.9'))
    const dir = service('python39', {
      runtime: 'python3.9',
      requirements: ['pydantic'],
      files: { 'handler.py': `import pydantic\n\n${OK_HANDLER}` }
    })
    const run = await action(dir, {}, { env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` } })
    expect(run.outputs['python-version']).toMatch(/^3\.9\./)
    const shipped = run.exitCode === 0 ? zipEntries(zipOf(dir)) : []
    expect(shipped.filter(name => name.includes('cpython-311'))).toEqual([])
    // This machine has pydantic-core for CPython 3.11 only: refused (by pip, or by the check were the
    // 3.11 build reused), naming it and the Python.
    expect(run.exitCode).toBe(1)
    const message = onlyError(run).message
    expect(message).toMatch(/pydantic[-_]core =*\d+\.\d+\.\d+/)
    expect(message).toMatch(/CPython 3\.9|python3\.9/)
  })

  it('slim: true is kept: no bytecode in the zip, and one notice that says so', async () => {
    const dir = service('slim', { requirements: ['idna'], pythonRequirements: { slim: true } })
    const run = await action(dir)
    passed(run)
    const entries = zipEntries(zipOf(dir))
    expect(entries).toContain('idna/__init__.py')
    expect(entries.filter(name => name.endsWith('.pyc') || name.includes('__pycache__'))).toEqual([])
    expect(
      run.stdout.split('\n').filter(line => line.startsWith('::notice title=No bytecode (slim)::'))
    ).toHaveLength(1)
  })

  it("npm's ETARGET names the package and the version that does not exist", async () => {
    const dir = service('etarget', {
      files: {
        'package.json': JSON.stringify({
          name: 'etarget',
          private: true,
          devDependencies: { 'left-pad': '9.9.9' }
        })
      }
    })
    const run = await action(dir)
    expect(run.exitCode).toBe(1)
    const error = onlyError(run)
    expect(error.title).toBe('No such package version')
    expect(error.message).toContain('left-pad@9.9.9')
  })
})

describe('after a deploy', () => {
  it('keeps the zip in .serverless, and artifact-sha256 is its digest and that of the object in S3', async () => {
    const dir = service('deployed', { events: [{ httpApi: '*' }] })
    const run = await action(dir, { command: 'deploy' })
    passed(run)
    const zip = zipOf(dir)
    expect(existsSync(zip)).toBe(true)
    const local = createHash('sha256').update(readFileSync(zip)).digest('hex')
    expect(run.outputs['artifact-sha256']).toBe(local)
    // Every zip in moto's S3, read with signed requests as the Lambda service would.
    const uploaded = JSON.parse(
      execFileSync(
        path.join(VENV, 'bin', 'python'),
        [
          '-c',
          String.raw`
import boto3, hashlib, json, sys
s3 = boto3.client("s3", region_name=sys.argv[1], endpoint_url=sys.argv[2], aws_access_key_id="testing", aws_secret_access_key="testing")
found = []
for bucket in s3.list_buckets()["Buckets"]:
    for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
        if item["Key"].endswith(".zip"):
            body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
            found.append({"key": item["Key"], "sha256": hashlib.sha256(body).hexdigest()})
print(json.dumps(found))
`,
          REGION,
          moto.endpoint
        ],
        { encoding: 'utf8' }
      )
    ) as { key: string; sha256: string }[]
    expect(uploaded).toEqual([{ key: expect.stringMatching(/\/deployed\.zip$/), sha256: local }])
  })
})
