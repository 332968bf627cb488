/**
 * The plan role (CreatePlanRole=true) for `command: plan`, which runs on every pull request against the
 * production stage: who may assume it (pull_request jobs of the repository, in both subject formats), and what
 * it may do, as CloudFormation (moto) creates it, decided by the IAM policy evaluator. It reads the stack and
 * the functions' configuration, creates, describes and deletes its own change sets, deletes the
 * REVIEW_IN_PROGRESS stack a change set of type CREATE leaves, uploads templates under plan/ — and nothing
 * else: no ExecuteChangeSet, UpdateStack, CreateStack, no DeleteStack of a live stack, no write to any other
 * service, even with more policies attached.
 */
import { startMoto, type Moto } from '../support/moto.js'
import {
  ACCOUNT,
  withoutDeniesOrConditions,
  admitsToken,
  evaluate,
  type Context,
  type Decision,
  type PolicyDocument
} from './policy-evaluator.js'
import { createGitHubOidcProvider, createStack, REGION, type CreatedStack, type PlanRole } from './stack.js'

const OWNER = 'octo-org'
const OWNER_ID = '1001'
const REPO = 'octo-app'
const REPO_ID = '2002'
const STACK = 'api-prod'
const PLAN_TAG = 'serverless-python-deploy:plan'
const STAGE_TAG = 'serverless-python-deploy:stack'
const PINNED = `${OWNER}/shared-workflows/.github/workflows/plan.yml@refs/heads/main`

let moto: Moto | undefined
let prod: CreatedStack
let pinned: CreatedStack
let previews: CreatedStack
let plan: PlanRole

const bootstrap = (extra: Record<string, string>) => ({
  GitHubRepository: `${OWNER}/${REPO}`,
  GitHubOwnerId: OWNER_ID,
  GitHubRepositoryId: REPO_ID,
  CreateOidcProvider: 'false',
  ServiceName: 'api',
  Stage: 'prod',
  GitHubEnvironment: 'prod',
  CreatePlanRole: 'true',
  ...extra
})

beforeAll(async () => {
  moto = await startMoto()
  await createGitHubOidcProvider(moto)
  prod = await createStack(moto, 'bootstrap-prod', bootstrap({}))
  pinned = await createStack(
    moto,
    'bootstrap-pinned',
    bootstrap({ ServiceName: 'pinned', PlanJobWorkflowRef: PINNED })
  )
  previews = await createStack(
    moto,
    'bootstrap-previews',
    bootstrap({ Stage: 'pr-*', GitHubEnvironment: 'preview' })
  )
  if (!prod.plan) throw new Error('the stack made no plan role')
  plan = prod.plan
}, 120_000)

afterAll(async () => {
  await moto?.stop()
})

describe('the plan role exists only where asked for, for one stage', () => {
  it('CreatePlanRole=true makes it, with the PlanRoleArn output; a stage prefix gets none', () => {
    expect(prod.outputs.PlanRoleArn).toBe(plan.roleArn)
    expect(plan.roleArn).not.toBe(prod.roleArn)
    expect(previews.plan).toBeUndefined()
    expect(previews.outputs.PlanRoleArn).toBeUndefined()
  })
})

describe('who may assume it: pull_request jobs of this repository, and nothing else', () => {
  const immutable = (context: string, ownerId = OWNER_ID, repoId = REPO_ID) =>
    `repo:${OWNER}@${ownerId}/${REPO}@${repoId}:${context}`
  const runs: [run: string, claims: Record<string, string>, admitted: boolean][] = [
    ['pull request, legacy sub', { sub: `repo:${OWNER}/${REPO}:pull_request` }, true],
    ['pull request, immutable sub', { sub: immutable('pull_request') }, true],
    ['job in environment prod (the deploy role’s)', { sub: `repo:${OWNER}/${REPO}:environment:prod` }, false],
    ['push to main', { sub: `repo:${OWNER}/${REPO}:ref:refs/heads/main` }, false],
    ['push to main, immutable sub', { sub: immutable('ref:refs/heads/main') }, false],
    ['a tag', { sub: `repo:${OWNER}/${REPO}:ref:refs/tags/v1` }, false],
    [
      "a fork's own pull request workflow",
      { sub: `repo:forker/${REPO}:pull_request`, repository_id: '3003' },
      false
    ],
    [
      'another repository of the owner',
      { sub: `repo:${OWNER}/other:pull_request`, repository_id: '5005' },
      false
    ],
    [
      'a recycled name, immutable sub',
      { sub: immutable('pull_request', '9999', '7777'), repository_id: '7777' },
      false
    ],
    [
      'the right sub, a token for another audience',
      { sub: immutable('pull_request'), aud: 'https://github.com/x' },
      false
    ]
  ]

  it.each(runs)('%s', (_run, claims, admitted) => {
    const token = { aud: 'sts.amazonaws.com', repository_id: REPO_ID, ...claims }
    expect(admitsToken(plan.trust, plan.roleArn, token)).toBe(admitted ? 'Allowed' : 'ImplicitlyDenied')
    // and the deploy role never admits a pull request
    if (/pull_request/.test(claims.sub))
      expect(admitsToken(prod.trust, prod.roleArn, token)).toBe('ImplicitlyDenied')
  })

  it('PlanJobWorkflowRef pins it to one reusable workflow at one ref', () => {
    const role = pinned.plan as PlanRole
    const token = (job_workflow_ref?: string) => ({
      sub: `repo:${OWNER}/${REPO}:pull_request`,
      aud: 'sts.amazonaws.com',
      repository_id: REPO_ID,
      ...(job_workflow_ref ? { job_workflow_ref } : {})
    })
    expect(admitsToken(role.trust, role.roleArn, token(PINNED))).toBe('Allowed')
    // the pull request's own copy of a workflow, the shared workflow at the pull request's ref, none at all
    expect(
      admitsToken(
        role.trust,
        role.roleArn,
        token(`${OWNER}/${REPO}/.github/workflows/plan.yml@refs/pull/7/merge`)
      )
    ).toBe('ImplicitlyDenied')
    expect(
      admitsToken(role.trust, role.roleArn, token(PINNED.replace('refs/heads/main', 'refs/heads/evil')))
    ).toBe('ImplicitlyDenied')
    expect(admitsToken(role.trust, role.roleArn, token())).toBe('ImplicitlyDenied')
    // unpinned by default
    expect(JSON.stringify(plan.trust)).not.toContain('job_workflow_ref')
  })
})

type Call = [action: string, resource: string, context?: Context]

const stackArn = (name = STACK) =>
  `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/0f1e2d3c-aaaa-bbbb-cccc-123456789abc`
const changeSet = (name: string): Context => ({ 'cloudformation:ChangeSetName': name })
const object = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`
const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`
const ADMIN: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }]
}

async function decide(
  role: { roleName: string; permissions: PolicyDocument },
  calls: Call[],
  extra: PolicyDocument[] = []
): Promise<string[]> {
  return Promise.all(
    calls.map(async ([action, resource, context]) => {
      const unlisted = action.startsWith('apigateway:') && /::\/(apis|tags)/.test(resource)
      const decision: Decision = await evaluate(
        {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.roleName}/github-actions`,
          action,
          resource,
          context
        },
        { identity: [role.permissions, ...extra] },
        { validate: !unlisted }
      )
      return `${action} ${resource}: ${decision}`
    })
  )
}
const allowed = (decisions: string[]) => decisions.filter(d => d.endsWith(': Allowed'))
const refused = (decisions: string[]) => decisions.filter(d => !d.endsWith(': Allowed'))

describe('what the plan role may do', () => {
  /** a plan: read the stack, upload the template, create a change set, read it, delete it */
  const planCalls = (): Call[] => {
    const template = object(
      prod.deploymentBucket,
      'plan/api/prod/run-42/compiled-cloudformation-template.json'
    )
    return [
      ['cloudformation:DescribeStacks', stackArn()],
      ['cloudformation:GetTemplate', stackArn()],
      ['cloudformation:DescribeStackResources', stackArn()],
      ['cloudformation:ListStackResources', stackArn()],
      ['cloudformation:ValidateTemplate', '*'],
      ['s3:GetBucketLocation', `arn:aws:s3:::${prod.deploymentBucket}`],
      ['s3:PutObject', template],
      // CloudFormation reads a TemplateURL with the caller's permissions
      ['s3:GetObject', template],
      ['s3:DeleteObject', template],
      ['cloudformation:CreateChangeSet', stackArn(), changeSet('api-prod-plan-42')],
      ['cloudformation:DescribeChangeSet', stackArn(), changeSet('api-prod-plan-42')],
      ['cloudformation:ListChangeSets', stackArn()],
      ['cloudformation:DeleteChangeSet', stackArn(), changeSet('api-prod-plan-42')],
      // the stage had no stack: the CREATE change set left one in REVIEW_IN_PROGRESS, with the plan tag
      [
        'cloudformation:CreateChangeSet',
        stackArn(),
        {
          ...changeSet('api-prod-plan-43'),
          [`aws:RequestTag/${PLAN_TAG}`]: 'true',
          'aws:TagKeys': [PLAN_TAG]
        }
      ],
      ['cloudformation:DeleteStack', stackArn(), { [`aws:ResourceTag/${PLAN_TAG}`]: 'true' }],
      // CodeSha256 of the deployed functions
      ['lambda:GetFunctionConfiguration', fn('api-prod-api')]
    ]
  }

  it('reads the stack, creates, describes and deletes its change sets, uploads its templates', async () => {
    const decisions = await decide(plan, planCalls())
    expect(refused(decisions)).toEqual([])
    expect(decisions).toHaveLength(16)
  })

  const never = (): Call[] => [
    // the live stack
    ['cloudformation:ExecuteChangeSet', stackArn(), changeSet('api-prod-plan-42')],
    ['cloudformation:ExecuteChangeSet', stackArn(), changeSet('api-prod-change-set')],
    [
      'cloudformation:UpdateStack',
      stackArn(),
      { [`aws:RequestTag/${STAGE_TAG}`]: STACK, 'aws:TagKeys': [STAGE_TAG] }
    ],
    [
      'cloudformation:CreateStack',
      stackArn(),
      { [`aws:RequestTag/${STAGE_TAG}`]: STACK, 'aws:TagKeys': [STAGE_TAG] }
    ],
    ['cloudformation:DeleteStack', stackArn(), { [`aws:ResourceTag/${STAGE_TAG}`]: STACK }],
    ['cloudformation:DeleteStack', stackArn()],
    ['cloudformation:CancelUpdateStack', stackArn()],
    ['cloudformation:ContinueUpdateRollback', stackArn()],
    ['cloudformation:SetStackPolicy', stackArn()],
    [
      'cloudformation:TagResource',
      stackArn(),
      { [`aws:RequestTag/${PLAN_TAG}`]: 'true', 'aws:TagKeys': [PLAN_TAG] }
    ],
    // a change set named like the deploy's (which the deploy role would execute), or with a service role
    ['cloudformation:CreateChangeSet', stackArn(), changeSet('api-prod-change-set')],
    [
      'cloudformation:CreateChangeSet',
      stackArn(),
      { ...changeSet('api-prod-plan-44'), 'cloudformation:RoleArn': `arn:aws:iam::${ACCOUNT}:role/admin` }
    ],
    ['cloudformation:DeleteChangeSet', stackArn(), changeSet('api-prod-change-set')],
    // another stage's or service's stack
    ['cloudformation:CreateChangeSet', stackArn('api-dev'), changeSet('api-dev-plan-1')],
    ['cloudformation:GetTemplate', stackArn('billing-prod')],
    ['cloudformation:DeleteStack', stackArn('api-dev'), { [`aws:ResourceTag/${PLAN_TAG}`]: 'true' }],
    // the bootstrap stack
    ['cloudformation:UpdateStack', prod.stackId],
    // the deployment's artifacts, which serverless rollback and the next deploy read; the bucket itself
    [
      's3:PutObject',
      object(prod.deploymentBucket, 'serverless/api/prod/1795506409540-2026-11-24T07:46:49.540Z/api.zip')
    ],
    [
      's3:GetObject',
      object(
        prod.deploymentBucket,
        'serverless/api/prod/1795506409540-2026-11-24T07:46:49.540Z/compiled-cloudformation-template.json'
      )
    ],
    [
      's3:DeleteObject',
      object(prod.deploymentBucket, 'serverless/api/prod/1795506409540-2026-11-24T07:46:49.540Z/api.zip')
    ],
    ['s3:ListBucket', `arn:aws:s3:::${prod.deploymentBucket}`],
    ['s3:PutBucketPolicy', `arn:aws:s3:::${prod.deploymentBucket}`],
    ['s3:PutObject', object(prod.deploymentBucket, 'plan/api-admin/prod/t.json')],
    // Lambda: code, configuration, invocation, the code's download link
    ['lambda:UpdateFunctionCode', fn('api-prod-api')],
    ['lambda:UpdateFunctionConfiguration', fn('api-prod-api')],
    ['lambda:InvokeFunction', fn('api-prod-api')],
    ['lambda:AddPermission', fn('api-prod-api'), { 'lambda:Principal': 'apigateway.amazonaws.com' }],
    ['lambda:GetFunction', fn('api-prod-api')],
    ['lambda:GetFunctionConfiguration', fn('billing-prod-worker')],
    // API Gateway, IAM, Logs, DynamoDB, and the rest
    [
      'apigateway:PATCH',
      `arn:aws:apigateway:${REGION}::/apis/pr0dap1id/routes/r1`,
      { [`aws:ResourceTag/${STAGE_TAG}`]: STACK }
    ],
    [
      'apigateway:POST',
      `arn:aws:apigateway:${REGION}::/apis`,
      { [`aws:RequestTag/${STAGE_TAG}`]: STACK, 'aws:TagKeys': [STAGE_TAG] }
    ],
    [
      'iam:CreateRole',
      `arn:aws:iam::${ACCOUNT}:role/api-prod-${REGION}-lambdaRole`,
      { 'iam:PermissionsBoundary': prod.boundaryArn }
    ],
    [
      'iam:PassRole',
      `arn:aws:iam::${ACCOUNT}:role/api-prod-${REGION}-lambdaRole`,
      { 'iam:PassedToService': 'lambda.amazonaws.com' }
    ],
    ['logs:DeleteLogGroup', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/api-prod-api`],
    ['logs:FilterLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/api-prod-api`],
    ['dynamodb:PutItem', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/api-prod-items`],
    ['ssm:GetParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/api/prod/db-password`],
    ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/db-AbCdEf`],
    ['sts:AssumeRole', prod.roleArn]
  ]

  it('cannot execute a change set, update, create or delete the live stack, or write to any other service', async () => {
    const decisions = await decide(plan, never())
    expect(allowed(decisions)).toEqual([])
    expect(decisions).toHaveLength(never().length)
  })

  it('explicitly: none of its writes even with AdministratorAccess attached as well', async () => {
    // reads of other resources are then the attached policy's business (GetTemplate already shows the
    // stage's resolved template; the artifacts' templates are the same)
    const reads = /^(cloudformation:GetTemplate|s3:GetObject|lambda:GetFunctionConfiguration) /
    const writes = never().filter(([action]) => !reads.test(`${action} `))
    expect(writes.length).toBe(never().length - 3)
    const decisions = await decide(plan, writes, [ADMIN])
    expect(decisions.filter(d => !d.endsWith(': ExplicitlyDenied'))).toEqual([])
  })

  it('its denies and conditions are what refuses them (the checks above can fail)', async () => {
    const weakened = withoutDeniesOrConditions(plan.permissions)
    const opened = allowed(await decide({ ...plan, permissions: weakened }, never()))
    expect(opened).toEqual(
      expect.arrayContaining([
        `cloudformation:DeleteStack ${stackArn()}: Allowed`,
        expect.stringMatching(/^cloudformation:CreateChangeSet .* Allowed$/)
      ])
    )
  })
})

describe("the deploy role and the plan's change sets and stacks", () => {
  it('never executes a plan change set, never sets the plan tag, never deploys a stack that has it', async () => {
    const stageTag = { [`aws:RequestTag/${STAGE_TAG}`]: STACK }
    const calls: Call[] = [
      ['cloudformation:ExecuteChangeSet', stackArn(), changeSet('api-prod-plan-42')],
      [
        'cloudformation:ExecuteChangeSet',
        stackArn(),
        { ...changeSet('api-prod-change-set'), [`aws:ResourceTag/${PLAN_TAG}`]: 'true' }
      ],
      [
        'cloudformation:UpdateStack',
        stackArn(),
        { ...stageTag, 'aws:TagKeys': [STAGE_TAG], [`aws:ResourceTag/${PLAN_TAG}`]: 'true' }
      ],
      [
        'cloudformation:TagResource',
        stackArn(),
        { [`aws:RequestTag/${PLAN_TAG}`]: 'true', 'aws:TagKeys': [PLAN_TAG] }
      ],
      [
        'cloudformation:CreateChangeSet',
        stackArn(),
        {
          ...changeSet('api-prod-change-set'),
          ...stageTag,
          [`aws:RequestTag/${PLAN_TAG}`]: 'true',
          'aws:TagKeys': [STAGE_TAG, PLAN_TAG]
        }
      ]
    ]
    const decisions = await decide(prod, calls, [ADMIN])
    expect(decisions.filter(d => !d.endsWith(': ExplicitlyDenied'))).toEqual([])
    // but it may delete a REVIEW_IN_PROGRESS stack a plan left behind, and then deploy
    expect(
      refused(
        await decide(prod, [
          ['cloudformation:DeleteStack', stackArn(), { [`aws:ResourceTag/${PLAN_TAG}`]: 'true' }]
        ])
      )
    ).toEqual([])
  })
})
