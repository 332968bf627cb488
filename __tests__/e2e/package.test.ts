import { jest } from '@jest/globals'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { copyFixture, invokeArtifact, zipEntries } from '../support/fixture.js'
import { pipEnv } from '../support/pip.js'
import { NODE24, runAction, type ActionRun } from '../support/runner.js'

jest.setTimeout(600_000)

describe('package a service that brings no package.json, with no AWS credentials at all', () => {
  let service: string
  let run: ActionRun

  beforeAll(async () => {
    service = copyFixture('service', { node: 'none' })
    // Without package.json the action provides serverless 3.x and the plugins serverless.yml names.
    run = await runAction({
      // The runner's Node 24 (action.yml: runs.using node24).
      node: NODE24,
      inputs: { command: 'package', 'working-directory': service, stage: 'prod', 'aws-region': 'us-east-1' },
      env: pipEnv()
    })
    if (run.exitCode !== 0) console.log(run.stdout.slice(-4000), run.stderr.slice(-2000))
  })

  it('succeeds with provided serverless 3.x and outputs no URL', () => {
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(
      /Providing serverless 3\.\d+\.\d+ and the plugins it may load from the action's lockfile, in \S+\/tool-cache\/serverless-python-deploy\/framework\/serverless-[0-9a-f]{16}/
    )
    // The runner's tool cache had it (a warm runner): proved against the lockfile, not installed.
    expect(run.stdout).toMatch(/node_modules is what package-lock\.json gives: \d{3} packages/)
    expect(run.outputs['serverless-version']).toMatch(/^3\./)
    expect(run.outputs.url ?? '').toBe('')
    expect(run.outputs['stack-name']).toBe('fixture-api-prod')
  })

  it('builds an artifact that serves GET / and GET /health from its own contents', () => {
    const artifact = path.join(service, '.serverless', 'fixture-api.zip')
    expect(existsSync(artifact)).toBe(true)
    const listing = zipEntries(artifact).join('\n')
    expect(listing).toContain('handler.py')
    expect(listing).toMatch(/^fastapi\//m)
    expect(listing).not.toMatch(/^node_modules\//m)

    const lines = invokeArtifact(artifact, 'handler.handler', ['/', '/health'])
    expect(lines.map(l => [l.path, l.statusCode, JSON.parse(l.body)])).toEqual([
      ['/', 200, { message: 'Hello from FastAPI on AWS Lambda' }],
      ['/health', 200, { status: 'ok' }]
    ])
  })

  it('reuses the provided serverless from the tool cache on the next run', async () => {
    const again = await runAction({
      // The runner's Node 24 (action.yml: runs.using node24).
      node: NODE24,
      inputs: { command: 'package', 'working-directory': service, stage: 'prod', 'aws-region': 'us-east-1' },
      env: pipEnv(),
      home: run.home
    })
    expect(again.exitCode).toBe(0)
    expect(again.stdout).not.toContain('[command]/usr/bin/npm')
    expect(again.stdout).toContain('node_modules is what package-lock.json gives')
  })

  it('runs the requested serverless-version and passes args through to serverless', async () => {
    const pinned = await runAction({
      // The runner's Node 24 (action.yml: runs.using node24).
      node: NODE24,
      inputs: {
        command: 'package',
        'working-directory': service,
        stage: 'prod',
        'aws-region': 'us-east-1',
        'serverless-version': '3.39.0',
        args: '--verbose'
      },
      env: pipEnv(),
      home: run.home
    })
    if (pinned.exitCode !== 0) console.log(pinned.stdout.slice(-4000))
    expect(pinned.exitCode).toBe(0)
    expect(pinned.outputs['serverless-version']).toBe('3.39.0')
    expect(pinned.stdout).toContain('Providing serverless 3.39.0 and the plugins it may load unlocked')
    expect(pinned.stdout).toContain(
      '[command]/usr/bin/npm install --no-package-lock --ignore-scripts --no-audit --no-fund'
    )
    expect(pinned.stdout).toMatch(
      /\[command\]\S+ \S+\/serverless\.js package --stage prod --region us-east-1 --verbose\n/
    )
  })
})
