/**
 * The policy evaluator the bootstrap tests rely on, checked against AWS's documented evaluation rules and
 * examples. Every case names the page it comes from; each asserts one outcome, so a wrong evaluator fails.
 */
import {
  ACCOUNT,
  admitsToken,
  evaluate,
  type Context,
  type PolicyDocument,
  type Statement
} from './policy-evaluator.js'

const DOCS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide'
const USER = `arn:aws:iam::${ACCOUNT}:user/shirley`
const policy = (...Statement: Statement[]): PolicyDocument => ({ Version: '2012-10-17', Statement })

async function decide(
  identity: PolicyDocument | PolicyDocument[],
  action: string,
  resource: string,
  context: Context = {},
  boundary?: PolicyDocument
) {
  return evaluate({ principal: USER, action, resource, context }, { identity: [identity].flat(), boundary })
}

describe(`policy evaluation logic (${DOCS}/reference_policies_evaluation-logic.html)`, () => {
  const bucket = 'arn:aws:s3:::amzn-s3-demo-bucket'

  it('an explicit deny in any policy overrides an allow', async () => {
    const identity = policy(
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:DeleteBucket', Resource: bucket }
    )
    expect(await decide(identity, 's3:DeleteBucket', bucket)).toBe('ExplicitlyDenied')
    expect(await decide(identity, 's3:ListBucket', bucket)).toBe('Allowed')
  })

  it('denies by default: no statement that allows the call is an implicit deny', async () => {
    const identity = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucket}/*` })
    expect(await decide(identity, 's3:GetObject', `${bucket}/report.csv`)).toBe('Allowed')
    expect(await decide(identity, 's3:GetObject', 'arn:aws:s3:::other-bucket/report.csv')).toBe(
      'ImplicitlyDenied'
    )
    expect(await decide(identity, 's3:PutObject', `${bucket}/report.csv`)).toBe('ImplicitlyDenied')
    expect(await decide([], 's3:GetObject', `${bucket}/report.csv`)).toBe('ImplicitlyDenied')
  })

  it('matches actions without regard to case, resource ARNs with it', async () => {
    const identity = policy({ Effect: 'Allow', Action: 'S3:getobject', Resource: `${bucket}/Reports/*` })
    expect(await decide(identity, 's3:GetObject', `${bucket}/Reports/a.csv`)).toBe('Allowed')
    expect(await decide(identity, 's3:GetObject', `${bucket}/reports/a.csv`)).toBe('ImplicitlyDenied')
  })
})

describe(`permissions boundaries (${DOCS}/access_policies_boundaries.html)`, () => {
  // The page's example: the boundary allows S3, CloudWatch and EC2; an identity policy that allows
  // iam:CreateUser grants nothing, since the effective permissions are the intersection.
  const boundary = policy({
    Effect: 'Allow',
    Action: ['s3:*', 'cloudwatch:*', 'ec2:*'],
    Resource: '*'
  })
  const createUser = policy({ Effect: 'Allow', Action: 'iam:CreateUser', Resource: '*' })

  it('grants only what both the identity policy and the boundary allow', async () => {
    const user = `arn:aws:iam::${ACCOUNT}:user/new-user`
    expect(await decide(createUser, 'iam:CreateUser', user)).toBe('Allowed')
    expect(await decide(createUser, 'iam:CreateUser', user, {}, boundary)).toBe('ImplicitlyDenied')
    const s3 = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })
    expect(await decide(s3, 's3:GetObject', 'arn:aws:s3:::b/k', {}, boundary)).toBe('Allowed')
    // allowed by the boundary, not by any identity policy
    expect(
      await decide(
        s3,
        'ec2:StopInstances',
        `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0123456789abcdef0`,
        {},
        boundary
      )
    ).toBe('ImplicitlyDenied')
  })

  it('an explicit deny in the boundary overrides an allow in the identity policy', async () => {
    const admin = policy({ Effect: 'Allow', Action: '*', Resource: '*' })
    const denyingBoundary = policy(
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: 'iam:*', Resource: '*' }
    )
    const role = `arn:aws:iam::${ACCOUNT}:role/x`
    expect(await decide(admin, 'iam:AttachRolePolicy', role, {}, denyingBoundary)).toBe('ExplicitlyDenied')
    expect(await decide(admin, 's3:ListBucket', 'arn:aws:s3:::b', {}, denyingBoundary)).toBe('Allowed')
  })

  it('delegation: CreateRole only with a given boundary (condition key iam:PermissionsBoundary)', async () => {
    const boundaryArn = `arn:aws:iam::${ACCOUNT}:policy/XCompanyBoundaries`
    const identity = policy({
      Effect: 'Allow',
      Action: ['iam:CreateRole', 'iam:PutRolePolicy'],
      Resource: `arn:aws:iam::${ACCOUNT}:role/*`,
      Condition: { StringEquals: { 'iam:PermissionsBoundary': boundaryArn } }
    })
    const role = `arn:aws:iam::${ACCOUNT}:role/app`
    expect(await decide(identity, 'iam:CreateRole', role, { 'iam:PermissionsBoundary': boundaryArn })).toBe(
      'Allowed'
    )
    expect(
      await decide(identity, 'iam:CreateRole', role, {
        'iam:PermissionsBoundary': 'arn:aws:iam::aws:policy/AdministratorAccess'
      })
    ).toBe('ImplicitlyDenied')
    expect(await decide(identity, 'iam:PutRolePolicy', role)).toBe('ImplicitlyDenied')
  })
})

describe(`NotAction and NotResource (${DOCS}/reference_policies_elements_notaction.html)`, () => {
  it('Allow with NotAction allows every action but those listed', async () => {
    const identity = policy({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })
    expect(await decide(identity, 's3:ListAllMyBuckets', '*')).toBe('Allowed')
    expect(await decide(identity, 'iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/u`)).toBe(
      'ImplicitlyDenied'
    )
  })

  it('Deny with NotAction: the page’s "deny everything but IAM without MFA" example', async () => {
    const identity = policy(
      { Effect: 'Allow', Action: '*', Resource: '*' },
      {
        Effect: 'Deny',
        NotAction: 'iam:*',
        Resource: '*',
        Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } }
      }
    )
    const object = 'arn:aws:s3:::b/k'
    expect(await decide(identity, 's3:GetObject', object, { 'aws:MultiFactorAuthPresent': 'false' })).toBe(
      'ExplicitlyDenied'
    )
    // ...IfExists: no key at all (long-term access keys) counts as a match too
    expect(await decide(identity, 's3:GetObject', object)).toBe('ExplicitlyDenied')
    expect(await decide(identity, 's3:GetObject', object, { 'aws:MultiFactorAuthPresent': 'true' })).toBe(
      'Allowed'
    )
    expect(
      await decide(identity, 'iam:ChangePassword', USER, { 'aws:MultiFactorAuthPresent': 'false' })
    ).toBe('Allowed')
  })

  it(`Deny with NotResource denies every resource but those listed (${DOCS}/reference_policies_elements_notresource.html)`, async () => {
    const identity = policy(
      { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
      { Effect: 'Deny', Action: 'iam:*', NotResource: `arn:aws:iam::${ACCOUNT}:role/app-*` }
    )
    expect(await decide(identity, 'iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/app-api`)).toBe('Allowed')
    expect(await decide(identity, 'iam:GetRole', `arn:aws:iam::${ACCOUNT}:role/billing`)).toBe(
      'ExplicitlyDenied'
    )
    expect(await decide(identity, 'iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/u`)).toBe(
      'ExplicitlyDenied'
    )
  })
})

describe(`condition operators (${DOCS}/reference_policies_elements_condition_operators.html)`, () => {
  const role = `arn:aws:iam::${ACCOUNT}:role/app-role`
  const fn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`

  it('StringEquals is exact and case-sensitive; a missing key never matches', async () => {
    const identity = policy({
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: role,
      Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } }
    })
    expect(
      await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'lambda.amazonaws.com' })
    ).toBe('Allowed')
    expect(
      await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'Lambda.amazonaws.com' })
    ).toBe('ImplicitlyDenied')
    expect(await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'ec2.amazonaws.com' })).toBe(
      'ImplicitlyDenied'
    )
    expect(await decide(identity, 'iam:PassRole', role)).toBe('ImplicitlyDenied')
  })

  it('StringNotEquals matches a missing key (a negated operator is true when the key is absent)', async () => {
    const identity = policy(
      { Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 'iam:PassRole',
        Resource: '*',
        Condition: { StringNotEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } }
      }
    )
    expect(
      await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'lambda.amazonaws.com' })
    ).toBe('Allowed')
    expect(await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'ec2.amazonaws.com' })).toBe(
      'ExplicitlyDenied'
    )
    expect(await decide(identity, 'iam:PassRole', role)).toBe('ExplicitlyDenied')
  })

  it('StringLike takes * and ? wildcards; several values are ORed', async () => {
    const identity = policy({
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: '*',
      Condition: { StringLike: { 'iam:PassedToService': ['lambda.*', 'ec?.amazonaws.com'] } }
    })
    expect(
      await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'lambda.amazonaws.com' })
    ).toBe('Allowed')
    expect(await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'ec2.amazonaws.com' })).toBe(
      'Allowed'
    )
    expect(await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'ecs.amazonaws.com' })).toBe(
      'Allowed'
    )
    expect(
      await decide(identity, 'iam:PassRole', role, { 'iam:PassedToService': 'glue.amazonaws.com' })
    ).toBe('ImplicitlyDenied')
  })

  it('ArnEquals is exact, ArnLike matches wildcards within ARN segments', async () => {
    const logStream = `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/app-api:log-stream:s`
    const exact = policy({
      Effect: 'Allow',
      Action: 'logs:PutLogEvents',
      Resource: '*',
      Condition: { ArnEquals: { 'lambda:SourceFunctionArn': fn('app-api') } }
    })
    const like = policy({
      Effect: 'Allow',
      Action: 'logs:PutLogEvents',
      Resource: '*',
      Condition: { ArnLike: { 'lambda:SourceFunctionArn': `arn:aws:lambda:*:${ACCOUNT}:function:app-*` } }
    })
    const from = (name: string) => ({ 'lambda:SourceFunctionArn': fn(name) })
    expect(await decide(exact, 'logs:PutLogEvents', logStream, from('app-api'))).toBe('Allowed')
    expect(await decide(exact, 'logs:PutLogEvents', logStream, from('app-worker'))).toBe('ImplicitlyDenied')
    expect(await decide(like, 'logs:PutLogEvents', logStream, from('app-worker'))).toBe('Allowed')
    expect(await decide(like, 'logs:PutLogEvents', logStream, from('billing-worker'))).toBe(
      'ImplicitlyDenied'
    )
    expect(await decide(like, 'logs:PutLogEvents', logStream)).toBe('ImplicitlyDenied')
  })

  it('Null tests whether a key is present ("false": present, "true": absent)', async () => {
    const stack = `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/app/0f1e2d3c-aaaa-bbbb-cccc-123456789abc`
    const identity = policy(
      { Effect: 'Allow', Action: 'cloudformation:CreateStack', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 'cloudformation:CreateStack',
        Resource: '*',
        Condition: { Null: { 'cloudformation:RoleArn': 'false' } }
      }
    )
    expect(await decide(identity, 'cloudformation:CreateStack', stack)).toBe('Allowed')
    expect(
      await decide(identity, 'cloudformation:CreateStack', stack, { 'cloudformation:RoleArn': role })
    ).toBe('ExplicitlyDenied')
  })

  it(`ForAnyValue and ForAllValues on a multivalued key (${DOCS}/reference_policies_condition-single-vs-multi-valued-context-keys.html)`, async () => {
    const anyValue = policy({
      Effect: 'Allow',
      Action: 'iam:TagRole',
      Resource: '*',
      Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team', 'cost-center'] } }
    })
    const allValues = policy({
      Effect: 'Allow',
      Action: 'iam:TagRole',
      Resource: '*',
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'cost-center'] } }
    })
    const tags = (...keys: string[]) => ({ 'aws:TagKeys': keys })
    expect(await decide(anyValue, 'iam:TagRole', role, tags('team', 'owner'))).toBe('Allowed')
    expect(await decide(anyValue, 'iam:TagRole', role, tags('owner'))).toBe('ImplicitlyDenied')
    expect(await decide(allValues, 'iam:TagRole', role, tags('team', 'cost-center'))).toBe('Allowed')
    expect(await decide(allValues, 'iam:TagRole', role, tags('team', 'owner'))).toBe('ImplicitlyDenied')
  })

  it('several keys under one operator, and several operators, are ANDed', async () => {
    const identity = policy({
      Effect: 'Allow',
      Action: 'lambda:AddPermission',
      Resource: fn('app-api'),
      Condition: {
        StringEquals: { 'lambda:Principal': 'apigateway.amazonaws.com' },
        StringEqualsIfExists: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' }
      }
    })
    expect(
      await decide(identity, 'lambda:AddPermission', fn('app-api'), {
        'lambda:Principal': 'apigateway.amazonaws.com'
      })
    ).toBe('Allowed')
    expect(
      await decide(identity, 'lambda:AddPermission', fn('app-api'), {
        'lambda:Principal': 'apigateway.amazonaws.com',
        'lambda:FunctionUrlAuthType': 'NONE'
      })
    ).toBe('ImplicitlyDenied')
    expect(await decide(identity, 'lambda:AddPermission', fn('app-api'), { 'lambda:Principal': '*' })).toBe(
      'ImplicitlyDenied'
    )
  })
})

describe('trust policies for GitHub OIDC (https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws)', () => {
  // GitHub's example condition: aud sts.amazonaws.com and one sub
  const trust = policy({
    Effect: 'Allow',
    Action: 'sts:AssumeRoleWithWebIdentity',
    Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
    Condition: {
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': 'repo:octo-org/octo-repo:ref:refs/heads/octo-branch'
      }
    }
  })
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/deployer`

  it('admits the token whose claims match, and only that one', () => {
    const sub = 'repo:octo-org/octo-repo:ref:refs/heads/octo-branch'
    expect(admitsToken(trust, roleArn, { aud: 'sts.amazonaws.com', sub })).toBe('Allowed')
    expect(admitsToken(trust, roleArn, { aud: 'sts.amazonaws.com', sub: `${sub}-2` })).toBe(
      'ImplicitlyDenied'
    )
    expect(admitsToken(trust, roleArn, { aud: 'https://github.com/octo-org', sub })).toBe('ImplicitlyDenied')
    expect(admitsToken(trust, roleArn, { sub })).toBe('ImplicitlyDenied')
    // a token from another identity provider
    expect(
      admitsToken(
        trust,
        roleArn,
        { aud: 'sts.amazonaws.com', sub },
        `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.com`
      )
    ).toBe('ImplicitlyDenied')
  })
})

describe('the evaluator refuses requests it cannot judge (so a typo in a test cannot pass as "denied")', () => {
  const identity = policy({ Effect: 'Allow', Action: '*', Resource: '*' })

  it('rejects an action AWS does not define', async () => {
    await expect(
      decide(identity, 'iam:CreatePolicyVersions', `arn:aws:iam::${ACCOUNT}:policy/p`)
    ).rejects.toThrow(/cannot evaluate/)
  })

  it('rejects a resource of the wrong type for the action', async () => {
    await expect(decide(identity, 'lambda:UpdateFunctionCode', 'arn:aws:s3:::bucket')).rejects.toThrow(
      /cannot evaluate/
    )
  })

  it('rejects a context key the action never carries', async () => {
    await expect(
      decide(identity, 's3:GetObject', 'arn:aws:s3:::b/k', { 'iam:PassedToService': 'lambda.amazonaws.com' })
    ).rejects.toThrow(/does not take the context key/)
  })

  it('rejects a malformed policy', async () => {
    const broken = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Resource: '*' }]
    } as PolicyDocument
    await expect(
      evaluate(
        { principal: USER, action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' },
        { identity: [broken] }
      )
    ).rejects.toThrow()
  })
})
