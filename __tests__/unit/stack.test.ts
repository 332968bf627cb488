import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation'
import { spawnSync } from 'node:child_process'
import { outputMap, serviceUrl, stackOutputs } from '../../src/stack.js'
import { startMoto, type Moto } from '../support/moto.js'

describe('serviceUrl', () => {
  const fn = { ApiLambdaFunctionUrl: 'https://fn.lambda-url.us-east-1.on.aws/' }
  const rest = { ServiceEndpoint: 'https://rest.execute-api.us-east-1.amazonaws.com/dev' }
  const http = { HttpApiUrl: 'https://http.execute-api.us-east-1.amazonaws.com' }

  it('prefers HttpApiUrl, then ServiceEndpoint, then a function URL', () => {
    expect(serviceUrl({ ...fn, ...rest, ...http })).toBe(http.HttpApiUrl)
    expect(serviceUrl({ ...fn, ...rest })).toBe(rest.ServiceEndpoint)
    expect(serviceUrl({ ...fn, ServerlessDeploymentBucketName: 'bucket' })).toBe(fn.ApiLambdaFunctionUrl)
  })

  it('takes the first function URL by name when there are several', () => {
    expect(serviceUrl({ ZedLambdaFunctionUrl: 'https://z/', AlphaLambdaFunctionUrl: 'https://a/' })).toBe(
      'https://a/'
    )
  })

  it('skips empty values and is empty without a URL output', () => {
    expect(serviceUrl({ HttpApiUrl: '', ...rest })).toBe(rest.ServiceEndpoint)
    expect(serviceUrl({ ServerlessDeploymentBucketName: 'bucket' })).toBe('')
    expect(serviceUrl({})).toBe('')
  })
})

describe('outputMap', () => {
  it('maps keys to values and drops outputs without a key or value', () => {
    expect(
      outputMap([
        { OutputKey: 'HttpApiUrl', OutputValue: 'https://x' },
        { OutputKey: 'Empty', OutputValue: '' },
        { OutputKey: 'NoValue' },
        { OutputValue: 'no key' }
      ])
    ).toEqual({ HttpApiUrl: 'https://x', Empty: '' })
  })
})

const haveMoto = spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0
if (!haveMoto) console.log('Skipping stackOutputs against moto: moto_server is not installed')
const withMoto = haveMoto ? describe : describe.skip

withMoto('stackOutputs against moto', () => {
  const region = 'eu-west-1'
  const names = [
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_CLOUDFORMATION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_CONFIG_FILE',
    'AWS_SHARED_CREDENTIALS_FILE'
  ]
  const saved = Object.fromEntries(names.map(name => [name, process.env[name]]))
  let moto: Moto

  beforeAll(async () => {
    moto = await startMoto()
    const client = new CloudFormationClient({
      region,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
    })
    await client.send(
      new CreateStackCommand({
        StackName: 'api-dev',
        TemplateBody: JSON.stringify({
          Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'unit-stack-bucket' } } },
          Outputs: {
            HttpApiUrl: { Value: 'https://abc123.execute-api.eu-west-1.amazonaws.com' },
            BucketName: { Value: { Ref: 'Bucket' } }
          }
        })
      })
    )
    client.destroy()
    for (const name of names) delete process.env[name]
    process.env.AWS_ENDPOINT_URL = moto.endpoint
    process.env.AWS_ACCESS_KEY_ID = 'testing'
    process.env.AWS_SECRET_ACCESS_KEY = 'testing'
  }, 60_000)

  afterAll(async () => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name]
      else process.env[name] = saved[name]
    }
    await moto?.stop()
  })

  it('reads the outputs through AWS_ENDPOINT_URL with credentials from the environment', async () => {
    const outputs = await stackOutputs('api-dev', region)
    expect(outputs).toEqual({
      HttpApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      BucketName: 'unit-stack-bucket'
    })
    expect(serviceUrl(outputs)).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com')
  })

  it('uses credentials it is given', async () => {
    delete process.env.AWS_ACCESS_KEY_ID
    delete process.env.AWS_SECRET_ACCESS_KEY
    try {
      const outputs = await stackOutputs('api-dev', region, {
        accessKeyId: 'given',
        secretAccessKey: 'given'
      })
      expect(outputs.BucketName).toBe('unit-stack-bucket')
    } finally {
      process.env.AWS_ACCESS_KEY_ID = 'testing'
      process.env.AWS_SECRET_ACCESS_KEY = 'testing'
    }
  })

  it('fails for a stack that does not exist', async () => {
    await expect(stackOutputs('no-such-stack', region)).rejects.toThrow(/does not exist/)
  })
})
