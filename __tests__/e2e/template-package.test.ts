import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { zipEntries } from '../support/fixture.js'
import { localPipIndexEnv } from '../support/pip.js'
import { runAction, type ActionRun } from '../support/runner.js'
import { applyTemplate } from '../template/helpers.js'

jest.setTimeout(600_000)

/** Whether pip can resolve mangum here (CI machines resolve from a local index that lacks it). */
function mangumResolvable(): boolean {
  try {
    execFileSync(
      'python3',
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--quiet',
        '-d',
        mkdtempSync(path.join(os.tmpdir(), 'mangum-')),
        'mangum'
      ],
      {
        env: { ...process.env, ...localPipIndexEnv() },
        stdio: 'ignore'
      }
    )
    return true
  } catch {
    return false
  }
}

const withMangum = mangumResolvable()
if (!withMangum)
  console.log(
    'mangum cannot be resolved by pip on this machine: the template is packaged once as it is (expecting pip to name mangum) and once without mangum'
  )

describe('the action packages a project applied from the devcontainer template', () => {
  let project: string
  let first: ActionRun

  beforeAll(async () => {
    project = path.join(mkdtempSync(path.join(os.tmpdir(), 'template-')), 'project')
    applyTemplate(project)
    first = await runAction({
      inputs: { command: 'package', 'working-directory': project },
      env: localPipIndexEnv()
    })
  })

  it(withMangum ? 'packages it as applied' : 'stops with pip naming mangum, having deployed nothing', () => {
    if (withMangum) {
      expect(first.exitCode).toBe(0)
      expect(existsSync(path.join(project, '.serverless', 'fastapi-lambda.zip'))).toBe(true)
    } else {
      expect(first.exitCode).toBe(1)
      const errors = first.stdout.split('\n').filter(line => line.startsWith('::error'))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(/pip could not install mangum from the service's requirements\.txt/)
    }
    expect(first.summary).toContain('<td>Service</td><td>fastapi-lambda</td>')
  })

  it('packages it with its own serverless and plugins once what pip can resolve is all it needs', async () => {
    const requirements = path.join(project, 'requirements.txt')
    if (!withMangum) {
      writeFileSync(requirements, readFileSync(requirements, 'utf8').replace(/^mangum.*$/m, ''))
    }
    const run = await runAction({
      inputs: { command: 'package', 'working-directory': project },
      env: localPipIndexEnv(),
      home: first.home
    })
    if (run.exitCode !== 0) console.log(run.stdout.slice(-4000))
    expect(run.exitCode).toBe(0)
    expect(run.outputs).toMatchObject({
      service: 'fastapi-lambda',
      stage: 'dev',
      region: 'us-east-1',
      url: ''
    })
    expect(run.outputs['python-version']).toMatch(/^3\.11\./)
    expect(run.outputs['serverless-version']).toBe('3.40.0')
    // node_modules was installed by the first run from the template's lockfile and is not installed again.
    expect(run.stdout).toContain('npm ci skipped')
    const listing = zipEntries(path.join(project, '.serverless', 'fastapi-lambda.zip')).join('\n')
    expect(listing).toMatch(/^main\.py$/m)
    expect(listing).toMatch(/^api\.py$/m)
    expect(listing).toMatch(/^fastapi\//m)
    expect(listing).not.toMatch(/^(node_modules|tests|uvicorn)\//m)
  })
})
