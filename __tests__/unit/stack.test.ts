import { sdkClients } from '../../src/aws.js'
import {
  condition,
  outputMap,
  serviceUrl,
  StackBusyError,
  waitUntilSettled,
  type StackInfo
} from '../../src/stack.js'

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
        clock: {
          sleep: async (ms: number) => {
            slept.push(ms)
            clock += ms
          },
          now: () => clock
        },
        describe: async () => {
          const next = statuses.shift()
          return next ? stack(next) : undefined
        }
      }
    }
  }

  it('returns at once for a settled stack', async () => {
    const { options, slept } = scripted(['UPDATE_COMPLETE'])
    expect(await waitUntilSettled('api-dev', { region: 'eu-west-1', clients: sdkClients }, options)).toEqual(
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
    expect(
      (await waitUntilSettled('api-dev', { region: 'eu-west-1', clients: sdkClients }, options))?.status
    ).toBe('UPDATE_COMPLETE')
    expect(slept).toEqual([15_000, 15_000])
    expect(logged[0]).toMatch(/^Stack api-dev is UPDATE_IN_PROGRESS .+waiting 0s of at most 60s/)
  })

  it('returns undefined for a stack deleted meanwhile', async () => {
    const { options } = scripted(['DELETE_IN_PROGRESS', undefined])
    expect(
      await waitUntilSettled('api-dev', { region: 'eu-west-1', clients: sdkClients }, options)
    ).toBeUndefined()
  })

  it('gives up at the timeout, not later', async () => {
    const { options, slept } = scripted(Array(10).fill('UPDATE_IN_PROGRESS'))
    const error = await waitUntilSettled(
      'api-dev',
      { region: 'eu-west-1', clients: sdkClients },
      options
    ).catch(e => e)
    expect(error).toBeInstanceOf(StackBusyError)
    expect(slept.reduce((a, b) => a + b, 0)).toBe(60_000)
  })
})
