import { jest } from '@jest/globals'
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { copyFixture } from '../support/fixture.js'
import { startMoto, type Moto } from '../support/moto.js'
import { localPipIndexEnv } from '../support/pip.js'
import { NODE24, runAction, type ActionRun } from '../support/runner.js'

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

async function action(command: string, node?: string): Promise<ActionRun> {
  const run = await runAction({
    inputs: { command, 'working-directory': service, stage: 'test', 'aws-region': 'eu-west-1' },
    env: { ...credentials, ...localPipIndexEnv(), AWS_ENDPOINT_URL: moto.endpoint },
    node,
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

  it('deploys with a real Node 24 and outputs the URL the stack reports', async () => {
    first = await action('deploy', NODE24)
    expect(first.exitCode).toBe(0)
    const stack = (await cloudFormation().send(new DescribeStacksCommand({ StackName: 'fixture-api-test' })))
      .Stacks?.[0]
    expect(stack?.StackStatus).toMatch(/COMPLETE$/)
    const httpApiUrl = stack?.Outputs?.find(o => o.OutputKey === 'HttpApiUrl')?.OutputValue
    expect(httpApiUrl).toBeTruthy()
    expect(first.outputs).toEqual({
      url: httpApiUrl,
      'stack-name': 'fixture-api-test',
      service: 'fixture-api',
      stage: 'test',
      region: 'eu-west-1',
      'python-version': expect.stringMatching(/^3\.11\.\d+$/),
      'serverless-version': expect.stringMatching(/^3\.\d+\.\d+$/),
      'aws-account-id': ''
    })
    expect(first.stdout).toContain('npm ci')
    // moto serves no API Gateway: the URL check says why it did not run.
    expect(first.stdout).toContain('not checked: AWS_ENDPOINT_URL is set')
    expect(first.summary).toContain('not checked (AWS_ENDPOINT_URL is set)')
    // moto serves no API Gateway: the URL check says why it did not run.
    expect(first.stdout).toContain('not checked: AWS_ENDPOINT_URL is set')
    expect(first.summary).toContain('not checked (AWS_ENDPOINT_URL is set)')
    expect(first.stdout).toContain('::group::serverless deploy --stage test --region eu-west-1')
    for (const field of [
      'fixture-api',
      'test',
      'eu-west-1',
      httpApiUrl as string,
      '3.11',
      'serverless deploy',
      'npm',
      'python'
    ])
      expect(first.summary).toContain(field)
  })

  it('deploys again without reinstalling node_modules', async () => {
    const second = await action('deploy', NODE24)
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toContain('npm ci skipped')
    expect(second.stdout).not.toContain('[command]/usr/bin/npm ci')
    expect(second.outputs.url).toBe(first.outputs.url)
  })

  it('info under Node 20 reinstalls node_modules for its ABI and reads the same URL from the stack', async () => {
    const info = await action('info')
    expect(info.exitCode).toBe(0)
    expect(info.stdout).toContain('npm ci --no-audit')
    expect(info.outputs.url).toBe(first.outputs.url)
  })

  it('remove deletes the stack and leaves url empty', async () => {
    const removed = await action('remove')
    expect(removed.exitCode).toBe(0)
    expect(removed.outputs.url).toBe('')
    expect(removed.outputs['stack-name']).toBe('fixture-api-test')
    const after = await cloudFormation()
      .send(new DescribeStacksCommand({ StackName: 'fixture-api-test' }))
      .then(r => r.Stacks?.[0]?.StackStatus)
      .catch((error: Error) => error.message)
    expect(String(after)).toMatch(/DELETE_COMPLETE|does not exist/)
  })
})
