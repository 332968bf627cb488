/**
 * What the deploy role and the service's roles can do, as CloudFormation (moto) creates them from
 * iam/github-deploy-role.yml, decided by a real IAM policy evaluator (policy-evaluator.ts):
 * - every known privilege-escalation method (escalation-catalogue.json) is refused, or yields only a role
 *   capped by the permissions boundary;
 * - what Serverless v3 needs to deploy and remove the service is allowed;
 * - a service named `api` cannot reach `api-admin`.
 */
import { readFileSync } from 'node:fs'
import { startMoto, type Moto } from '../support/moto.js'
import { ACCOUNT, evaluate, type Context, type Decision, type PolicyDocument } from './policy-evaluator.js'
import { createStack, REGION, type CreatedStack } from './stack.js'

interface Step {
  action: string
  resource: string
  context?: Context
  /** an action AWS's service reference does not list: evaluated without the reference checks */
  unlisted?: boolean
}
interface Path {
  how: string
  outcome: 'denied' | 'bounded'
  steps: Step[]
}
interface Method {
  id: string
  name: string
  source: string
  permissions: string[]
  paths: Path[]
}
interface PayoffRequest extends Step {
  outsideLambda?: boolean
  why?: string
}
interface Catalogue {
  sources: Record<string, string>
  payoff: PayoffRequest[]
  methods: Method[]
}

const catalogue = JSON.parse(
  readFileSync(new URL('./escalation-catalogue.json', import.meta.url), 'utf8')
) as Catalogue

const SERVICE = 'api'
const NEIGHBOUR = 'api-admin' // another service whose name starts with "api-"
const STAGE = 'prod'
const serviceRole = (service: string) => `${service}-${STAGE}-${REGION}-lambdaRole`
const functionArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`
const ADMIN: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }]
}

const bootstrap = (service: string, extra: Record<string, string> = {}) => ({
  GitHubRepository: 'octo-org/octo-app',
  GitHubOwnerId: '1001',
  GitHubRepositoryId: '2002',
  GitHubEnvironment: STAGE,
  CreateOidcProvider: 'false',
  ServiceName: service,
  Stage: STAGE,
  ...extra
})

let moto: Moto | undefined
let api: CreatedStack
let neighbour: CreatedStack
let traced: CreatedStack

beforeAll(async () => {
  moto = await startMoto()
  // The stack name makes the generated deploy role name start with "api-prod-": the role must still not
  // reach itself through the service's role names.
  api = await createStack(moto, `${SERVICE}-${STAGE}-github-deploy`, bootstrap(SERVICE))
  neighbour = await createStack(moto, `${NEIGHBOUR}-${STAGE}-github-deploy`, bootstrap(NEIGHBOUR))
  traced = await createStack(
    moto,
    `traced-${STAGE}-github-deploy`,
    bootstrap('traced', {
      EnableXRay: 'true',
      ExtraFunctionActions: 'dynamodb:GetItem,dynamodb:PutItem,iam:PassRole',
      ExtraFunctionResources: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/traced-${STAGE}-items,arn:aws:iam::${ACCOUNT}:role/*`
    })
  )
}, 120_000)

afterAll(async () => {
  await moto?.stop()
})

function fill(text: string): string {
  const values: Record<string, string> = {
    account: ACCOUNT,
    region: REGION,
    service: SERVICE,
    stage: STAGE,
    neighbour: NEIGHBOUR,
    serviceRole: serviceRole(SERVICE),
    neighbourRole: serviceRole(NEIGHBOUR),
    boundary: api.boundaryArn,
    neighbourBoundary: neighbour.boundaryArn,
    deployRole: api.roleName,
    bootstrapStack: api.stackId
  }
  return text.replace(/\{(\w+)\}/g, (placeholder, name: string) => {
    if (!(name in values)) throw new Error(`unknown placeholder ${placeholder}`)
    return values[name]
  })
}

function filled(step: Step): Step {
  const context: Context = Object.fromEntries(
    Object.entries(step.context ?? {}).map(([key, value]) => [
      key,
      typeof value === 'string' ? fill(value) : value.map(fill)
    ])
  )
  return { ...step, resource: fill(step.resource), context }
}

/** A request made with the deploy role's credentials. */
function asDeployRole(stack: CreatedStack, step: Step, identity = [stack.permissions]): Promise<Decision> {
  const { action, resource, context, unlisted } = filled(step)
  return evaluate(
    {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${stack.roleName}/github-actions`,
      action,
      resource,
      context
    },
    { identity },
    { validate: !unlisted }
  )
}

/**
 * A request made by code running in the service's function, whose role carries the boundary and whatever
 * policies serverless.yml (or an attacker with the deploy role) gave it: here, everything.
 */
function asFunctionRole(
  stack: CreatedStack,
  service: string,
  step: PayoffRequest,
  boundary: PolicyDocument | null = stack.boundary
): Promise<Decision> {
  const { action, resource, context, unlisted } = filled(step)
  const fromFunction: Context = step.outsideLambda
    ? {}
    : { 'lambda:SourceFunctionArn': functionArn(`${service}-${STAGE}-api`) }
  return evaluate(
    {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${serviceRole(service)}/${service}-${STAGE}-api`,
      action,
      resource,
      context: { ...fromFunction, ...context }
    },
    { identity: [ADMIN], boundary: boundary ?? undefined },
    { validate: !unlisted }
  )
}

/** The paths of the catalogue an attacker with the deploy role (given these policies) could complete. */
async function escalations(identity: PolicyDocument[], boundary: PolicyDocument | null): Promise<string[]> {
  const open: string[] = []
  for (const method of catalogue.methods)
    for (const path of method.paths) {
      const decisions = await Promise.all(path.steps.map(step => asDeployRole(api, step, identity)))
      if (decisions.some(d => d !== 'Allowed')) continue
      const payoff = await Promise.all(catalogue.payoff.map(r => asFunctionRole(api, SERVICE, r, boundary)))
      if (path.outcome === 'denied' || payoff.some(d => d === 'Allowed'))
        open.push(`${method.id}: ${path.how}`)
    }
  return open
}

describe('the escalation catalogue', () => {
  it('covers the published methods, each with its source and the permissions it needs', () => {
    const ids = catalogue.methods.map(m => m.id)
    for (let n = 1; n <= 28; n++) expect(ids).toContain(`rhino-${n}`)
    expect(new Set(ids).size).toBe(ids.length)
    expect(catalogue.sources.rhino).toContain(
      'https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/'
    )
    for (const method of catalogue.methods) {
      expect(Object.keys(catalogue.sources)).toContain(method.source)
      expect(method.paths.length).toBeGreaterThan(0)
      // every permission the method names is exercised by some step
      const stepped = new Set(method.paths.flatMap(p => p.steps.map(s => s.action.toLowerCase())))
      for (const permission of method.permissions)
        expect([method.id, stepped.has(permission.toLowerCase())]).toEqual([method.id, true])
      for (const path of method.paths) {
        expect(['denied', 'bounded']).toContain(path.outcome)
        expect(path.steps.length).toBeGreaterThan(0)
      }
    }
    expect(catalogue.payoff.length).toBeGreaterThan(10)
  })
})

describe('privilege escalation with the deploy role', () => {
  it.each(catalogue.methods.map(m => [`${m.id} ${m.name}`, m] as const))(
    '%s: refused',
    async (_title, method) => {
      for (const path of method.paths) {
        const decisions = await Promise.all(path.steps.map(step => asDeployRole(api, step)))
        const steps = path.steps.map((s, i) => `${s.action} ${fill(s.resource)}: ${decisions[i]}`)
        if (path.outcome === 'denied') {
          // at least one step the method needs is refused
          expect({ path: path.how, steps, refused: decisions.some(d => d !== 'Allowed') }).toEqual({
            path: path.how,
            steps,
            refused: true
          })
        } else {
          // every step is one Serverless needs; what it yields is a role of the service, under the boundary
          expect({ path: path.how, steps }).toEqual({
            path: path.how,
            steps: path.steps.map(s => `${s.action} ${fill(s.resource)}: Allowed`)
          })
          const payoff = await Promise.all(catalogue.payoff.map(r => asFunctionRole(api, SERVICE, r)))
          const gained = catalogue.payoff
            .filter((_r, i) => payoff[i] === 'Allowed')
            .map(r => `${r.action} ${fill(r.resource)}`)
          expect({ path: path.how, gained }).toEqual({ path: path.how, gained: [] })
        }
      }
    }
  )

  it('the same catalogue finds escalations when the denies and conditions are taken out (it can fail)', async () => {
    const weakened: PolicyDocument = {
      ...api.permissions,
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      Statement: api.permissions.Statement.filter(s => s.Effect === 'Allow').map(({ Condition, ...s }) => s)
    }
    const open = await escalations([weakened], null)
    expect(open).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rhino-9: AdministratorAccess on the service's own role/),
        expect.stringMatching(/^rhino-12: Action \* on a service role without a boundary/),
        expect.stringMatching(/^review-1: replace it with AdministratorAccess/),
        expect.stringMatching(/^rhino-16: let another account invoke it/)
      ])
    )
    // and with the template's own policies, none
    expect(await escalations([api.permissions], api.boundary)).toEqual([])
  }, 60_000)

  it('the explicit denies hold even if someone also grants the deploy role iam:* (and more on its stacks)', async () => {
    const more: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
        {
          Effect: 'Allow',
          Action: 'cloudformation:*',
          Resource: [`arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${SERVICE}-${STAGE}/*`, api.stackId]
        }
      ]
    }
    expect(await escalations([api.permissions, more], api.boundary)).toEqual([])
  }, 60_000)
})

describe("the permissions boundary of the service's roles", () => {
  const ownLogStream = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${SERVICE}-${STAGE}-api:log-stream:2026/07/20/[$LATEST]abc`

  it('is the ARN serverless.yml gets, with a fixed, predictable name', () => {
    expect(api.boundaryArn).toBe(
      `arn:aws:iam::${ACCOUNT}:policy/${SERVICE}-${STAGE}-${REGION}-lambda-boundary`
    )
    expect(api.outputs.PermissionsBoundaryArn).toBe(api.boundaryArn)
    expect(api.outputs.ServerlessYml).toBe(
      `provider: { iam: { role: { permissionsBoundary: ${api.boundaryArn} } } }`
    )
  })

  it('lets the functions write their own logs, from Lambda only; no X-Ray unless enabled', async () => {
    const write = (action: string, resource: string, outsideLambda = false) =>
      asFunctionRole(api, SERVICE, { action, resource, outsideLambda })
    expect(await write('logs:CreateLogStream', ownLogStream)).toBe('Allowed')
    expect(await write('logs:PutLogEvents', ownLogStream)).toBe('Allowed')
    expect(await write('logs:PutLogEvents', ownLogStream, true)).toBe('ImplicitlyDenied')
    expect(await write('xray:PutTraceSegments', '*')).toBe('ExplicitlyDenied')
    // the role's own identity policy (what Serverless writes) is still needed: the boundary grants nothing alone
    expect(
      await evaluate(
        {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${serviceRole(SERVICE)}/x`,
          action: 'logs:PutLogEvents',
          resource: ownLogStream,
          context: { 'lambda:SourceFunctionArn': functionArn(`${SERVICE}-${STAGE}-api`) }
        },
        { identity: [], boundary: api.boundary }
      )
    ).toBe('ImplicitlyDenied')
  })

  it('with EnableXRay and extra permissions: traces and exactly the extra actions, never IAM', async () => {
    const as = (action: string, resource: string, context: Context = {}) =>
      asFunctionRole(traced, 'traced', { action, resource, context })
    const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/traced-${STAGE}-items`
    expect(await as('xray:PutTraceSegments', '*')).toBe('Allowed')
    expect(await as('xray:PutTelemetryRecords', '*')).toBe('Allowed')
    expect(await as('dynamodb:GetItem', table)).toBe('Allowed')
    expect(await as('dynamodb:DeleteTable', table)).toBe('ImplicitlyDenied')
    expect(await as('dynamodb:GetItem', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/customers`)).toBe(
      'ImplicitlyDenied'
    )
    // listed in ExtraFunctionActions, and still denied by the boundary
    expect(
      await as('iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole`, {
        'iam:PassedToService': 'lambda.amazonaws.com'
      })
    ).toBe('ExplicitlyDenied')
    // X-Ray's credentials outside Lambda do nothing either
    expect(
      await asFunctionRole(traced, 'traced', {
        action: 'xray:PutTraceSegments',
        resource: '*',
        outsideLambda: true
      })
    ).toBe('ImplicitlyDenied')
  })

  it('without extra permissions, denies everything but logs and traces, whatever the role is given', async () => {
    const statements = api.boundary.Statement.map(s => s.Sid)
    expect(statements).toEqual(['OwnLogs', 'NoTracing', 'OnlyLogsAndTracing', 'NeverIamOrTheAccount'])
    for (const request of catalogue.payoff)
      expect([request.action, await asFunctionRole(api, SERVICE, request)]).not.toEqual([
        request.action,
        'Allowed'
      ])
  })
})

describe('what Serverless v3 needs to deploy and remove the service', () => {
  const arn = {
    stack: (name: string) =>
      `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/0f1e2d3c-aaaa-bbbb-cccc-123456789abc`,
    s3: (name: string) => `arn:aws:s3:::${name}`,
    logGroup: (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`,
    layer: (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:${name}`,
    role: (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`,
    api: (path: string) => `arn:aws:apigateway:${REGION}::${path}`
  }
  const bucket = `${SERVICE}-${STAGE}-serverlessdeploymentbucket-1a2b3c4d5e6f7`
  const shortenedBucket = `${SERVICE}-${STAGE}-serverlessdeploymentbuck-1a2b3c4d5e6f7`
  const artifact = `${bucket}/serverless/${SERVICE}/${STAGE}/1795506409540-2026-11-24T07:46:49.540Z/${SERVICE}.zip`
  const stack = `${SERVICE}-${STAGE}`
  const fn = functionArn(`${SERVICE}-${STAGE}-api`)
  const lambdaRole = arn.role(serviceRole(SERVICE))

  // API Gateway's HTTP verbs on HTTP API (/apis) paths are missing from the evaluator's service reference
  type Call = [string, string, Context?]
  const decide = (calls: Call[]) =>
    Promise.all(
      calls.map(async ([action, resource, context]) => {
        const unlisted = action.startsWith('apigateway:') && resource.includes('::/apis')
        return `${action} ${resource}: ${await asDeployRole(api, { action, resource, context, unlisted })}`
      })
    )

  it('allows every call of serverless deploy and remove, and of CloudFormation on their behalf', async () => {
    const withBoundary = { 'iam:PermissionsBoundary': api.boundaryArn }
    // change set calls are authorized on the stack, with the change set's name as a condition key
    const changeSet = { 'cloudformation:ChangeSetName': `${stack}-change-set` }
    const needed: Call[] = [
      ['cloudformation:ValidateTemplate', '*'],
      ['cloudformation:DescribeStacks', arn.stack(stack)],
      ['cloudformation:CreateChangeSet', arn.stack(stack), changeSet],
      ['cloudformation:DescribeChangeSet', arn.stack(stack), changeSet],
      ['cloudformation:ExecuteChangeSet', arn.stack(stack), changeSet],
      ['cloudformation:DeleteChangeSet', arn.stack(stack), changeSet],
      ['cloudformation:CreateStack', arn.stack(stack)],
      ['cloudformation:UpdateStack', arn.stack(stack)],
      ['cloudformation:DescribeStackEvents', arn.stack(stack)],
      ['cloudformation:DescribeStackResource', arn.stack(stack)],
      ['cloudformation:ListStackResources', arn.stack(stack)],
      ['cloudformation:GetTemplate', arn.stack(stack)],
      ['cloudformation:DeleteStack', arn.stack(stack)],
      ['s3:CreateBucket', arn.s3(bucket)],
      ['s3:PutEncryptionConfiguration', arn.s3(bucket)],
      ['s3:PutBucketPolicy', arn.s3(bucket)],
      ['s3:ListBucket', arn.s3(shortenedBucket)],
      ['s3:DeleteBucket', arn.s3(bucket)],
      ['s3:PutObject', arn.s3(artifact)],
      ['s3:GetObject', arn.s3(artifact)],
      ['s3:DeleteObject', arn.s3(artifact)],
      ['lambda:GetFunction', fn],
      ['lambda:CreateFunction', fn],
      ['lambda:UpdateFunctionCode', fn],
      ['lambda:UpdateFunctionConfiguration', fn],
      ['lambda:PublishVersion', fn],
      ['lambda:AddPermission', fn, { 'lambda:Principal': 'apigateway.amazonaws.com' }],
      ['lambda:RemovePermission', fn],
      ['lambda:DeleteFunction', fn],
      ['lambda:PublishLayerVersion', arn.layer(`${SERVICE}-${STAGE}-python-requirements`)],
      ['lambda:GetLayerVersion', arn.layer(`${SERVICE}-${STAGE}-python-requirements:3`)],
      ['logs:CreateLogGroup', arn.logGroup(`/aws/lambda/${SERVICE}-${STAGE}-api`)],
      ['logs:PutRetentionPolicy', arn.logGroup(`/aws/lambda/${SERVICE}-${STAGE}-api`)],
      ['logs:DeleteLogGroup', arn.logGroup(`/aws/lambda/${SERVICE}-${STAGE}-api`)],
      ['logs:DescribeLogGroups', '*'],
      ['iam:GetRole', lambdaRole],
      ['iam:CreateRole', lambdaRole, withBoundary],
      ['iam:PutRolePolicy', lambdaRole, withBoundary],
      ['iam:AttachRolePolicy', lambdaRole, withBoundary],
      ['iam:TagRole', lambdaRole],
      ['iam:DetachRolePolicy', lambdaRole, withBoundary],
      ['iam:DeleteRolePolicy', lambdaRole, withBoundary],
      // adding the boundary to a role made before it existed
      ['iam:PutRolePermissionsBoundary', lambdaRole, withBoundary],
      ['iam:DeleteRole', lambdaRole, withBoundary],
      ['iam:PassRole', lambdaRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }],
      ['apigateway:POST', arn.api('/apis')],
      ['apigateway:POST', arn.api('/apis/a1b2c3d4e5/routes')],
      ['apigateway:PATCH', arn.api('/apis/a1b2c3d4e5/stages/$default')],
      ['apigateway:DELETE', arn.api('/apis/a1b2c3d4e5')]
    ]
    const decisions = await decide(needed)
    expect(decisions.filter(d => !d.endsWith(': Allowed'))).toEqual([])
    expect(decisions).toHaveLength(needed.length)
  })

  it('refuses other stages, other services whose names start the same way, and other actions', async () => {
    const outside: Call[] = [
      ['cloudformation:UpdateStack', arn.stack(`${SERVICE}-dev`)],
      ['cloudformation:UpdateStack', arn.stack(`${NEIGHBOUR}-${STAGE}`)],
      ['cloudformation:DeleteStack', arn.stack(`${SERVICE}-${STAGE}x`)],
      ['cloudformation:DeleteStack', api.stackId],
      ['cloudformation:CreateStack', arn.stack(stack), { 'cloudformation:RoleArn': lambdaRole }],
      ['s3:PutObject', arn.s3(`${NEIGHBOUR}-${STAGE}-serverlessdeploymentbucket-1a2b3c4d5e6f7/x.zip`)],
      ['s3:PutObject', arn.s3(`${SERVICE}-dev-serverlessdeploymentbucket-1a2b3c4d5e6f7/x.zip`)],
      ['s3:CreateBucket', arn.s3(`${SERVICE}-${STAGE}-uploads`)],
      ['s3:PutBucketAcl', arn.s3(bucket)],
      ['lambda:UpdateFunctionCode', functionArn(`${NEIGHBOUR}-${STAGE}-api`)],
      ['lambda:UpdateFunctionCode', functionArn(`${SERVICE}-dev-api`)],
      ['lambda:InvokeFunction', fn],
      ['logs:DeleteLogGroup', arn.logGroup(`/aws/lambda/${NEIGHBOUR}-${STAGE}-api`)],
      ['iam:CreateRole', arn.role(serviceRole(NEIGHBOUR)), { 'iam:PermissionsBoundary': api.boundaryArn }],
      [
        'iam:CreateRole',
        arn.role(`${SERVICE}-dev-${REGION}-lambdaRole`),
        { 'iam:PermissionsBoundary': api.boundaryArn }
      ],
      ['iam:CreateRole', lambdaRole, { 'iam:PermissionsBoundary': neighbour.boundaryArn }],
      ['iam:PassRole', lambdaRole],
      ['iam:PassRole', lambdaRole, { 'iam:PassedToService': 'ec2.amazonaws.com' }],
      ['iam:PassRole', arn.role(serviceRole(NEIGHBOUR)), { 'iam:PassedToService': 'lambda.amazonaws.com' }],
      ['iam:GetRole', api.roleArn],
      ['iam:TagRole', api.roleArn],
      [
        'iam:CreateOpenIDConnectProvider',
        `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`
      ],
      ['apigateway:POST', arn.api('/restapis')],
      ['apigateway:POST', arn.api('/domainnames')],
      ['sts:AssumeRole', lambdaRole]
    ]
    // the generated deploy role name falls inside the service's role names: the explicit deny keeps it out
    expect(api.roleName.startsWith(`${SERVICE}-${STAGE}-`)).toBe(true)
    const decisions = await decide(outside)
    expect(decisions.filter(d => d.endsWith(': Allowed'))).toEqual([])
    expect(decisions).toHaveLength(outside.length)
  })
})
