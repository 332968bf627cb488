import { jest } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { zipEntries } from '../support/fixture.js'
import { pipEnv } from '../support/pip.js'
import {
  buildPythonRelease,
  serveRelease,
  testPython,
  unansweredShims,
  type ReleaseServer
} from '../support/python-release.js'
import { errorLines, parseError, runAction, type ActionRun } from '../support/runner.js'

jest.setTimeout(600_000)

/**
 * A Python the runner lacks: manifest, download, setup.sh, tool cache, PATH. The release is built from
 * the Python that runs the tests, so this runs on any machine (GitHub's runners included); every
 * Python of that version on the machine is hidden behind commands that do not run, as pyenv's shims
 * for unselected versions do, so the action must download it.
 */
const source = testPython()

describe('a Python the runner lacks: manifest, download, setup.sh, tool cache, PATH', () => {
  let server: ReleaseServer
  let tarball: string
  let shims: string
  let service: string
  let first: ActionRun
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'python-download-'))
  /** setup.sh adds a line to it each time it runs. */
  const ranLog = path.join(scratch, 'setup-ran')
  const setupRuns = () =>
    existsSync(ranLog) ? readFileSync(ranLog, 'utf8').split('\n').filter(Boolean).length : 0
  const env = () => ({
    ...pipEnv(),
    PYTHON_VERSIONS_MANIFEST_URL: server.manifestUrl,
    PATH: [shims, process.env.PATH].join(path.delimiter)
  })

  beforeAll(async () => {
    tarball = buildPythonRelease(source.executable, source.version, 'x64', { ranLog })
    server = await serveRelease(tarball, source.version)
    shims = unansweredShims(['python', 'python3', `python${source.minor}`])
    service = path.join(scratch, 'service')
    mkdirSync(service)
    writeFileSync(
      path.join(service, 'serverless.yml'),
      `service: download-api\nframeworkVersion: '3'\nprovider:\n  name: aws\n  runtime: python${source.minor}\nfunctions:\n  hello:\n    handler: handler.hello\nplugins:\n  - serverless-python-requirements\n`
    )
    writeFileSync(path.join(service, 'requirements.txt'), 'six\n')
    writeFileSync(
      path.join(service, 'handler.py'),
      'import six\n\ndef hello(event, context):\n    return six.__version__\n'
    )
    first = await runAction({ inputs: { command: 'package', 'working-directory': service }, env: env() })
    if (first.exitCode !== 0) console.log(first.stdout.slice(-4000), first.stderr.slice(-2000))
  })

  afterAll(async () => {
    await server?.close()
    rmSync(shims, { recursive: true, force: true })
    rmSync(path.dirname(tarball), { recursive: true, force: true })
    rmSync(scratch, { recursive: true, force: true })
  })

  it('downloads the build from the manifest and installs it with its setup.sh', () => {
    expect(first.exitCode).toBe(0)
    expect(server.requests).toEqual([
      '/versions-manifest.json',
      `/python-${source.version}-linux-22.04-x64.tar.gz`
    ])
    const installed = path.join(first.home, 'tool-cache', 'Python', source.version, 'x64')
    expect(existsSync(`${installed}.complete`)).toBe(true)
    expect(setupRuns()).toBe(1)
    expect(first.outputs['python-version']).toBe(source.version)
    expect(first.stdout).toContain(`Python ${source.version} (download): ${installed}/bin/python3`)
    expect(first.paths).toEqual(expect.arrayContaining([path.join(installed, 'bin')]))
  })

  it('packaged the requirements with that Python through pip', () => {
    const listing = zipEntries(path.join(service, '.serverless', 'download-api.zip')).join('\n')
    expect(listing).toMatch(/^six\.py$/m)
    expect(listing).toMatch(/^handler\.py$/m)
    expect(listing).toMatch(
      new RegExp(`^__pycache__/handler\\.cpython-${source.minor.replace('.', '')}\\.pyc$`, 'm')
    )
  })

  it('finds it in the tool cache on the next run and downloads nothing', async () => {
    const before = server.requests.length
    const again = await runAction({
      inputs: { command: 'package', 'working-directory': service },
      env: env(),
      home: first.home
    })
    expect(again.exitCode).toBe(0)
    expect(server.requests.length).toBe(before)
    expect(again.stdout).toContain(`Python ${source.version} (tool-cache)`)
    expect(setupRuns()).toBe(1)
  })

  /** A package run on a fresh runner home, so the Python must be downloaded again. */
  const refusedRun = async (manifestUrl: string) => {
    const run = await runAction({
      inputs: { command: 'package', 'working-directory': service },
      env: { ...env(), PYTHON_VERSIONS_MANIFEST_URL: manifestUrl }
    })
    const errors = errorLines(run)
    expect(run.exitCode).toBe(1)
    expect(errors).toHaveLength(1)
    // nothing reached the tool cache, and serverless never ran
    expect(existsSync(path.join(run.home, 'tool-cache', 'Python', source.version))).toBe(false)
    expect(run.stdout).not.toMatch(/\[command\]\S*serverless/)
    return parseError(errors[0])
  }

  it('refuses a manifest over http, and asks it nothing', async () => {
    const plain = server.manifestUrl.replace('https://', 'http://')
    const before = server.requests.length
    const error = await refusedRun(plain)
    expect(error.properties.title).toBe('Python download refused')
    expect(error.message).toBe(
      `The Python versions manifest is '${plain}': Python builds are downloaded over https only, so that what setup.sh installs is what was published. Use an https:// URL.`
    )
    expect(server.requests.length).toBe(before)
    expect(setupRuns()).toBe(1)
  })

  it('refuses a build whose sha256 is not the one the manifest gives, before setup.sh runs', async () => {
    const wrong = await serveRelease(tarball, source.version, 'x64', { sha256: 'ab'.repeat(32) })
    try {
      const error = await refusedRun(wrong.manifestUrl)
      expect(error.message).toMatch(
        new RegExp(
          `^The Python ${source.version.replace(/\./g, '\\.')} build from \\S+ has sha256 [0-9a-f]{64}, not ${'ab'.repeat(32)}: it is not what was published\\. Nothing was installed\\.$`
        )
      )
      // it was downloaded, and its installer never ran
      expect(wrong.requests).toEqual(['/versions-manifest.json', `/${path.basename(tarball)}`])
      expect(setupRuns()).toBe(1)
    } finally {
      await wrong.close()
    }
  })
})
