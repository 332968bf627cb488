import { jest } from '@jest/globals'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { invokeArtifact, zipCompression, zipEntries } from '../support/fixture.js'
import { pipEnv } from '../support/pip.js'
import { NODE24, runAction, type ActionRun } from '../support/runner.js'
import { applyTemplate, PACKAGED_HERE } from '../template/helpers.js'

jest.setTimeout(600_000)

describe('the action packages a project applied from the devcontainer template', () => {
  let project: string
  let first: ActionRun

  beforeAll(async () => {
    project = path.join(mkdtempSync(path.join(os.tmpdir(), 'template-')), 'project')
    applyTemplate(project, PACKAGED_HERE)
    first = await runAction({
      inputs: { command: 'package', 'working-directory': project },
      env: pipEnv(),
      node: NODE24
    })
    if (first.exitCode !== 0) console.log(first.stdout.slice(-4000))
  })

  it('packages it as applied, with its own serverless and plugins, and real Mangum', () => {
    expect(first.exitCode).toBe(0)
    expect(first.outputs).toMatchObject({
      service: 'fastapi-lambda',
      stage: 'dev',
      region: 'us-east-1'
    })
    expect(first.outputs.url ?? '').toBe('')
    expect(first.outputs['python-version']).toMatch(/^3\.11\./)
    // The framework the template pins (osls, the maintained v3 fork), as its package.json says.
    const pinned = (
      JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as {
        devDependencies: Record<string, string>
      }
    ).devDependencies.osls
    expect(pinned).toMatch(/^3\.\d+\.\d+$/)
    expect(first.outputs['serverless-version']).toBe(`osls ${pinned}`)
    expect(first.summary).toContain('<td>Service</td><td>fastapi-lambda</td>')
    const artifact = path.join(project, '.serverless', 'fastapi-lambda.zip')
    expect(existsSync(artifact)).toBe(true)
    const listing = zipEntries(artifact).join('\n')
    expect(listing).toMatch(/^main\.py$/m)
    expect(listing).toMatch(/^api\.py$/m)
    expect(listing).toMatch(/^fastapi\//m)
    expect(listing).toMatch(/^mangum\//m)
    expect(listing).not.toMatch(/^(node_modules|tests|uvicorn)\//m)
    // Bytecode for the runtime's own Python, the service's modules included.
    expect(listing).toMatch(/^__pycache__\/main\.cpython-311\.pyc$/m)
    expect(listing).toMatch(/^fastapi\/__pycache__\/applications\.cpython-311\.pyc$/m)
    // pydantic-core, the one binary dependency, is the manylinux x86_64 build.
    expect(listing).toMatch(/^pydantic_core\/_pydantic_core\.cpython-311-x86_64-linux-gnu\.so$/m)
    expect(listing).toMatch(/^pydantic_core-[\d.]+\.dist-info\/WHEEL$/m)
    expect(Number(first.outputs['artifact-size'])).toBeGreaterThan(1_000_000)
    // serverless-python-requirements stored its zip (the dependencies' hundreds of entries), and the
    // action compressed every entry, once.
    const made = /fastapi-lambda\.zip: bytecode for (\d+) modules, (\d+) stored entries compressed/.exec(
      first.stdout
    )
    const [compiled, stored] = [Number(made?.[1]), Number(made?.[2])]
    expect(stored).toBeGreaterThan(300)
    // pip wrote no bytecode of its own into the plugin's zip (the artifact step compiles it once): the
    // stored entries and the modules compiled are at most every file the artifact holds.
    const files = listing.split('\n').filter(name => name && !name.endsWith('/')).length
    expect(stored + compiled).toBeLessThanOrEqual(files)
    expect(zipCompression(artifact)).toEqual({
      stored: 0,
      deflated: listing.split('\n').filter(name => !name.endsWith('/')).length
    })
  })

  it('serves / and /health through Mangum from the unzipped, read-only artifact', () => {
    const lines = invokeArtifact(path.join(project, '.serverless', 'fastapi-lambda.zip'), 'main.handler', [
      '/',
      '/health'
    ])
    expect(lines.map(l => [l.path, l.statusCode, JSON.parse(l.body)])).toEqual([
      ['/', 200, { message: 'Hello from FastAPI on AWS Lambda' }],
      ['/health', 200, { status: 'ok' }]
    ])
  })

  it('packages it again without installing node_modules again', async () => {
    const run = await runAction({
      // The runner's Node 24 (action.yml: runs.using node24).
      node: NODE24,
      inputs: { command: 'package', 'working-directory': project },
      env: pipEnv(),
      home: first.home
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('node_modules is what package-lock.json gives')
  })
})
