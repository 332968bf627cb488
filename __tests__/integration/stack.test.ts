import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation'
import { sdkClients } from '../../src/aws.js'
import { systemClock } from '../../src/clock.js'
import { deleteStack, describeStack, regionsWithStack, waitUntilSettled } from '../../src/stack.js'
import { startMoto, type Moto } from '../support/moto.js'

/** The stack's own calls against moto: a real CloudFormation API, on loopback. */
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
    const stack = await describeStack('api-dev', { region: 'eu-west-1', credentials, clients: sdkClients })
    expect(stack).toMatchObject({ name: 'api-dev', status: 'CREATE_COMPLETE' })
    expect(stack?.outputs.HttpApiUrl).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com')
    expect(
      await describeStack('no-such-stack', { region: 'eu-west-1', credentials, clients: sdkClients })
    ).toBeUndefined()
  })

  it('finds the regions where a stack of a name exists', async () => {
    const regions = ['us-east-1', 'eu-west-1', 'eu-west-2', 'ap-south-1']
    expect(await regionsWithStack('api-dev', regions, { credentials, clients: sdkClients })).toEqual([
      'eu-west-1',
      'eu-west-2'
    ])
    expect(await regionsWithStack('nowhere-dev', regions, { credentials, clients: sdkClients })).toEqual([])
  })

  it('deletes a stack in its own region only', async () => {
    await createStack('eu-west-1', 'doomed-dev')
    await createStack('eu-west-2', 'doomed-dev')
    expect(
      await describeStack('doomed-dev', { region: 'eu-west-1', credentials, clients: sdkClients })
    ).toBeDefined()
    await deleteStack('doomed-dev', { region: 'eu-west-1', credentials, clients: sdkClients })
    await waitUntilSettled(
      'doomed-dev',
      { region: 'eu-west-1', credentials, clients: sdkClients },
      { timeoutMs: 30_000, pollMs: 100, log: () => {}, clock: systemClock }
    )
    expect(
      await describeStack('doomed-dev', { region: 'eu-west-1', credentials, clients: sdkClients })
    ).toBeUndefined()
    expect(
      await describeStack('doomed-dev', { region: 'eu-west-2', credentials, clients: sdkClients })
    ).toMatchObject({
      status: 'CREATE_COMPLETE'
    })
  })
})
