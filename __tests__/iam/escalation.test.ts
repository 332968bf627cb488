/**
 * What the deploy role and the service's roles can do, as CloudFormation (moto) creates them from
 * iam/github-deploy-role.yml, decided by a real IAM policy evaluator (policy-evaluator.ts), for a role of one
 * stage (Stage=prod) and for a role of the stage-prefix mode (Stage=pr-*, deploying pr-7, pr-123, …):
 * - every known privilege-escalation method (escalation-catalogue.json) is refused, or yields only a role
 *   capped by the permissions boundary;
 * - what Serverless v3 needs to deploy and remove the service is allowed;
 * - a service named `api` cannot reach `api-admin`, and its pr-* role cannot reach `api-prod`.
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
const PREFIX = 'pr-*'
/** Stages the prefix role deploys: the first is the one the catalogue is played at. */
const PREVIEW_STAGES = ['pr-7', 'pr-123']
const serviceRole = (service: string, stage = STAGE) => `${service}-${stage}-${REGION}-lambdaRole`
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

/** One deploy role under test, and the stage it deploys in the requests below. */
interface Target {
  stack: CreatedStack
  /** the neighbour service's stack for the same Stage parameter */
  neighbour: CreatedStack
  stage: string
  /** another stage of the same service, outside this role's Stage */
  otherStage: string
}

let moto: Moto | undefined
let api: CreatedStack
let neighbour: CreatedStack
let traced: CreatedStack
let queued: CreatedStack
let preview: CreatedStack
let neighbourPreview: CreatedStack
const targets: Record<string, () => Target> = {
  'Stage=prod': () => ({ stack: api, neighbour, stage: STAGE, otherStage: 'dev' }),
  [`Stage=${PREFIX} at ${PREVIEW_STAGES[0]}`]: () => ({
    stack: preview,
    neighbour: neighbourPreview,
    stage: PREVIEW_STAGES[0],
    otherStage: STAGE
  })
}
const targetNames = Object.keys(targets)

beforeAll(async () => {
  moto = await startMoto()
  // The stack name makes the generated deploy role name start with "api-prod-": the role must still not
  // reach itself through the service's role names.
  api = await createStack(moto, `${SERVICE}-${STAGE}-github-deploy`, bootstrap(SERVICE))
  neighbour = await createStack(moto, `${NEIGHBOUR}-${STAGE}-github-deploy`, bootstrap(NEIGHBOUR))
  // Likewise "api-pr-…" for the prefix role: its name falls inside api-pr-*.
  const previewParameters = { Stage: PREFIX, GitHubEnvironment: 'preview' }
  preview = await createStack(moto, `${SERVICE}-pr-github-deploy`, bootstrap(SERVICE, previewParameters))
  neighbourPreview = await createStack(
    moto,
    `${NEIGHBOUR}-pr-github-deploy`,
    bootstrap(NEIGHBOUR, previewParameters)
  )
  traced = await createStack(
    moto,
    `traced-${STAGE}-github-deploy`,
    bootstrap('traced', {
      EnableXRay: 'true',
      ExtraFunctionActions: 'dynamodb:GetItem,dynamodb:PutItem,iam:PassRole',
      ExtraFunctionResources: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/traced-${STAGE}-items,arn:aws:iam::${ACCOUNT}:role/*`
    })
  )
  queued = await createStack(
    moto,
    `queued-${STAGE}-github-deploy`,
    bootstrap('queued', {
      ExtraLambdaServiceActions: 'sqs:ReceiveMessage,sqs:DeleteMessage,sqs:GetQueueAttributes',
      ExtraLambdaServiceResources: `arn:aws:sqs:${REGION}:${ACCOUNT}:queued-${STAGE}-jobs`
    })
  )
}, 120_000)

afterAll(async () => {
  await moto?.stop()
})

function fill(text: string, target: Target = targets['Stage=prod']()): string {
  const values: Record<string, string> = {
    account: ACCOUNT,
    region: REGION,
    service: SERVICE,
    stage: target.stage,
    neighbour: NEIGHBOUR,
    serviceRole: serviceRole(SERVICE, target.stage),
    neighbourRole: serviceRole(NEIGHBOUR, target.stage),
    boundary: target.stack.boundaryArn,
    neighbourBoundary: target.neighbour.boundaryArn,
    deployRole: target.stack.roleName,
    bootstrapStack: target.stack.stackId,
    otherStage: target.otherStage,
    bucket: target.stack.deploymentBucket,
    guardrails: target.stack.guardrailsArns[0],
    neighbourBucket: target.neighbour.deploymentBucket
  }
  return text.replace(/\{(\w+)\}/g, (placeholder, name: string) => {
    if (!(name in values)) throw new Error(`unknown placeholder ${placeholder}`)
    return values[name]
  })
}

function filled(step: Step, target: Target): Step {
  const fillIn = (text: string) => fill(text, target)
  const context: Context = Object.fromEntries(
    Object.entries(step.context ?? {}).map(([key, value]) => [
      key,
      typeof value === 'string' ? fillIn(value) : value.map(fillIn)
    ])
  )
  return { ...step, resource: fillIn(step.resource), context }
}

/** A request made with the deploy role's credentials. */
function asDeployRole(target: Target, step: Step, identity = [target.stack.permissions]): Promise<Decision> {
  const { action, resource, context, unlisted } = filled(step, target)
  return evaluate(
    {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${target.stack.roleName}/github-actions`,
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
  target: Target,
  service: string,
  step: PayoffRequest,
  boundary: PolicyDocument | null = target.stack.boundary
): Promise<Decision> {
  const { action, resource, context, unlisted } = filled(step, target)
  const { stage } = target
  const fromFunction: Context = step.outsideLambda
    ? {}
    : { 'lambda:SourceFunctionArn': functionArn(`${service}-${stage}-api`) }
  return evaluate(
    {
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${serviceRole(service, stage)}/${service}-${stage}-api`,
      action,
      resource,
      context: { ...fromFunction, ...context }
    },
    { identity: [ADMIN], boundary: boundary ?? undefined },
    { validate: !unlisted }
  )
}

/** The paths of the catalogue an attacker with the deploy role (given these policies) could complete. */
async function escalations(
  target: Target,
  identity: PolicyDocument[],
  boundary: PolicyDocument | null
): Promise<string[]> {
  const open: string[] = []
  for (const method of catalogue.methods)
    for (const path of method.paths) {
      const decisions = await Promise.all(path.steps.map(step => asDeployRole(target, step, identity)))
      if (decisions.some(d => d !== 'Allowed')) continue
      const payoff = await Promise.all(
        catalogue.payoff.map(r => asFunctionRole(target, SERVICE, r, boundary))
      )
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

describe.each(targetNames)('privilege escalation with the deploy role of %s', name => {
  it.each(catalogue.methods.map(m => [`${m.id} ${m.name}`, m] as const))(
    '%s: refused',
    async (_title, method) => {
      const target = targets[name]()
      for (const path of method.paths) {
        const decisions = await Promise.all(path.steps.map(step => asDeployRole(target, step)))
        const steps = path.steps.map((s, i) => `${s.action} ${fill(s.resource, target)}: ${decisions[i]}`)
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
            steps: path.steps.map(s => `${s.action} ${fill(s.resource, target)}: Allowed`)
          })
          const payoff = await Promise.all(catalogue.payoff.map(r => asFunctionRole(target, SERVICE, r)))
          const gained = catalogue.payoff
            .filter((_r, i) => payoff[i] === 'Allowed')
            .map(r => `${r.action} ${fill(r.resource, target)}`)
          expect({ path: path.how, gained }).toEqual({ path: path.how, gained: [] })
        }
      }
    }
  )

  it('the same catalogue finds escalations when the denies and conditions are taken out (it can fail)', async () => {
    const target = targets[name]()
    const { permissions, boundary } = target.stack
    const weakened: PolicyDocument = {
      ...permissions,
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      Statement: permissions.Statement.filter(s => s.Effect === 'Allow').map(({ Condition, ...s }) => s)
    }
    const open = await escalations(target, [weakened], null)
    expect(open).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rhino-9: AdministratorAccess on the service's own role/),
        expect.stringMatching(/^rhino-12: Action \* on a service role without a boundary/),
        expect.stringMatching(/^review-1: replace it with AdministratorAccess/),
        expect.stringMatching(/^rhino-16: let another account invoke it/)
      ])
    )
    // and with the template's own policies, none
    expect(await escalations(target, [permissions], boundary)).toEqual([])
  }, 60_000)

  it('the explicit denies hold even if someone also grants the deploy role iam:* (and more on its stacks)', async () => {
    const target = targets[name]()
    const more: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
        {
          Effect: 'Allow',
          Action: 'cloudformation:*',
          Resource: [
            `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${SERVICE}-${target.stage}/*`,
            target.stack.stackId
          ]
        }
      ]
    }
    expect(await escalations(target, [target.stack.permissions, more], target.stack.boundary)).toEqual([])
  }, 60_000)
})

describe("the permissions boundary of the service's roles", () => {
  const logStream = (stage: string) =>
    `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${SERVICE}-${stage}-api:log-stream:2026/07/20/[$LATEST]abc`
  const ownLogStream = logStream(STAGE)
  const prod = () => targets['Stage=prod']()
  const tracedTarget = (): Target => ({ stack: traced, neighbour, stage: STAGE, otherStage: 'dev' })

  it('is the ARN serverless.yml gets, with a fixed, predictable name', () => {
    expect(api.boundaryArn).toBe(
      `arn:aws:iam::${ACCOUNT}:policy/${SERVICE}-${STAGE}-${REGION}-lambda-boundary`
    )
    expect(api.outputs.PermissionsBoundaryArn).toBe(api.boundaryArn)
    expect(api.outputs.ServerlessYml).toMatch(
      new RegExp(`^provider: \\{ iam: \\{ role: \\{ permissionsBoundary: ${api.boundaryArn} \\} \\},`)
    )
  })

  it('in prefix mode is one boundary for every stage of the prefix, named with _ for the *', () => {
    // "_" is in no stage name: the shared boundary cannot take the name of a single stage's (api-pr-…)
    expect(preview.boundaryArn).toBe(
      `arn:aws:iam::${ACCOUNT}:policy/${SERVICE}-pr-_-${REGION}-lambda-boundary`
    )
    expect(preview.outputs.ServerlessYml).toMatch(
      new RegExp(`^provider: \\{ iam: \\{ role: \\{ permissionsBoundary: ${preview.boundaryArn} \\} \\},`)
    )
    expect(new Set([api, neighbour, preview, neighbourPreview].map(s => s.boundaryArn)).size).toBe(4)
  })

  it('lets the functions write their own logs, from Lambda only; no X-Ray unless enabled', async () => {
    const write = (action: string, resource: string, outsideLambda = false) =>
      asFunctionRole(prod(), SERVICE, { action, resource, outsideLambda })
    expect(await write('logs:CreateLogStream', ownLogStream)).toBe('Allowed')
    expect(await write('logs:PutLogEvents', ownLogStream)).toBe('Allowed')
    expect(await write('logs:PutLogEvents', ownLogStream, true)).toBe('ExplicitlyDenied')
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

  it('in prefix mode lets each preview function write its own logs, and no stage outside the prefix', async () => {
    const write = (stage: string, logStage: string) =>
      asFunctionRole({ stack: preview, neighbour: neighbourPreview, stage, otherStage: STAGE }, SERVICE, {
        action: 'logs:PutLogEvents',
        resource: logStream(logStage)
      })
    for (const stage of PREVIEW_STAGES) expect([stage, await write(stage, stage)]).toEqual([stage, 'Allowed'])
    // a function of a preview stage writing into prod's logs, and a prod function under the preview boundary
    expect(await write(PREVIEW_STAGES[0], STAGE)).toBe('ImplicitlyDenied')
    expect(await write(STAGE, STAGE)).toBe('ImplicitlyDenied')
    expect(await write('preview-1', 'preview-1')).toBe('ImplicitlyDenied')
  })

  it('with EnableXRay and extra permissions: traces and exactly the extra actions, never IAM', async () => {
    const as = (action: string, resource: string, context: Context = {}) =>
      asFunctionRole(tracedTarget(), 'traced', { action, resource, context })
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
    // the role's credentials outside Lambda do nothing: neither X-Ray nor the extra actions
    // (ExtraFunctionPermissions carries lambda:SourceFunctionArn, like the logs)
    for (const [action, resource] of [
      ['xray:PutTraceSegments', '*'],
      ['dynamodb:GetItem', table]
    ])
      expect([
        action,
        await asFunctionRole(tracedTarget(), 'traced', { action, resource, outsideLambda: true })
      ]).toEqual([action, 'ExplicitlyDenied'])
    // nor from another service's function
    expect(
      await asFunctionRole(tracedTarget(), 'traced', {
        action: 'dynamodb:GetItem',
        resource: table,
        context: { 'lambda:SourceFunctionArn': functionArn('billing-prod-worker') }
      })
    ).toBe('ImplicitlyDenied')
  })

  it("with ExtraLambdaServiceActions: what Lambda itself calls outside the function, and nothing from the function's code", async () => {
    const target: Target = { stack: queued, neighbour, stage: STAGE, otherStage: 'dev' }
    const queue = `arn:aws:sqs:${REGION}:${ACCOUNT}:queued-${STAGE}-jobs`
    const as = (action: string, resource: string, outsideLambda: boolean) =>
      asFunctionRole(target, 'queued', { action, resource, outsideLambda })
    expect(queued.boundary.Statement.map(s => s.Sid)).toEqual([
      'OwnLogs',
      'NoTracing',
      'OnlyLogsAndTracing',
      'ExtraLambdaServicePermissions',
      'NeverIamOrTheAccount'
    ])
    // the event source mapping's poller, which Lambda runs without lambda:SourceFunctionArn
    expect(await as('sqs:ReceiveMessage', queue, true)).toBe('Allowed')
    expect(await as('sqs:DeleteMessage', queue, true)).toBe('Allowed')
    expect(await as('sqs:SendMessage', queue, true)).toBe('ImplicitlyDenied')
    expect(await as('sqs:ReceiveMessage', `arn:aws:sqs:${REGION}:${ACCOUNT}:payments`, true)).toBe(
      'ImplicitlyDenied'
    )
    // the function's own code gets none of it (ExtraFunctionActions is empty), and still writes its logs
    expect(await as('sqs:ReceiveMessage', queue, false)).toBe('ExplicitlyDenied')
    expect(
      await as(
        'logs:PutLogEvents',
        `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/queued-${STAGE}-api:log-stream:x`,
        false
      )
    ).toBe('Allowed')
  })

  it.each(targetNames)(
    '%s: without extra permissions, denies everything but logs and traces, whatever the role is given',
    async name => {
      const target = targets[name]()
      const statements = target.stack.boundary.Statement.map(s => s.Sid)
      expect(statements).toEqual([
        'OwnLogs',
        'NoTracing',
        'OnlyLogsAndTracing',
        'NothingOutsideTheFunctions',
        'NeverIamOrTheAccount'
      ])
      for (const request of catalogue.payoff)
        expect([request.action, await asFunctionRole(target, SERVICE, request)]).not.toEqual([
          request.action,
          'Allowed'
        ])
    }
  )
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
  const STAGE_TAG = 'serverless-python-deploy:stack'

  // API Gateway's HTTP verbs on HTTP API (/apis) and tag (/tags) paths are missing from the evaluator's service
  // reference
  type Call = [string, string, Context?]
  const decide = (stack: CreatedStack, calls: Call[]) =>
    Promise.all(
      calls.map(async ([action, resource, context]) => {
        const unlisted = action.startsWith('apigateway:') && /::\/(apis|tags)/.test(resource)
        const target = { stack, neighbour, stage: STAGE, otherStage: 'dev' }
        return `${action} ${resource}: ${await asDeployRole(target, { action, resource, context, unlisted })}`
      })
    )

  /**
   * Every call of serverless deploy and remove for one stage, and of CloudFormation on their behalf, with a
   * custom deployment bucket (the bootstrap's) and the stage's tag in provider.stackTags and provider.tags.
   * Rewritten for the isolated bootstrap: Serverless no longer creates, configures or deletes its own bucket
   * (CreateBucket, PutEncryptionConfiguration, PutBucketPolicy, DeleteBucket are now refused, see below).
   */
  function needed(stage: string, created: CreatedStack): Call[] {
    const withBoundary = { 'iam:PermissionsBoundary': created.boundaryArn }
    const stack = `${SERVICE}-${stage}`
    const stackTag = { [`aws:RequestTag/${STAGE_TAG}`]: stack, 'aws:TagKeys': ['STAGE', STAGE_TAG] }
    // change set calls are authorized on the stack, with the change set's name as a condition key
    const changeSet = { 'cloudformation:ChangeSetName': `${stack}-change-set` }
    const deploymentBucket = created.deploymentBucket
    const artifact = `${deploymentBucket}/serverless/${SERVICE}/${stage}/1795506409540-2026-11-24T07:46:49.540Z/${SERVICE}.zip`
    const fn = functionArn(`${SERVICE}-${stage}-api`)
    const lambdaRole = arn.role(serviceRole(SERVICE, stage))
    const ownApi = { [`aws:ResourceTag/${STAGE_TAG}`]: stack }
    return [
      ['cloudformation:ValidateTemplate', '*'],
      ['cloudformation:DescribeStacks', arn.stack(stack)],
      ['cloudformation:CreateChangeSet', arn.stack(stack), { ...changeSet, ...stackTag }],
      ['cloudformation:DescribeChangeSet', arn.stack(stack), changeSet],
      ['cloudformation:ExecuteChangeSet', arn.stack(stack), changeSet],
      ['cloudformation:DeleteChangeSet', arn.stack(stack), changeSet],
      ['cloudformation:CreateStack', arn.stack(stack), stackTag],
      ['cloudformation:UpdateStack', arn.stack(stack), stackTag],
      ['cloudformation:DescribeStackEvents', arn.stack(stack)],
      ['cloudformation:DescribeStackResource', arn.stack(stack)],
      ['cloudformation:ListStackResources', arn.stack(stack)],
      ['cloudformation:GetTemplate', arn.stack(stack)],
      ['cloudformation:DeleteStack', arn.stack(stack)],
      // ensure-valid-bucket-exists, check-for-changes, cleanup, remove (HeadBucket is s3:ListBucket)
      ['s3:GetBucketLocation', arn.s3(deploymentBucket)],
      ['s3:ListBucket', arn.s3(deploymentBucket)],
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
      ['lambda:PublishLayerVersion', arn.layer(`${SERVICE}-${stage}-python-requirements`)],
      ['lambda:GetLayerVersion', arn.layer(`${SERVICE}-${stage}-python-requirements:3`)],
      ['logs:CreateLogGroup', arn.logGroup(`/aws/lambda/${SERVICE}-${stage}-api`)],
      ['logs:PutRetentionPolicy', arn.logGroup(`/aws/lambda/${SERVICE}-${stage}-api`)],
      ['logs:DeleteLogGroup', arn.logGroup(`/aws/lambda/${SERVICE}-${stage}-api`)],
      ['logs:DescribeLogGroups', '*'],
      // the action, when a smoke test fails: the functions' log events since the deploy
      ['logs:FilterLogEvents', arn.logGroup(`/aws/lambda/${SERVICE}-${stage}-api`)],
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
      // CreateApi with the tags of provider.tags and the stack's; then everything below it by its tag
      ['apigateway:POST', arn.api('/apis'), stackTag],
      // the same request's tags, authorized on the tags of the API it is about to create (a literal *)
      [
        'apigateway:POST',
        arn.api('/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fv2%2Fapis%2F*'),
        stackTag
      ],
      ['apigateway:GET', arn.api('/apis')],
      ['apigateway:GET', arn.api('/apis/a1b2c3d4e5'), ownApi],
      ['apigateway:POST', arn.api('/apis/a1b2c3d4e5/integrations'), ownApi],
      ['apigateway:POST', arn.api('/apis/a1b2c3d4e5/routes'), ownApi],
      ['apigateway:PATCH', arn.api('/apis/a1b2c3d4e5/routes/r0ut3'), ownApi],
      ['apigateway:POST', arn.api('/apis/a1b2c3d4e5/stages'), { ...ownApi, ...stackTag }],
      ['apigateway:PATCH', arn.api('/apis/a1b2c3d4e5/stages/$default'), ownApi],
      ['apigateway:POST', arn.api('/apis/a1b2c3d4e5/deployments'), ownApi],
      ['apigateway:DELETE', arn.api('/apis/a1b2c3d4e5/authorizers/au7h'), ownApi],
      ['apigateway:GET', arn.api('/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1b2c3d4e5')],
      ['apigateway:DELETE', arn.api('/apis/a1b2c3d4e5'), ownApi]
    ]
  }

  it('allows every call of serverless deploy and remove, and of CloudFormation on their behalf', async () => {
    const calls = needed(STAGE, api)
    const decisions = await decide(api, calls)
    expect(decisions.filter(d => !d.endsWith(': Allowed'))).toEqual([])
    expect(decisions).toHaveLength(calls.length)
  })

  it.each(PREVIEW_STAGES)('in prefix mode (%s), allows the same calls for the stage', async stage => {
    const calls = needed(stage, preview)
    const decisions = await decide(preview, calls)
    expect(decisions.filter(d => !d.endsWith(': Allowed'))).toEqual([])
    expect(decisions).toHaveLength(calls.length)
  })

  it('refuses other stages, other services whose names start the same way, and other actions', async () => {
    const stack = `${SERVICE}-${STAGE}`
    const fn = functionArn(`${SERVICE}-${STAGE}-api`)
    const lambdaRole = arn.role(serviceRole(SERVICE))
    const outside: Call[] = [
      ['cloudformation:UpdateStack', arn.stack(`${SERVICE}-dev`)],
      ['cloudformation:UpdateStack', arn.stack(`${NEIGHBOUR}-${STAGE}`)],
      ['cloudformation:DeleteStack', arn.stack(`${SERVICE}-${STAGE}x`)],
      ['cloudformation:DeleteStack', api.stackId],
      ['cloudformation:CreateStack', arn.stack(stack), { 'cloudformation:RoleArn': lambdaRole }],
      ['s3:PutObject', arn.s3(`${neighbour.deploymentBucket}/serverless/${NEIGHBOUR}/${STAGE}/x.zip`)],
      // its own bucket, another stage's or service's prefix, or outside serverless/
      ['s3:PutObject', arn.s3(`${api.deploymentBucket}/serverless/${SERVICE}/dev/x.zip`)],
      ['s3:PutObject', arn.s3(`${api.deploymentBucket}/serverless/${NEIGHBOUR}/${STAGE}/x.zip`)],
      ['s3:PutObject', arn.s3(`${api.deploymentBucket}/plan/${SERVICE}/${STAGE}/x.json`)],
      ['s3:CreateBucket', arn.s3(`${SERVICE}-${STAGE}-uploads`)],
      // what Serverless did with the bucket it created itself, which the bootstrap's bucket no longer needs
      ['s3:CreateBucket', arn.s3(`${SERVICE}-${STAGE}-serverlessdeploymentbucket-1a2b3c4d5e6f7`)],
      ['s3:PutBucketPolicy', arn.s3(api.deploymentBucket)],
      ['s3:DeleteBucket', arn.s3(api.deploymentBucket)],
      ['s3:PutBucketAcl', arn.s3(api.deploymentBucket)],
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
    const decisions = await decide(api, outside)
    expect(decisions.filter(d => d.endsWith(': Allowed'))).toEqual([])
    expect(decisions).toHaveLength(outside.length)
  })

  it(`in prefix mode (${PREFIX}), refuses ${SERVICE}-prod, ${NEIGHBOUR}, stages outside the prefix and itself`, async () => {
    const [stage] = PREVIEW_STAGES
    const previewRole = arn.role(serviceRole(SERVICE, stage))
    // stages that start like the prefix but are outside it (pr-* is "pr-" then anything); a stage named
    // exactly "pr" is not among them: its role api-pr-REGION-lambdaRole reads as a stage "pr-REGION"
    // (iam/README.md says so)
    const strangers = [STAGE, 'preview-1', 'pro-1', 'prx', 'dev']
    const outside: Call[] = [
      ...strangers.flatMap((other): Call[] => [
        ['cloudformation:UpdateStack', arn.stack(`${SERVICE}-${other}`)],
        ['cloudformation:DeleteStack', arn.stack(`${SERVICE}-${other}`)],
        ['s3:PutObject', arn.s3(`${preview.deploymentBucket}/serverless/${SERVICE}/${other}/x.zip`)],
        ['s3:PutObject', arn.s3(`${api.deploymentBucket}/serverless/${SERVICE}/${other}/x.zip`)],
        ['lambda:UpdateFunctionCode', functionArn(`${SERVICE}-${other}-api`)],
        ['lambda:PublishLayerVersion', arn.layer(`${SERVICE}-${other}-python-requirements`)],
        ['logs:DeleteLogGroup', arn.logGroup(`/aws/lambda/${SERVICE}-${other}-api`)],
        [
          'iam:CreateRole',
          arn.role(serviceRole(SERVICE, other)),
          { 'iam:PermissionsBoundary': preview.boundaryArn }
        ],
        [
          'iam:PutRolePolicy',
          arn.role(serviceRole(SERVICE, other)),
          { 'iam:PermissionsBoundary': preview.boundaryArn }
        ],
        [
          'iam:PassRole',
          arn.role(serviceRole(SERVICE, other)),
          { 'iam:PassedToService': 'lambda.amazonaws.com' }
        ]
      ]),
      // the neighbour's previews and its prod stage
      ['cloudformation:UpdateStack', arn.stack(`${NEIGHBOUR}-${stage}`)],
      ['cloudformation:UpdateStack', arn.stack(`${NEIGHBOUR}-${STAGE}`)],
      ['s3:PutObject', arn.s3(`${neighbourPreview.deploymentBucket}/serverless/${NEIGHBOUR}/${stage}/x.zip`)],
      ['s3:PutObject', arn.s3(`${preview.deploymentBucket}/serverless/${NEIGHBOUR}/${stage}/x.zip`)],
      ['lambda:UpdateFunctionCode', functionArn(`${NEIGHBOUR}-${stage}-api`)],
      ['logs:DeleteLogGroup', arn.logGroup(`/aws/lambda/${NEIGHBOUR}-${stage}-api`)],
      [
        'iam:CreateRole',
        arn.role(serviceRole(NEIGHBOUR, stage)),
        { 'iam:PermissionsBoundary': preview.boundaryArn }
      ],
      // a preview role under any boundary but the shared preview one (prod's, the neighbour's, none)
      ['iam:CreateRole', previewRole, { 'iam:PermissionsBoundary': api.boundaryArn }],
      ['iam:CreateRole', previewRole, { 'iam:PermissionsBoundary': neighbourPreview.boundaryArn }],
      ['iam:CreateRole', previewRole],
      ['iam:DeleteRolePermissionsBoundary', previewRole, { 'iam:PermissionsBoundary': preview.boundaryArn }],
      ['iam:CreatePolicyVersion', preview.boundaryArn],
      ['iam:PassRole', previewRole, { 'iam:PassedToService': 'ec2.amazonaws.com' }],
      ['iam:GetRole', preview.roleArn],
      ['iam:TagRole', preview.roleArn],
      ['cloudformation:DeleteStack', preview.stackId],
      ['lambda:InvokeFunction', functionArn(`${SERVICE}-${stage}-api`)]
    ]
    // the generated deploy role name falls inside api-pr-*: the explicit deny keeps it out
    expect(preview.roleName.startsWith(`${SERVICE}-pr-`)).toBe(true)
    const decisions = await decide(preview, outside)
    expect(decisions.filter(d => d.endsWith(': Allowed'))).toEqual([])
    expect(decisions).toHaveLength(outside.length)
  })
})
