import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  buildPythonRelease,
  serveRelease,
  testPython,
  unansweredShims,
  type ReleaseServer
} from '../support/python-release.js'
import { buildWheelhouse } from '../support/wheelhouse.js'

// @actions/tool-cache and @actions/core take these from the environment: set them before importing.
const home = mkdtempSync(path.join(os.tmpdir(), 'unit-python-'))
const saved = { ...process.env }
process.env.RUNNER_TOOL_CACHE = path.join(home, 'tool-cache')
process.env.RUNNER_TEMP = path.join(home, 'temp')
process.env.GITHUB_PATH = path.join(home, 'github-path')
mkdirSync(process.env.RUNNER_TOOL_CACHE)
mkdirSync(process.env.RUNNER_TEMP)
writeFileSync(process.env.GITHUB_PATH, '')

const { download, expose, findOnPath, pickRelease, probe, setupPython } = await import('../../src/python.js')
const { UserError } = await import('../../src/errors.js')
const { actionsExecRunner } = await import('../../src/exec.js')
const { actionsRunner } = await import('../../src/runner.js')

/** The action's edges for Python, as the runner gives them: the real exec, this process's environment, GITHUB_PATH. */
function deps() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >
  return { exec: actionsExecRunner, env, setupEnv: env, log: () => undefined, addPath: actionsRunner.addPath }
}

jest.setTimeout(120_000)

afterAll(() => {
  for (const key of ['RUNNER_TOOL_CACHE', 'RUNNER_TEMP', 'GITHUB_PATH', 'PATH']) {
    if (saved[key] === undefined) delete process.env[key]
    else process.env[key] = saved[key]
  }
})

/** The OS version @actions/tool-cache compares platform_version with. */
function osVersion(): string {
  const file = ['/etc/lsb-release', '/etc/os-release'].find(f => existsSync(f))
  const text = file ? readFileSync(file, 'utf8') : ''
  const line = text.split('\n').find(l => /^(VERSION_ID|DISTRIB_RELEASE)=/.test(l))
  return line ? line.split('=')[1].trim().replace(/^"|"$/g, '') : ''
}

/**
 * Jest gives tests a copy of process.env, and child processes started without an explicit env (as
 * python.ts starts setup.sh) see the real one, which lacks RUNNER_TOOL_CACHE. The release's setup.sh
 * is repacked so that it defaults to this test's tool cache instead of installing into /Python.
 */
function withToolCacheDefault(tarball: string): string {
  const tree = mkdtempSync(path.join(os.tmpdir(), 'unit-release-'))
  execFileSync('tar', ['-xzf', tarball, '-C', tree])
  const setup = path.join(tree, 'setup.sh')
  const script = readFileSync(setup, 'utf8').replace(
    'set -e\n',
    `set -e\nRUNNER_TOOL_CACHE="\${RUNNER_TOOL_CACHE:-${process.env.RUNNER_TOOL_CACHE}}"\n`
  )
  expect(script).toContain(process.env.RUNNER_TOOL_CACHE)
  writeFileSync(setup, script, { mode: 0o755 })
  const repacked = path.join(mkdtempSync(path.join(os.tmpdir(), 'unit-release-')), path.basename(tarball))
  execFileSync('tar', ['-czf', repacked, '-C', tree, '.'])
  return repacked
}

describe('pickRelease', () => {
  const arch = os.arch()
  const file = (platform_version: string | undefined, url: string, platform: string = process.platform) => ({
    filename: url,
    platform,
    platform_version,
    arch,
    download_url: `https://example.test/${url}`
  })
  const release = (version: string, files: ReturnType<typeof file>[], stable = true) => ({
    version,
    stable,
    release_url: '',
    files
  })
  const here = osVersion()
  const fallbackVersions = ['20.04', '24.04']

  if (!here) console.log('Skipping the exact platform_version match: the OS version is unknown')
  ;(here ? it : it.skip)('takes the build made for this exact OS version', async () => {
    const manifest = [release('3.12.1', [file('99.04', 'newer.tar.gz'), file(here, 'exact.tar.gz')])]
    expect(await pickRelease(manifest, '3.12', arch)).toEqual({
      version: '3.12.1',
      url: 'https://example.test/exact.tar.gz'
    })
  })

  const exactly = fallbackVersions.includes(here)
  if (exactly)
    console.log(`Skipping the fallback case: this machine is ${here}, which the manifest matches exactly`)
  ;(exactly ? it.skip : it)('falls back to the newest build for this platform and arch', async () => {
    const manifest = [
      release('3.13.0', [file('24.04', '3.13.tar.gz')]),
      release('3.12.4', [file('24.04', 'beta.tar.gz')], false),
      release('3.12.3', [file('14', 'mac.tar.gz', 'darwin')]),
      release('3.12.2', [
        file('20.04', 'old.tar.gz'),
        file('24.04', 'new.tar.gz'),
        { ...file('26.04', 'arm.tar.gz'), arch: arch === 'x64' ? 'arm64' : 'x64' }
      ]),
      release('3.12.1', [file('24.04', 'older-release.tar.gz')])
    ]
    expect(await pickRelease(manifest, '3.12', arch)).toEqual({
      version: '3.12.2',
      url: 'https://example.test/new.tar.gz'
    })
    expect(await pickRelease(manifest, '3.12.1', arch)).toEqual({
      version: '3.12.1',
      url: 'https://example.test/older-release.tar.gz'
    })
  })

  it('is undefined when nothing fits this machine or the version', async () => {
    const manifest = [
      release('3.12.1', [file('14', 'mac.tar.gz', process.platform === 'darwin' ? 'linux' : 'darwin')])
    ]
    expect(await pickRelease(manifest, '3.12', arch)).toBeUndefined()
    expect(await pickRelease(manifest, '3.9', arch)).toBeUndefined()
    expect(await pickRelease([], '3.12', arch)).toBeUndefined()
  })
})

describe('findOnPath', () => {
  const onPath = execFileSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8'
  }).trim()

  it("finds PATH's python3 by its version", async () => {
    const found = await findOnPath(onPath, deps())
    expect(found?.source).toBe('path')
    expect(found?.version.startsWith(`${onPath}.`)).toBe(true)
    expect(existsSync(found!.executable)).toBe(true)
    expect(await findOnPath(`${onPath}.999`, deps())).toBeUndefined()
  })

  it('runs candidates rather than trusting a shim that does not run', async () => {
    // python3.X exists first on PATH but exits 127, as an unselected pyenv shim does; python3 answers.
    const shims = unansweredShims([`python${onPath}`])
    const before = process.env.PATH
    process.env.PATH = [shims, before].join(path.delimiter)
    try {
      expect(await probe(`python${onPath}`, deps())).toBeUndefined()
      const found = await findOnPath(onPath, deps())
      expect(found?.executable).toBe(
        execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim()
      )
    } finally {
      process.env.PATH = before
      rmSync(shims, { recursive: true, force: true })
    }
  })
})

describe('expose', () => {
  let before: string | undefined
  beforeEach(() => {
    before = process.env.PATH
    writeFileSync(process.env.GITHUB_PATH!, '')
  })
  afterEach(() => {
    process.env.PATH = before
  })

  it('writes python, python3, python3.X and pip wrappers that run the interpreter, first on PATH', async () => {
    const real = (await probe('python3', deps()))!
    // An awkward folder name proves the wrapper quotes the interpreter's path.
    const odd = path.join(mkdtempSync(path.join(os.tmpdir(), 'unit-expose-')), "it's here")
    mkdirSync(odd)
    symlinkSync(real.executable, path.join(odd, 'python3'))
    const binDir = path.join(home, 'bin-path')
    const minor = real.version.split('.').slice(0, 2).join('.')

    expose(
      { version: real.version, executable: path.join(odd, 'python3'), machine: real.machine, source: 'path' },
      binDir,
      actionsRunner.addPath
    )

    for (const name of ['python', 'python3', `python${minor}`, 'pip', 'pip3', `pip${minor}`]) {
      expect(statSync(path.join(binDir, name)).mode & 0o111).toBe(0o111)
    }
    const version = execFileSync(
      path.join(binDir, `python${minor}`),
      ['-c', 'import sys; print(sys.version)'],
      {
        encoding: 'utf8'
      }
    )
    expect(version.startsWith(`${real.version} `)).toBe(true)
    const pip = execFileSync(path.join(binDir, 'pip'), ['--version'], { encoding: 'utf8' })
    expect(pip).toMatch(new RegExp(`\\(python ${minor.replace('.', '\\.')}\\)`))
    const entries = process.env.PATH!.split(path.delimiter)
    expect(entries[0]).toBe(binDir)
    expect(entries[1]).toBe(before!.split(path.delimiter)[0])
    expect(readFileSync(process.env.GITHUB_PATH!, 'utf8').trim().split('\n')).toEqual([binDir])
    const first = execFileSync('sh', ['-c', 'command -v python3'], {
      encoding: 'utf8',
      env: process.env
    }).trim()
    expect(first).toBe(path.join(binDir, 'python3'))
  })

  it("writes no bytecode for serverless-python-requirements' pip while the action packages, and does elsewhere", async () => {
    const real = (await probe('python3', deps()))!
    const binDir = path.join(home, 'bin-compile')
    const minor = real.version.split('.').slice(0, 2).join('.')
    expose({ ...real, source: 'path' }, binDir, actionsRunner.addPath)
    const wheelhouse = buildWheelhouse()
    const pycs = (marker: Record<string, string>): string[] => {
      const target = mkdtempSync(path.join(home, 'target-'))
      execFileSync(
        path.join(binDir, `python${minor}`),
        // As the plugin calls it; --isolated keeps the user's pip configuration and caches out.
        [
          '-m',
          'pip',
          'install',
          '--isolated',
          '--no-cache-dir',
          '--no-index',
          '--find-links',
          wheelhouse,
          '--platform',
          'manylinux2014_x86_64',
          '--implementation',
          'cp',
          '--python-version',
          '3.11',
          '--only-binary=:all:',
          '-t',
          target,
          'spdx86only'
        ],
        { env: { ...process.env, ...marker }, stdio: 'pipe' }
      )
      expect(existsSync(path.join(target, 'spdx86only', '__init__.py'))).toBe(true)
      return execFileSync('find', [target, '-name', '*.pyc'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
    }
    try {
      expect(pycs({ SPD_PIP_NO_COMPILE: '1' })).toEqual([])
      // Without the marker (a later step's own pip), pip compiles as it always does.
      expect(pycs({})).toEqual([
        expect.stringMatching(/spdx86only\/__pycache__\/__init__\.cpython-\d+\.pyc$/)
      ])
    } finally {
      rmSync(wheelhouse, { recursive: true, force: true })
    }
  })

  it("also puts a tool-cache build's own bin folder on PATH", () => {
    const binDir = path.join(home, 'bin-cache')
    const executable = path.join(home, 'fake-cache', 'bin', 'python3')
    expose(
      { version: '3.12.1', executable, machine: 'x86_64', source: 'tool-cache' },
      binDir,
      actionsRunner.addPath
    )
    expect(process.env.PATH!.split(path.delimiter).slice(0, 2)).toEqual([binDir, path.dirname(executable)])
    expect(existsSync(path.join(binDir, 'python3.12'))).toBe(true)
  })
})

// The release is built from the Python that runs the tests; every Python of that version is hidden.
const source = testPython()

describe('download and setupPython from a loopback release', () => {
  let server: ReleaseServer
  let before: string | undefined
  let shims: string
  const binDir = path.join(home, 'bin-setup')

  beforeAll(async () => {
    before = process.env.PATH
    shims = unansweredShims(['python', 'python3', `python${source.minor}`])
    process.env.PATH = [shims, before].join(path.delimiter)
    const tarball = withToolCacheDefault(buildPythonRelease(source.executable, source.version))
    server = await serveRelease(tarball, source.version)
  })
  afterAll(async () => {
    process.env.PATH = before
    rmSync(shims, { recursive: true, force: true })
    await server?.close()
  })

  const installedDir = () => path.join(process.env.RUNNER_TOOL_CACHE!, 'Python', source.version, 'x64')

  it('refuses a manifest over http before asking it anything, and installs nothing', async () => {
    const count = server.requests.length
    const plain = server.manifestUrl.replace(/^https:/, 'http:')
    const failure = download(
      source.minor,
      'x64',
      { manifestUrl: plain, apiUrl: 'https://api.invalid' },
      deps()
    )
    await expect(failure).rejects.toThrow(
      `The Python versions manifest is '${plain}': Python builds are downloaded over https only`
    )
    expect(server.requests.length).toBe(count)
    expect(existsSync(installedDir())).toBe(false)
  })

  it('refuses a build whose sha256 is not the manifest’s, before its setup.sh runs', async () => {
    const tarball = withToolCacheDefault(buildPythonRelease(source.executable, source.version))
    const tampered = await serveRelease(tarball, source.version, 'x64', { sha256: '0'.repeat(64) })
    try {
      const failure = download(
        source.minor,
        'x64',
        { manifestUrl: tampered.manifestUrl, apiUrl: 'https://api.invalid' },
        deps()
      )
      await expect(failure).rejects.toBeInstanceOf(UserError)
      await expect(failure).rejects.toThrow(
        /has sha256 [0-9a-f]{64}, not 0{64}: it is not what was published\. Nothing was installed\./
      )
      expect(tampered.requests).toEqual([
        '/versions-manifest.json',
        `/python-${source.version}-linux-22.04-x64.tar.gz`
      ])
      expect(existsSync(installedDir())).toBe(false)
    } finally {
      await tampered.close()
    }
  })

  it('refuses a pinned manifest that is not the one pinned', async () => {
    const failure = download(
      source.minor,
      'x64',
      { manifestUrl: server.manifestUrl, manifestSha256: 'f'.repeat(64), apiUrl: 'https://api.invalid' },
      deps()
    )
    await expect(failure).rejects.toThrow(
      `The Python versions manifest from ${server.manifestUrl} is not the pinned one`
    )
    expect(existsSync(installedDir())).toBe(false)
  })

  it('names the version and where it looked when the manifest’s host cannot be reached', async () => {
    const failure = download(
      source.minor,
      'x64',
      { manifestUrl: 'https://python-builds.invalid/versions-manifest.json', apiUrl: 'https://api.invalid' },
      deps()
    )
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^Python ${source.minor.replace('.', '\\.')} is not on this runner \\(not on PATH, not in the tool cache\\), and its versions manifest could not be read from python-builds\\.invalid \\((ENOTFOUND|EAI_AGAIN)`
      )
    )
  })

  it('downloads the build, runs its setup.sh into the tool cache and exposes it', async () => {
    const asked = server.requests.length
    const installed = path.join(process.env.RUNNER_TOOL_CACHE!, 'Python', source.version, 'x64')
    const python = await setupPython(
      {
        version: source.minor,
        arch: 'x64',
        source: { manifestUrl: server.manifestUrl, apiUrl: 'https://api.invalid' },
        binDir
      },
      deps()
    )
    expect(python).toEqual({
      version: source.version,
      executable: path.join(installed, 'bin', 'python3'),
      // The build is this machine's: platform.machine() names its architecture.
      machine: ({ x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[os.arch()],
      source: 'download',
      shims: binDir
    })
    expect(server.requests.slice(asked)).toEqual([
      '/versions-manifest.json',
      `/python-${source.version}-linux-22.04-x64.tar.gz`
    ])
    expect(existsSync(`${installed}.complete`)).toBe(true)
    expect(process.env.PATH!.split(path.delimiter).slice(0, 2)).toEqual([binDir, path.join(installed, 'bin')])
    const version = execFileSync(path.join(binDir, 'python3'), ['-c', 'import sys; print(sys.version)'], {
      encoding: 'utf8'
    })
    expect(version.startsWith(`${source.version} `)).toBe(true)
    expect(execFileSync(path.join(binDir, 'pip'), ['--version'], { encoding: 'utf8' })).toContain(
      `(python ${source.minor})`
    )
  })

  it('finds it in the tool cache the next time and downloads nothing', async () => {
    // A later job starts from the runner's PATH, without the first run's wrappers.
    process.env.PATH = [shims, before].join(path.delimiter)
    const count = server.requests.length
    const python = await setupPython(
      {
        version: source.minor,
        arch: 'x64',
        source: { manifestUrl: server.manifestUrl, apiUrl: 'https://api.invalid' },
        binDir
      },
      deps()
    )
    expect(python.source).toBe('tool-cache')
    expect(server.requests.length).toBe(count)
  })

  it('fails with a UserError for a version the manifest lacks', async () => {
    const failure = download(
      '3.9',
      'x64',
      { manifestUrl: server.manifestUrl, apiUrl: 'https://api.invalid' },
      deps()
    )
    await expect(failure).rejects.toBeInstanceOf(UserError)
    await expect(failure).rejects.toThrow(
      `Python 3.9 has no build for ${process.platform}/x64 in ${server.manifestUrl}`
    )
  })
})
