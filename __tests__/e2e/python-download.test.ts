import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { copyFixture } from '../support/fixture.js'
import { localPipIndexEnv } from '../support/pip.js'
import {
  buildPythonRelease,
  pythonOnMachine,
  serveRelease,
  type ReleaseServer
} from '../support/python-release.js'
import { runAction, type ActionRun } from '../support/runner.js'

jest.setTimeout(600_000)

const source = pythonOnMachine('3.12')
const onPath =
  execFileSync('sh', ['-c', 'python3.12 -c pass 2>/dev/null && echo yes || echo no'], {
    encoding: 'utf8'
  }).trim() === 'yes'
const reason = !source
  ? 'no Python 3.12 on this machine to build a release from'
  : onPath
    ? 'python3.12 already answers on PATH, so nothing would be downloaded'
    : ''
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
      env: { ...localPipIndexEnv(), PYTHON_VERSIONS_MANIFEST_URL: server.manifestUrl }
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
    const listing = execFileSync(
      'python3',
      [
        '-c',
        'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))',
        path.join(service, '.serverless', 'py312-api.zip')
      ],
      { encoding: 'utf8' }
    )
    expect(listing).toMatch(/^six\.py$/m)
    expect(listing).toMatch(/^handler\.py$/m)
  })

  it('finds it in the tool cache on the next run and downloads nothing', async () => {
    const before = server.requests.length
    const again = await runAction({
      inputs: { command: 'package', 'working-directory': service },
      env: { ...localPipIndexEnv(), PYTHON_VERSIONS_MANIFEST_URL: server.manifestUrl },
      home: first.home
    })
    expect(again.exitCode).toBe(0)
    expect(server.requests.length).toBe(before)
    expect(again.stdout).toContain(`Python ${source!.version} (tool-cache)`)
  })
})
