import { UserError } from '../../src/errors.js'
import { checkStageFits, type StageNames } from '../../src/stage.js'

const base: StageNames = { service: 'orders-api', stage: 'prod', region: 'eu-west-1', functionKeys: ['api'] }

describe('checkStageFits', () => {
  it.each<[string, Partial<StageNames>]>([
    ['a short stage', { stage: 'prod' }],
    ['a preview stage', { stage: 'pr-1234' }],
    ['a mixed-case stage', { stage: 'Feature-X1' }],
    [
      'the longest stage the function name allows',
      { stage: 'x'.repeat(64 - 'orders-api--api'.length), region: undefined }
    ],
    ['a long stage with a role name of its own', { stage: 'x'.repeat(40), roleName: 'orders-role' }]
  ])('accepts %s', (_name, names) => {
    expect(() => checkStageFits({ ...base, ...names })).not.toThrow()
  })

  it.each<[string, Partial<StageNames>, RegExp]>([
    ['an underscore', { stage: 'my_stage' }, /^Stage 'my_stage' has characters AWS names cannot take/],
    ['a dot', { stage: 'v1.2' }, /has characters AWS names cannot take/],
    [
      'a function name over 64',
      { stage: 'x'.repeat(50), region: undefined },
      /makes orders-api-x{50}-api 65 characters long, 1 over Lambda's limit for a function name \(64\)\. Use a stage at most 49 characters long/
    ],
    [
      'a role name over 64 (the region counts)',
      {
        stage: 'staging-long',
        region: 'ap-southeast-2',
        functionKeys: [],
        service: 'a-fairly-long-service-name'
      },
      /makes a-fairly-long-service-name-staging-long-ap-southeast-2-lambdaRole 65 characters long, 1 over IAM's limit for the role Serverless creates \(64\)/
    ],
    [
      'a resolved function name over 64',
      { functionKeys: undefined, functionNames: ['orders-api-prod-' + 'f'.repeat(60)] },
      /76 characters long, 12 over Lambda's limit for a function name/
    ],
    [
      'a stack name over 128',
      { stage: 'prod', stackName: 's'.repeat(130), functionKeys: [] },
      /2 over CloudFormation's limit for a stack name \(128\)/
    ]
  ])('rejects %s, naming the limit and by how much', (_name, names, message) => {
    let error: unknown
    try {
      checkStageFits({ ...base, ...names })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toMatch(message)
  })
})
