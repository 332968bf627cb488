import { jest } from '@jest/globals'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { copyFixture, zipEntries } from '../support/fixture.js'
import { pipEnv } from '../support/pip.js'
import {
  buildPythonRelease,
  downloadSkipReason,
  pythonOnMachine,
  serveRelease,
  type ReleaseServer
} from '../support/python-release.js'
import { runAction, type ActionRun } from '../support/runner.js'

jest.setTimeout(600_000)

const source = pythonOnMachine('3.12')
const reason = downloadSkipReason('3.12')
if (reason) console.log(`Skipping the Python download e2e: ${reason}`)
const maybe = reason ? describe.skip : describe

maybe('a Python the runner lacks: manifest, download, setup.sh, tool cache, PATH', () => {
  let server: ReleaseServer
  let service: string
  let first: ActionRun

  beforeAll(async () => {
    const version = source!.version
    server = await serveRelease(buildPythonRelease(source!.executable, version), version)
    service = copyFixture('py312')
    first = await runAction({
      inputs: { command: 'package', 'working-directory': service },
      env: { ...pipEnv(), PYTHON_VERSIONS_MANIFEST_URL: server.manifestUrl }
    })
    if (first.exitCode !== 0) console.log(first.stdout.slice(-4000), first.stderr.slice(-2000))
  })

  afterAll(async () => {
    await server?.close()
  })

  it('downloads the build from the manifest and installs it with its setup.sh', () => {
    expect(first.exitCode).toBe(0)
    expect(server.requests).toEqual([
      '/versions-manifest.json',
      `/python-${source!.version}-linux-22.04-x64.tar.gz`
    ])
    const installed = path.join(first.home, 'tool-cache', 'Python', source!.version, 'x64')
    expect(existsSync(`${installed}.complete`)).toBe(true)
    expect(first.outputs['python-version']).toBe(source!.version)
    expect(first.stdout).toContain(`Python ${source!.version} (download): ${installed}/bin/python3`)
    expect(first.paths).toEqual(expect.arrayContaining([path.join(installed, 'bin')]))
  })

  it('packaged the requirements with that Python through pip', () => {
    const listing = zipEntries(path.join(service, '.serverless', 'py312-api.zip')).join('\n')
    expect(listing).toMatch(/^six\.py$/m)
    expect(listing).toMatch(/^handler\.py$/m)
  })

  it('finds it in the tool cache on the next run and downloads nothing', async () => {
    const before = server.requests.length
    const again = await runAction({
      inputs: { command: 'package', 'working-directory': service },
      env: { ...pipEnv(), PYTHON_VERSIONS_MANIFEST_URL: server.manifestUrl },
      home: first.home
    })
    expect(again.exitCode).toBe(0)
    expect(server.requests.length).toBe(before)
    expect(again.stdout).toContain(`Python ${source!.version} (tool-cache)`)
  })
})
