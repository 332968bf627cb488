import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { UserError } from '../../../src/errors.js'
import { lockedRequirements, pythonProject } from '../../../src/python-project/index.js'

const FIXTURES = fileURLToPath(new URL('../../fixtures/python-projects', import.meta.url))
const dirs: string[] = []
afterAll(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })))

/** A service folder with the given files, copied from fixtures (`from`) or written (string). */
type Files = Record<string, string | { from: string }>

function service(files: Files): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'spd-pyproject-'))
  dirs.push(dir)
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') writeFileSync(path.join(dir, name), content)
    else copyFileSync(path.join(FIXTURES, content.from), path.join(dir, name))
  }
  return dir
}

function error(fn: () => unknown): UserError {
  try {
    fn()
  } catch (e) {
    if (e instanceof UserError) return e
    throw e
  }
  throw new Error('no UserError')
}

const POETRY = {
  'pyproject.toml': { from: 'poetry-itou-communaute/pyproject.toml' },
  'poetry.lock': { from: 'poetry-itou-communaute/poetry.lock' }
}
const UV = {
  'pyproject.toml': { from: 'uv-anthropic-sdk/pyproject.toml' },
  'uv.lock': { from: 'uv-anthropic-sdk/uv.lock' }
}
const PIPENV = {
  Pipfile: { from: 'pipenv-pipenv/Pipfile' },
  'Pipfile.lock': { from: 'pipenv-pipenv/Pipfile.lock' }
}

describe('pythonProject: which file decides', () => {
  test('none', () => expect(pythonProject(service({ 'app.py': '' }))).toBeUndefined())

  test('requirements.txt, or the fileName the plugin is given', () => {
    const dir = service({ 'requirements.txt': 'fastapi\n', 'reqs.txt': 'fastapi\n' })
    expect(pythonProject(dir)).toMatchObject({
      kind: 'requirements',
      lockfile: path.join(dir, 'requirements.txt'),
      pluginHandles: true
    })
    expect(pythonProject(dir, { fileName: 'reqs.txt' })?.lockfile).toBe(path.join(dir, 'reqs.txt'))
  })

  test('Pipfile with Pipfile.lock: the plugin runs pipenv', () => {
    const dir = service(PIPENV)
    expect(pythonProject(dir)).toMatchObject({
      kind: 'pipenv',
      lockfile: path.join(dir, 'Pipfile.lock'),
      pluginHandles: true
    })
  })

  test('Poetry: the plugin exports it when the build-system is Poetry, else the action pins', () => {
    const dir = service(POETRY)
    expect(pythonProject(dir)).toMatchObject({
      kind: 'poetry',
      lockfile: path.join(dir, 'poetry.lock'),
      pluginHandles: true
    })
  })

  test('uv: always the action', () => {
    const dir = service(UV)
    expect(pythonProject(dir)).toMatchObject({
      kind: 'uv',
      lockfile: path.join(dir, 'uv.lock'),
      pluginHandles: false
    })
  })

  test.each([
    [{ Pipfile: { from: 'pipenv-pipenv/Pipfile' } }, /Pipfile has no Pipfile\.lock.*`pipenv lock`/],
    [
      { 'pyproject.toml': { from: 'poetry-itou-communaute/pyproject.toml' } },
      /pyproject\.toml has no poetry\.lock.*`poetry lock`/
    ],
    [
      { 'pyproject.toml': '[project]\nname = "x"\n[tool.uv]\npackage = false\n' },
      /pyproject\.toml has no uv\.lock.*`uv lock`/
    ]
  ])('a manifest without its lock: %#', (files, message) => {
    expect(error(() => pythonProject(service(files as Files))).message).toMatch(message)
  })

  test.each([
    [{ ...POETRY, 'requirements.txt': 'x\n' }, /poetry\.lock, requirements\.txt.*would package poetry\.lock/],
    [{ ...POETRY, 'uv.lock': { from: 'uv-anthropic-sdk/uv.lock' } }, /poetry\.lock, uv\.lock/],
    [
      { ...PIPENV, 'requirements.txt': 'x\n' },
      /Pipfile\.lock, requirements\.txt.*would package Pipfile\.lock/
    ],
    [{ ...UV, 'requirements.txt': 'x\n' }, /uv\.lock, requirements\.txt/],
    [{ ...UV, ...PIPENV }, /Pipfile\.lock, uv\.lock/]
  ])('ambiguous sources: %#', (files, message) => {
    const e = error(() => pythonProject(service(files as Files)))
    expect(e.message).toMatch(message)
    expect(e.message).toMatch(/custom\.pythonRequirements/)
  })

  test('an option that names the source settles it', () => {
    const dir = service({ ...POETRY, 'requirements.txt': 'x\n', ...PIPENV })
    expect(pythonProject(dir, { usePoetry: true })?.kind).toBe('poetry')
    expect(pythonProject(dir, { usePoetry: false, usePipenv: true })?.kind).toBe('pipenv')
    expect(pythonProject(dir, { usePoetry: false, usePipenv: false })?.kind).toBe('requirements')
    expect(pythonProject(dir, { fileName: 'requirements.txt' })?.kind).toBe('requirements')
  })

  test('a requirements file uv exported is uv.lock’s copy: uv.lock decides', () => {
    const dir = service({ ...UV, 'requirements.txt': { from: 'uv-anthropic-sdk/requirements-dev.lock' } })
    expect(pythonProject(dir)?.kind).toBe('uv')
  })
})

describe('pythonProject: lock freshness', () => {
  test.each([
    ['pipenv', PIPENV],
    [
      'pipenv examples',
      {
        Pipfile: { from: 'pipenv-pipenv-examples/Pipfile' },
        'Pipfile.lock': { from: 'pipenv-pipenv-examples/Pipfile.lock' }
      }
    ],
    ['poetry 1.8', POETRY],
    [
      'poetry 1.6',
      {
        'pyproject.toml': { from: 'poetry-saleor/pyproject.toml' },
        'poetry.lock': { from: 'poetry-saleor/poetry.lock' }
      }
    ],
    [
      'poetry 1.5',
      {
        'pyproject.toml': { from: 'poetry-xtb-trading/pyproject.toml' },
        'poetry.lock': { from: 'poetry-xtb-trading/poetry.lock' }
      }
    ],
    ['uv', UV],
    [
      'uv, first export',
      {
        'pyproject.toml': { from: 'uv-anthropic-sdk-first/pyproject.toml' },
        'uv.lock': { from: 'uv-anthropic-sdk-first/uv.lock' }
      }
    ],
    [
      'uv, dynamic dependencies',
      { 'pyproject.toml': { from: 'uv-jamun/pyproject.toml' }, 'uv.lock': { from: 'uv-jamun/uv.lock' } }
    ]
  ])('fresh: %s', (_, files) => {
    expect(pythonProject(service(files as Files))).toBeDefined()
  })

  test('stale poetry.lock: the pyproject of the next commit added dependencies', () => {
    const dir = service({
      'pyproject.toml': { from: 'poetry-xtb-trading/pyproject.later.toml' },
      'poetry.lock': { from: 'poetry-xtb-trading/poetry.lock' }
    })
    expect(error(() => pythonProject(dir)).message).toMatch(
      /poetry\.lock is out of date with pyproject\.toml.*`poetry lock`/
    )
  })

  test('stale uv.lock: the pyproject of the previous commit pins another version', () => {
    const dir = service({
      'pyproject.toml': { from: 'uv-anthropic-sdk/pyproject.earlier.toml' },
      'uv.lock': { from: 'uv-anthropic-sdk/uv.lock' }
    })
    expect(error(() => pythonProject(dir)).message).toMatch(
      /uv\.lock is out of date.*http-snapshot\[httpx\]==0\.1\.8.*`uv lock`/
    )
  })

  test('stale Pipfile.lock: a package added to the Pipfile', () => {
    const dir = service(PIPENV)
    writeFileSync(
      path.join(dir, 'Pipfile'),
      `${require_('pipenv-pipenv/Pipfile')}\n[packages.requests]\nversion = "*"\n`
    )
    expect(error(() => pythonProject(dir)).message).toMatch(
      /Pipfile\.lock is out of date with Pipfile.*`pipenv lock`/
    )
  })
})

function require_(fixture: string): string {
  return readFileSync(path.join(FIXTURES, fixture), 'utf8')
}

describe('lockedRequirements for Lambda', () => {
  test('uv: production pins only, markers evaluated for the target', () => {
    const project = pythonProject(service(UV))!
    const lines = lockedRequirements(project, { python: '3.12', platform: 'linux', machine: 'x86_64' })
    const names = lines.map(l => l.split(/[=\s@]/)[0])
    expect(names).toEqual(expect.arrayContaining(['httpx', 'pydantic']))
    expect(names).not.toContain('anthropic')
    expect(names).not.toContain('pytest')
    // typing-extensions and the like come with no marker left; nothing Windows-only comes at all.
    expect(names).not.toContain('colorama')
    // What remains of a marker is only what the target leaves open (a patch-level Python version).
    expect(
      lines
        .filter(l => l.includes(';'))
        .every(l => /python_full_version|platform_release|platform_version/.test(l))
    ).toBe(true)
  })

  test('poetry: every recorded hash, for wheels and sdists', () => {
    const project = pythonProject(service(POETRY))!
    const lines = lockedRequirements(project, { python: '3.12', platform: 'linux', machine: 'aarch64' })
    const anyio = lines.find(l => l.startsWith('anyio=='))!
    expect(anyio).toBe(
      'anyio==4.8.0 \\\n    --hash=sha256:1d9fe889df5212298c0c0723fa20479d1b94883a2df44bd3897aa91083316f7a \\\n    --hash=sha256:b5011f270ab5eb0abf13385f851315585cc37ef330dd88e27ec3d34d651fd47a'
    )
    expect(lines.every(l => l.includes('--hash=sha256:'))).toBe(true)
  })

  test('a marker on the machine follows the target, not the runner', () => {
    const dir = service({
      'pyproject.toml':
        '[project]\nname = "svc"\nversion = "0"\nrequires-python = ">=3.12"\ndependencies = ["a", "b"]\n',
      'uv.lock': [
        'version = 1',
        'requires-python = ">=3.12"',
        '[[package]]\nname = "svc"\nversion = "0"\nsource = { virtual = "." }\ndependencies = [{ name = "a", marker = "platform_machine == \'aarch64\'" }, { name = "b", marker = "platform_machine == \'x86_64\' and python_full_version < \'3.12.4\'" }]',
        '[package.metadata]\nrequires-dist = [{ name = "a" }, { name = "b" }]',
        '[[package]]\nname = "a"\nversion = "1.0"\nsource = { registry = "https://pypi.org/simple" }\nwheels = [{ url = "https://x/a.whl", hash = "sha256:aa" }]',
        '[[package]]\nname = "b"\nversion = "2.0"\nsource = { registry = "https://pypi.org/simple" }\nwheels = [{ url = "https://x/b.whl", hash = "sha256:bb" }]'
      ].join('\n')
    })
    const project = pythonProject(dir)!
    expect(lockedRequirements(project, { python: '3.12', platform: 'linux', machine: 'aarch64' })).toEqual([
      'a==1.0 \\\n    --hash=sha256:aa'
    ])
    expect(lockedRequirements(project, { python: '3.12', platform: 'linux', machine: 'x86_64' })).toEqual([
      "b==2.0 ; python_full_version < '3.12.4' \\\n    --hash=sha256:bb"
    ])
    expect(lockedRequirements(project, { python: '3.13', platform: 'linux', machine: 'x86_64' })).toEqual([])
  })
})
