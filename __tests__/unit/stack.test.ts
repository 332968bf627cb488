import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation'
import {
  condition,
  deleteStack,
  describeStack,
  outputMap,
  regionsWithStack,
  serviceUrl,
  StackBusyError,
  waitUntilSettled,
  type StackInfo
} from '../../src/stack.js'
import { startMoto, type Moto } from '../support/moto.js'

describe('condition', () => {
  it.each([
    ['CREATE_COMPLETE', 'healthy'],
    ['UPDATE_COMPLETE', 'healthy'],
    // A failed update rolled back: the previous version serves. Healthy, never "stuck".
    ['UPDATE_ROLLBACK_COMPLETE', 'healthy'],
    ['IMPORT_COMPLETE', 'healthy'],
    ['ROLLBACK_COMPLETE', 'failed-create'],
    ['CREATE_IN_PROGRESS', 'in-progress'],
    ['UPDATE_IN_PROGRESS', 'in-progress'],
    ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'in-progress'],
    ['UPDATE_ROLLBACK_IN_PROGRESS', 'in-progress'],
    ['DELETE_IN_PROGRESS', 'in-progress'],
    ['REVIEW_IN_PROGRESS', 'awaiting-change-set'],
    ['UPDATE_ROLLBACK_FAILED', 'failed'],
    ['DELETE_FAILED', 'failed'],
    ['CREATE_FAILED', 'failed']
  ])('%s is %s', (status, expected) => {
    expect(condition(status)).toBe(expected)
  })
})

describe('serviceUrl', () => {
  const fn = { ApiLambdaFunctionUrl: 'https://fn.lambda-url.us-east-1.on.aws/' }
  const rest = { ServiceEndpoint: 'https://rest.execute-api.us-east-1.amazonaws.com/dev' }
  const http = { HttpApiUrl: 'https://http.execute-api.us-east-1.amazonaws.com' }

  it('prefers HttpApiUrl, then ServiceEndpoint, then the first function URL by name', () => {
    expect(serviceUrl({ ...fn, ...rest, ...http })).toBe(http.HttpApiUrl)
    expect(serviceUrl({ ...fn, ...rest })).toBe(rest.ServiceEndpoint)
    expect(serviceUrl({ ZedLambdaFunctionUrl: 'https://z/', AlphaLambdaFunctionUrl: 'https://a/' })).toBe(
      'https://a/'
    )
  })

  it('skips empty values and is empty without a URL output', () => {
    expect(serviceUrl({ HttpApiUrl: '', ...rest })).toBe(rest.ServiceEndpoint)
    expect(serviceUrl({ ServerlessDeploymentBucketName: 'bucket' })).toBe('')
  })

  it('maps outputs, dropping those without a key or value', () => {
    expect(
      outputMap([
        { OutputKey: 'HttpApiUrl', OutputValue: 'https://x' },
        { OutputKey: 'Empty', OutputValue: '' },
        { OutputKey: 'NoValue' }
      ])
    ).toEqual({ HttpApiUrl: 'https://x', Empty: '' })
  })
})

describe('waitUntilSettled', () => {
  const stack = (status: string): StackInfo => ({ name: 'api-dev', status, outputs: {} })

  function scripted(statuses: (string | undefined)[]) {
    let clock = 0
    const slept: number[] = []
    const logged: string[] = []
    return {
      slept,
      logged,
      options: {
        timeoutMs: 60_000,
        pollMs: 15_000,
        log: (m: string) => logged.push(m),
        sleep: async (ms: number) => {
          slept.push(ms)
          clock += ms
        },
        now: () => clock,
        describe: async () => {
          const next = statuses.shift()
          return next ? stack(next) : undefined
        }
      }
    }
  }

  it('returns at once for a settled stack', async () => {
    const { options, slept } = scripted(['UPDATE_COMPLETE'])
    expect(await waitUntilSettled('api-dev', { region: 'eu-west-1' }, options)).toEqual(
      stack('UPDATE_COMPLETE')
    )
    expect(slept).toEqual([])
  })

  it('waits out an update in progress, logging each wait', async () => {
    const { options, slept, logged } = scripted([
      'UPDATE_IN_PROGRESS',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_COMPLETE'
    ])
    expect((await waitUntilSettled('api-dev', { region: 'eu-west-1' }, options))?.status).toBe(
      'UPDATE_COMPLETE'
    )
    expect(slept).toEqual([15_000, 15_000])
    expect(logged[0]).toMatch(/^Stack api-dev is UPDATE_IN_PROGRESS .+waiting 0s of at most 60s/)
  })

  it('returns undefined for a stack deleted meanwhile', async () => {
    const { options } = scripted(['DELETE_IN_PROGRESS', undefined])
    expect(await waitUntilSettled('api-dev', { region: 'eu-west-1' }, options)).toBeUndefined()
  })

  it('gives up at the timeout, not later', async () => {
    const { options, slept } = scripted(Array(10).fill('UPDATE_IN_PROGRESS'))
    const error = await waitUntilSettled('api-dev', { region: 'eu-west-1' }, options).catch(e => e)
    expect(error).toBeInstanceOf(StackBusyError)
    expect(slept.reduce((a, b) => a + b, 0)).toBe(60_000)
  })
})

describe('against moto', () => {
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' }
  const saved = process.env.AWS_ENDPOINT_URL
  let moto: Moto

  async function createStack(region: string, name: string): Promise<void> {
    const client = new CloudFormationClient({ region, endpoint: moto.endpoint, credentials })
    await client.send(
      new CreateStackCommand({
        StackName: name,
        TemplateBody: JSON.stringify({
          Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
          Outputs: {
            HttpApiUrl: { Value: `https://abc123.execute-api.${region}.amazonaws.com` },
            TopicArn: { Value: { Ref: 'Topic' } }
          }
        })
      })
    )
    client.destroy()
  }

  beforeAll(async () => {
    moto = await startMoto()
    process.env.AWS_ENDPOINT_URL = moto.endpoint
    await createStack('eu-west-1', 'api-dev')
    await createStack('eu-west-2', 'api-dev')
    await createStack('ap-south-1', 'other-dev')
  }, 60_000)

  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL
    else process.env.AWS_ENDPOINT_URL = saved
    await moto?.stop()
  })

  it('describes a stack with its outputs, and says undefined for one that does not exist', async () => {
    const stack = await describeStack('api-dev', { region: 'eu-west-1', credentials })
    expect(stack).toMatchObject({ name: 'api-dev', status: 'CREATE_COMPLETE' })
    expect(stack?.outputs.HttpApiUrl).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com')
    expect(await describeStack('no-such-stack', { region: 'eu-west-1', credentials })).toBeUndefined()
  })

  it('finds the regions where a stack of a name exists', async () => {
    const regions = ['us-east-1', 'eu-west-1', 'eu-west-2', 'ap-south-1']
    expect(await regionsWithStack('api-dev', regions, credentials)).toEqual(['eu-west-1', 'eu-west-2'])
    expect(await regionsWithStack('nowhere-dev', regions, credentials)).toEqual([])
  })

  it('deletes a stack in its own region only', async () => {
    await createStack('eu-west-1', 'doomed-dev')
    await createStack('eu-west-2', 'doomed-dev')
    expect(await describeStack('doomed-dev', { region: 'eu-west-1', credentials })).toBeDefined()
    await deleteStack('doomed-dev', { region: 'eu-west-1', credentials })
    await waitUntilSettled(
      'doomed-dev',
      { region: 'eu-west-1', credentials },
      { timeoutMs: 30_000, pollMs: 100, log: () => {} }
    )
    expect(await describeStack('doomed-dev', { region: 'eu-west-1', credentials })).toBeUndefined()
    expect(await describeStack('doomed-dev', { region: 'eu-west-2', credentials })).toMatchObject({
      status: 'CREATE_COMPLETE'
    })
  })
})
