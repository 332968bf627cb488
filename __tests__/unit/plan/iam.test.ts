import { diffIam, statementsOf } from '../../../src/plan/iam.js'
import { resourcesOf } from '../../../src/plan/template.js'
import { shopTemplate } from '../../support/plan-input.js'

function role(statements: unknown, extra: Record<string, unknown> = {}) {
  return resourcesOf({
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Policies: [{ PolicyName: 'p', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
          ...extra
        }
      }
    }
  })
}

describe('diffIam on the shop templates', () => {
  it('finds the one statement the new serverless.yml adds, and flags its wildcards as broad', () => {
    const diff = diffIam(resourcesOf(shopTemplate('before')), resourcesOf(shopTemplate('after')))
    expect(diff.removed).toEqual([])
    expect(diff.added).toHaveLength(1)
    expect(diff.added[0]).toMatchObject({
      owner: 'IamRoleLambdaExecution',
      kind: 'permission',
      effect: 'Allow',
      actions: ['s3:*'],
      resources: ['*'],
      wildcards: ['s3:*', '*'],
      broad: true,
      policyName: 'shop-dev-lambda'
    })
  })

  it("for a new stack, every statement is added, the role's trust policy too", () => {
    const diff = diffIam(resourcesOf(undefined), resourcesOf(shopTemplate('before')))
    const trust = diff.added.filter(statement => statement.kind === 'trust')
    expect(trust).toHaveLength(1)
    expect(trust[0]).toMatchObject({
      actions: ['sts:AssumeRole'],
      principals: ['Service: lambda.amazonaws.com'],
      broad: false
    })
    // Serverless' own log statements: scoped to the service's log groups, yet wildcards all the same.
    const logs = diff.added.find(statement => statement.actions.includes('logs:PutLogEvents'))
    expect(logs?.resources).toEqual([
      'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/shop-dev*:*:*'
    ])
    expect(logs?.wildcards).toEqual(logs?.resources)
    expect(logs?.broad).toBe(false)
  })
})

describe('statements compared structurally', () => {
  const statement = {
    Effect: 'Allow',
    Action: ['sqs:SendMessage', 'sqs:ReceiveMessage'],
    Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] }
  }

  it('key order, list order, singletons as lists and the Sid do not make a statement new', () => {
    const reordered = {
      Sid: 'Queue',
      Resource: [{ 'Fn::GetAtt': ['Queue', 'Arn'] }],
      Action: ['sqs:ReceiveMessage', 'sqs:SendMessage', 'sqs:SendMessage'],
      Effect: 'Allow'
    }
    const diff = diffIam(role([statement]), role(reordered))
    expect(diff.added).toEqual([])
    expect(diff.removed).toEqual([])
  })

  it('a changed action, resource or condition is one statement removed and one added', () => {
    for (const changed of [
      { ...statement, Action: ['sqs:SendMessage'] },
      { ...statement, Resource: '*' },
      { ...statement, Condition: { Bool: { 'aws:SecureTransport': 'true' } } },
      { ...statement, Effect: 'Deny' }
    ]) {
      const diff = diffIam(role([statement]), role([changed]))
      expect(diff.added).toHaveLength(1)
      expect(diff.removed).toHaveLength(1)
    }
  })

  it('the same statement moved to another role is removed from one and added to the other', () => {
    const other = resourcesOf({
      Resources: {
        Other: {
          Type: 'AWS::IAM::Role',
          Properties: { Policies: [{ PolicyName: 'p', PolicyDocument: { Statement: [statement] } }] }
        }
      }
    })
    const diff = diffIam(role([statement]), other)
    expect(diff.added.map(s => s.owner)).toEqual(['Other'])
    expect(diff.removed.map(s => s.owner)).toEqual(['Role'])
  })

  it('duplicates count: a second copy of a statement is an addition', () => {
    expect(diffIam(role([statement]), role([statement, statement])).added).toHaveLength(1)
  })
})

describe('where statements come from, and what is broad', () => {
  it('AWS::IAM::Policy, AWS::IAM::ManagedPolicy and AWS::IAM::RolePolicy documents, a single Statement object', () => {
    const resources = resourcesOf({
      Resources: {
        Policy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyName: 'a',
            PolicyDocument: { Statement: { Effect: 'Allow', Action: 'sns:Publish', Resource: '*' } }
          }
        },
        Managed: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: {
            PolicyDocument: { Statement: [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }] }
          }
        },
        RolePolicy: {
          Type: 'AWS::IAM::RolePolicy',
          Properties: {
            PolicyName: 'r',
            RoleName: 'x',
            PolicyDocument: { Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] }
          }
        }
      }
    })
    const found = statementsOf(resources).map(({ statement }) => statement)
    expect(found.map(s => `${s.owner} ${s.broad}`).sort()).toEqual([
      'Managed true',
      'Policy true',
      'RolePolicy false'
    ])
    expect(found.find(s => s.owner === 'Managed')?.notActions).toEqual(['iam:*'])
  })

  it('partial wildcards are listed but not broad; *, service:*, NotResource and a * principal are broad', () => {
    const cases: [unknown, boolean][] = [
      [{ Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::bucket/*' }, false],
      [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::bucket' }, true],
      [
        {
          Effect: 'Allow',
          Action: 'dynamodb:*',
          Resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t'
        },
        true
      ],
      [{ Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::private/*' }, true],
      [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: '*' } }, true],
      [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: '*' }, true],
      [{ Effect: 'Deny', Action: '*', Resource: '*' }, false]
    ]
    for (const [statement, broad] of cases) {
      const [found] = statementsOf(role([statement]))
      expect([statement, found.statement.broad]).toEqual([statement, broad])
      expect(found.statement.wildcards.length > 0).toBe(JSON.stringify(statement).includes('*'))
    }
  })

  it('managed policy ARNs attached to a role, added and removed', () => {
    const withPolicies = (arns: unknown[]) =>
      resourcesOf({
        Resources: { Role: { Type: 'AWS::IAM::Role', Properties: { ManagedPolicyArns: arns } } }
      })
    const admin = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess' }
    const diff = diffIam(
      withPolicies(['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']),
      withPolicies([admin])
    )
    expect(diff.managedPolicies).toEqual({
      added: [{ owner: 'Role', arn: 'arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess' }],
      removed: [{ owner: 'Role', arn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' }]
    })
  })
})
