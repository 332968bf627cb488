import { jest } from '@jest/globals'
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { copyFixture } from '../support/fixture.js'
import { startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import { NODE24, runAction, type ActionRun, errorLines } from '../support/runner.js'

jest.setTimeout(600_000)

let moto: Moto
let service: string
let home: string | undefined

const credentials = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }

function cloudFormation(): CloudFormationClient {
  return new CloudFormationClient({
    region: 'eu-west-1',
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
}

async function action(command: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  const run = await runAction({
    inputs: { command, 'working-directory': service, stage: 'test', 'aws-region': 'eu-west-1', ...inputs },
    env: { ...credentials, ...pipEnv(), AWS_ENDPOINT_URL: moto.endpoint },
    node: NODE24,
    home
  })
  home = run.home
  if (run.exitCode !== 0) console.log(run.stdout.slice(-4000), run.stderr.slice(-2000))
  return run
}

beforeAll(async () => {
  moto = await startMoto()
  service = copyFixture('service')
})

afterAll(async () => {
  await moto?.stop()
})

describe('deploy, redeploy, info and remove through dist/index.js against moto', () => {
  let first: ActionRun

  it('packages, then deploys that package, and outputs what the stack reports', async () => {
    first = await action('deploy')
    expect(first.exitCode).toBe(0)
    const stack = (await cloudFormation().send(new DescribeStacksCommand({ StackName: 'fixture-api-test' })))
      .Stacks?.[0]
    expect(stack?.StackStatus).toMatch(/COMPLETE$/)
    const httpApiUrl = stack?.Outputs?.find(o => o.OutputKey === 'HttpApiUrl')?.OutputValue
    expect(httpApiUrl).toBeTruthy()
    expect(first.outputs).toMatchObject({
      url: httpApiUrl,
      'stack-name': 'fixture-api-test',
      service: 'fixture-api',
      stage: 'test',
      region: 'eu-west-1',
      'python-version': expect.stringMatching(/^3\.11\.\d+$/),
      'serverless-version': expect.stringMatching(/^3\.\d+\.\d+$/),
      // STS says whose the credentials are, for any source of them.
      'aws-account-id': '123456789012'
    })
    // The checkout came with node_modules (a warm runner's): proved against the lockfile, not installed.
    expect(first.stdout).toMatch(
      /node_modules is what package-lock\.json gives: \d+ packages, \d+ files checked against their tarballs/
    )
    expect(first.stdout).not.toContain('[command]/usr/bin/npm ci')
    expect(first.stdout).toContain('::group::serverless package --stage test --region eu-west-1')
    expect(first.stdout).toContain(
      '::group::serverless deploy --package .serverless --stage test --region eu-west-1'
    )
    // Every value came literally from serverless.yml and the inputs: Serverless was not asked twice.
    expect(first.stdout).not.toContain('serverless print')
    for (const field of [
      'fixture-api',
      'test',
      'eu-west-1',
      httpApiUrl as string,
      '3.11',
      'serverless deploy',
      'python'
    ])
      expect(first.summary).toContain(field)
  })

  it('deploys again without reinstalling node_modules', async () => {
    const second = await action('deploy')
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toContain('node_modules is what package-lock.json gives')
    expect(second.stdout).not.toContain('[command]/usr/bin/npm ci')
    expect(second.outputs.url).toBe(first.outputs.url)
  })

  it('info asks Serverless what the service is, installs nothing, and reads the same URL from the stack', async () => {
    const info = await action('info')
    expect(info.exitCode).toBe(0)
    expect(info.stdout).toContain('node_modules is what package-lock.json gives')
    expect(info.stdout).toMatch(
      /\[command\]\S+ \S+serverless\.js print --format json --stage test --region eu-west-1/
    )
    expect(info.outputs.url).toBe(first.outputs.url)
    // info builds nothing: no Python is set up for it.
    expect(info.outputs['python-version'] ?? '').toBe('')
  })

  it('installs again, with no install script, when a file in node_modules is not what its tarball holds', async () => {
    // A new file in the link's place: the warm tree the links share stays as it was.
    const file = path.join(service, 'node_modules', 'serverless', 'lib', 'serverless.js')
    rmSync(file)
    writeFileSync(file, 'require("child_process").execSync("touch /tmp/owned")\n')
    const info = await action('info')
    expect(info.exitCode).toBe(0)
    expect(info.stdout).toContain(
      "node_modules is not what package-lock.json gives (node_modules/serverless/lib/serverless.js differs from its package's tarball): installing it again"
    )
    expect(info.stdout).toContain('[command]/usr/bin/npm ci --ignore-scripts --no-audit --no-fund')
  })

  it('remove deletes the stack and leaves url empty', async () => {
    const removed = await action('remove')
    expect(removed.exitCode).toBe(0)
    expect(removed.outputs.url ?? '').toBe('')
    expect(removed.outputs['stack-name']).toBe('fixture-api-test')
    const after = await cloudFormation()
      .send(new DescribeStacksCommand({ StackName: 'fixture-api-test' }))
      .then(r => r.Stacks?.[0]?.StackStatus)
      .catch((error: Error) => error.message)
    expect(String(after)).toMatch(/DELETE_COMPLETE|does not exist/)
  })

  it('remove again is green, with a notice that there was nothing to remove', async () => {
    const again = await action('remove')
    expect(again.exitCode).toBe(0)
    expect(errorLines(again)).toEqual([])
    expect(again.stdout).toMatch(
      /::notice title=Nothing to remove::Stack fixture-api-test does not exist in eu-west-1: stage test is already removed/
    )
    expect(again.stdout).not.toContain('serverless.js remove')
    expect(again.outputs['stack-name']).toBe('fixture-api-test')
  })

  it('info on the removed stage fails with one error naming the stack and region', async () => {
    const info = await action('info')
    expect(info.exitCode).toBe(1)
    expect(errorLines(info)).toEqual([
      expect.stringMatching(
        /^::error title=No such stack::Stack fixture-api-test does not exist in eu-west-1 \(account 123456789012\)\. No region of the aws partition has a stack of that name/
      )
    ])
  })
})
