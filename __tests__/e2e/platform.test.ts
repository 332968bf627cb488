import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { zipEntries } from '../support/fixture.js'
import { localPipIndexEnv } from '../support/pip.js'
import { errorLines, NODE24, runAction, type ActionRun } from '../support/runner.js'
import { buildWheelhouse } from '../support/wheelhouse.js'

jest.setTimeout(600_000)

/**
 * Lambda-correct dependencies without Docker, through dist/index.js: pip is asked for the Lambda
 * platform of serverless.yml, not the runner's. A wheelhouse of test-made wheels stands in for the
 * public index (the machine's own index has x86_64 wheels only).
 */

let wheelhouse: string
let home: string | undefined
const scratch = mkdtempSync(path.join(os.tmpdir(), 'platform-'))

function service(name: string, requirements: string[], extra = ''): string {
  const dir = path.join(scratch, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    path.join(dir, 'serverless.yml'),
    `service: ${name}\nframeworkVersion: '3'\nprovider:\n  name: aws\n  runtime: python3.11\n  architecture: arm64\nfunctions:\n  api:\n    handler: handler.handler\nplugins:\n  - serverless-python-requirements\n${extra}`
  )
  writeFileSync(path.join(dir, 'requirements.txt'), `${requirements.join('\n')}\n`)
  writeFileSync(
    path.join(dir, 'handler.py'),
    'def handler(event, context):\n    return {"statusCode": 200}\n'
  )
  return dir
}

async function packageService(dir: string): Promise<ActionRun> {
  const run = await runAction({
    inputs: { command: 'package', 'working-directory': dir },
    // Only the test wheelhouse and the local index: nothing else can answer for aarch64.
    env: { ...localPipIndexEnv(), PIP_FIND_LINKS: wheelhouse },
    node: NODE24,
    home
  })
  home = run.home
  return run
}

/** A file's text inside a zip. */
function zipText(zip: string, name: string): string {
  return execFileSync(
    'python3',
    ['-c', 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())', zip, name],
    {
      encoding: 'utf8'
    }
  )
}

beforeAll(() => {
  wheelhouse = buildWheelhouse()
})

afterAll(() => {
  rmSync(wheelhouse, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
})

describe('architecture: arm64', () => {
  it('gets aarch64 wheels, and builds a pure-Python sdist-only package', async () => {
    const dir = service('arm-api', ['spdnative==1.0', 'spdpure'])
    const run = await packageService(dir)
    if (run.exitCode !== 0) console.log(run.stdout.slice(-4000))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('pip builds for Lambda: arm64, CPython 3.11, manylinux_2_26_aarch64')
    // An x86_64 Python cannot load the aarch64 extension, qemu-user or not: only the static checks run.
    expect(run.stdout).toMatch(
      /Artifact verified: static: 1 zip, \d+ packages, 0 problems \([\d.]+ s\); dynamic: not run \(the action's Python is x86_64, which cannot load arm64 code; run the job on an arm64 runner for it\)/
    )
    const zip = path.join(dir, '.serverless', 'arm-api.zip')
    const entries = zipEntries(zip)
    expect(zipText(zip, 'spdnative/__init__.py')).toContain("ARCH = 'aarch64'")
    expect(zipText(zip, 'spdnative-1.0.dist-info/WHEEL')).toContain('Tag: cp311-cp311-manylinux2014_aarch64')
    expect(entries).toContain('spdpure.py')
    expect(zipText(zip, 'spdpure-1.0.dist-info/WHEEL')).toMatch(/Tag: py3-none-any/)
    // Bytecode for the runtime's Python, for the wheels and the service's own module.
    expect(entries).toEqual(
      expect.arrayContaining([
        '__pycache__/handler.cpython-311.pyc',
        'spdnative/__pycache__/__init__.cpython-311.pyc'
      ])
    )
  })

  it('fails for a package with no wheel for aarch64, naming the package, its version and the platform', async () => {
    const run = await packageService(service('arm-x86only', ['spdx86only']))
    expect(run.exitCode).toBe(1)
    const errors = errorLines(run)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/spdx86only 1\.0 has no wheel for manylinux2014_aarch64 \(CPython 3\.11\)/)
  })

  it('keeps a --platform the service names itself', async () => {
    const dir = service(
      'arm-own-platform',
      ['spdnative==1.0'],
      "custom:\n  pythonRequirements:\n    pipCmdExtraArgs:\n      - '--platform manylinux2014_x86_64'\n      - '--only-binary=:all:'\n"
    )
    const run = await packageService(dir)
    if (run.exitCode !== 0) console.log(run.stdout.slice(-4000))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain("pip's --platform comes from the service's own pipCmdExtraArgs")
    expect(zipText(path.join(dir, '.serverless', 'arm-own-platform.zip'), 'spdnative/__init__.py')).toContain(
      "ARCH = 'x86_64'"
    )
  })
})
