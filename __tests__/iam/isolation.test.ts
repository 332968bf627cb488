/**
 * No stage's deploy role reaches another stage: the bootstrap as CloudFormation (moto) creates it for one
 * service's prod and dev stages and its pull request previews (Stage=pr-*), and for another service whose name
 * starts the same way, decided by the IAM policy evaluator (policy-evaluator.ts).
 * - HTTP APIs have random ids, so a tag scopes them: serverless-python-deploy:stack = SERVICE-STAGE, set when
 *   the API is created (aws:RequestTag), required on everything below /apis/ID (aws:ResourceTag), and never
 *   set, changed or removed afterwards (aws:TagKeys on /tags/…).
 * - Each bootstrap stack has its own deployment bucket, whose policy no role may change; a role reads and
 *   writes objects only under serverless/SERVICE/STAGE/ in it.
 * - logs:FilterLogEvents (the action's "function logs on a failed smoke test") on the stage's log groups only.
 */
import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import { startMoto, type Moto } from '../support/moto.js'
import {
  ACCOUNT,
  evaluate,
  withoutDeniesOrConditions,
  type Context,
  type Decision,
  type PolicyDocument
} from './policy-evaluator.js'
import { createStack, REGION, templatePath, type CreatedStack } from './stack.js'

const SERVICE = 'api'
const NEIGHBOUR = 'api-admin'
const TAG = 'serverless-python-deploy:stack'

let moto: Moto | undefined
let prod: CreatedStack
let dev: CreatedStack
let previews: CreatedStack
let neighbour: CreatedStack

const bootstrap = (service: string, Stage: string, GitHubEnvironment: string) => ({
  GitHubRepository: 'octo-org/octo-app',
  GitHubOwnerId: '1001',
  GitHubRepositoryId: '2002',
  CreateOidcProvider: 'false',
  ServiceName: service,
  Stage,
  GitHubEnvironment
})

beforeAll(async () => {
  moto = await startMoto()
  prod = await createStack(moto, 'bootstrap-prod', bootstrap(SERVICE, 'prod', 'prod'))
  dev = await createStack(moto, 'bootstrap-dev', bootstrap(SERVICE, 'dev', 'dev'))
  previews = await createStack(moto, 'bootstrap-previews', bootstrap(SERVICE, 'pr-*', 'preview'))
  neighbour = await createStack(moto, 'bootstrap-neighbour', bootstrap(NEIGHBOUR, 'prod', 'prod'))
}, 120_000)

afterAll(async () => {
  await moto?.stop()
})

type Call = [action: string, resource: string, context?: Context]

const arn = {
  stack: (name: string) =>
    `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/0f1e2d3c-aaaa-bbbb-cccc-123456789abc`,
  fn: (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
  logGroup: (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${name}`,
  api: (path: string) => `arn:aws:apigateway:${REGION}::${path}`,
  /** the /tags resource of an HTTP API: the API's ARN, URL-encoded */
  apiTags: (id: string) =>
    `arn:aws:apigateway:${REGION}::/tags/${encodeURIComponent(arn.api(`/apis/${id}`))}`,
  object: (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`
}
/** IAM's view of an HTTP API that carries the tag of stack SERVICE-STAGE */
const taggedAs = (stack: string): Context => ({ [`aws:ResourceTag/${TAG}`]: stack })
const requestTags = (tags: Record<string, string>): Context => ({
  ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
  'aws:TagKeys': Object.keys(tags)
})

/** Each call made with the deploy role of `stack`, as "action resource: decision". */
async function decide(stack: CreatedStack, calls: Call[], extra: PolicyDocument[] = []): Promise<string[]> {
  return Promise.all(
    calls.map(async ([action, resource, context]) => {
      // API Gateway's HTTP verbs on /apis and /tags paths are missing from the evaluator's service reference
      const unlisted = action.startsWith('apigateway:') && /::\/(apis|tags)/.test(resource)
      const decision: Decision = await evaluate(
        {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${stack.roleName}/github-actions`,
          action,
          resource,
          context
        },
        { identity: [stack.permissions, ...extra] },
        { validate: !unlisted }
      )
      return `${action} ${resource}: ${decision}`
    })
  )
}
const allowed = (decisions: string[]) => decisions.filter(d => d.endsWith(': Allowed'))
const refused = (decisions: string[]) => decisions.filter(d => !d.endsWith(': Allowed'))

/** Everything a role could do to the HTTP API with id `id` of stack `owner`, and to its tag. */
function apiCalls(id: string, owner: string, ownTag: string): Call[] {
  const api = (path = '') => arn.api(`/apis/${id}${path}`)
  const tag = taggedAs(owner)
  return [
    ['apigateway:PATCH', api(), tag],
    ['apigateway:DELETE', api(), tag],
    // ReimportApi: the whole API from an OpenAPI document
    ['apigateway:PUT', api(), tag],
    // repoint a route, or add one
    ['apigateway:PATCH', api('/routes/r0ut3'), tag],
    ['apigateway:DELETE', api('/routes/r0ut3'), tag],
    ['apigateway:POST', api('/routes'), tag],
    // point the integration at another function
    ['apigateway:PATCH', api('/integrations/1nt3g'), tag],
    ['apigateway:POST', api('/integrations'), tag],
    // the authorizer
    ['apigateway:DELETE', api('/authorizers/au7h'), tag],
    ['apigateway:PATCH', api('/authorizers/au7h'), tag],
    // the stage and its deployments
    ['apigateway:PATCH', api('/stages/$default'), tag],
    ['apigateway:DELETE', api('/stages/$default'), tag],
    ['apigateway:POST', api('/deployments'), tag],
    // retag it: as one's own, or without the stage tag, or with another tag
    ['apigateway:POST', arn.apiTags(id), requestTags({ [TAG]: ownTag })],
    ['apigateway:DELETE', arn.apiTags(id), { 'aws:TagKeys': [TAG] }],
    ['apigateway:POST', arn.apiTags(id), requestTags({ team: 'payments' })]
  ]
}

describe('HTTP APIs: each role changes only the APIs that carry its own stage tag', () => {
  it("the pr-7 role cannot update, delete or retag prod's API, its routes, integrations, authorizer or stage", async () => {
    const calls = apiCalls('pr0dap1id', 'api-prod', 'api-pr-7')
    const decisions = await decide(previews, calls)
    expect(allowed(decisions)).toEqual([])
    expect(decisions).toHaveLength(16)
    // explicitly: it holds with API Gateway granted on top (but for tags other than the stage's, which
    // the explicit denies leave to whatever else is attached)
    const apiGatewayAdmin: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'apigateway:*', Resource: '*' }]
    }
    const withAdmin = await decide(previews, calls.slice(0, 15), [apiGatewayAdmin])
    expect(withAdmin.filter(d => !d.endsWith(': ExplicitlyDenied'))).toEqual([])
  })

  it("nor dev's, nor the neighbour service's, nor an API that has no stage tag", async () => {
    const calls = [
      ...apiCalls('d3vap1id', 'api-dev', 'api-pr-7'),
      ...apiCalls('n3ighb0ur', 'api-admin-pr-7', 'api-pr-7'),
      // made by hand, or before the bootstrap: the key is absent
      ...apiCalls('untagged', 'unused', 'api-pr-7').map(([a, r, c]): Call => [
        a,
        r,
        r.includes('/tags/') ? c : {}
      ])
    ]
    expect(allowed(await decide(previews, calls))).toEqual([])
  })

  it('the dev and prod roles cannot reach each other, nor the previews', async () => {
    expect(allowed(await decide(dev, apiCalls('pr0dap1id', 'api-prod', 'api-dev')))).toEqual([])
    expect(allowed(await decide(prod, apiCalls('d3vap1id', 'api-dev', 'api-prod')))).toEqual([])
    expect(allowed(await decide(prod, apiCalls('pr7ap1id', 'api-pr-7', 'api-prod')))).toEqual([])
    expect(allowed(await decide(neighbour, apiCalls('pr0dap1id', 'api-prod', 'api-admin-prod')))).toEqual([])
  })

  it('each role does change its own API (what CloudFormation does for it), but never its tag', async () => {
    const own = (id: string, owner: string) => {
      const calls = apiCalls(id, owner, owner)
      return { changes: calls.slice(0, 13), retags: calls.slice(13) }
    }
    for (const [stack, id, owner] of [
      [previews, 'pr7ap1id', 'api-pr-7'],
      [previews, 'pr123ap1', 'api-pr-123'],
      [prod, 'pr0dap1id', 'api-prod'],
      [dev, 'd3vap1id', 'api-dev']
    ] as const) {
      const { changes, retags } = own(id, owner)
      expect(refused(await decide(stack, changes))).toEqual([])
      expect(allowed(await decide(stack, retags))).toEqual([])
    }
  })

  it("creates an API only with its own stage tag: not prod's, not none, and not by ImportApi", async () => {
    const create = (tags: Record<string, string>): Call => [
      'apigateway:POST',
      arn.api('/apis'),
      requestTags(tags)
    ]
    const withOwnTag = [create({ [TAG]: 'api-pr-7', STAGE: 'pr-7' })]
    const without: Call[] = [
      create({ [TAG]: 'api-prod' }),
      create({ [TAG]: 'api-admin-pr-7' }),
      create({ STAGE: 'pr-7' }),
      ['apigateway:POST', arn.api('/apis'), {}],
      ['apigateway:PUT', arn.api('/apis'), {}]
    ]
    expect(refused(await decide(previews, withOwnTag))).toEqual([])
    expect(allowed(await decide(previews, without))).toEqual([])
  })

  it('tags an API only as it creates it: the create-time check on /v2/apis/* (a literal *), with its own tag', async () => {
    // Creating an HTTP API with tags is also authorized as POST on the tags of arn:…:/v2/apis/*, the API not
    // having an id yet (AccessDenied messages name that resource); the policy matches the * literally (${*}).
    // The evaluator reads a * in a request's resource as a pattern, so it checks the allow by overlap (and the
    // denies of other stages' tags use a plain *, which also covers it); requests naming a real id below are
    // matched exactly.
    const tagsOf = (arnPath: string) =>
      arn.api(`/tags/${encodeURIComponent(`arn:aws:apigateway:${REGION}::${arnPath}`)}`)
    const onCreate = (path: string, tags: Record<string, string>): Call => [
      'apigateway:POST',
      tagsOf(path),
      requestTags(tags)
    ]
    expect(tagsOf('/v2/apis/*')).toBe(
      `arn:aws:apigateway:${REGION}::/tags/arn%3Aaws%3Aapigateway%3A${REGION}%3A%3A%2Fv2%2Fapis%2F*`
    )
    expect(
      refused(await decide(previews, [onCreate('/v2/apis/*', { [TAG]: 'api-pr-7', STAGE: 'pr-7' })]))
    ).toEqual([])
    const apiGatewayAdmin: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'apigateway:*', Resource: '*' }]
    }
    const refusedCalls: Call[] = [
      // another stage's tag on a new API
      onCreate('/v2/apis/*', { [TAG]: 'api-prod' }),
      // the same pattern naming an existing API: its own tag onto prod's API
      onCreate('/v2/apis/pr0dap1id', { [TAG]: 'api-pr-7' }),
      onCreate('/apis/pr0dap1id', { [TAG]: 'api-pr-7' }),
      onCreate('/apis/pr0dap1id/stages/$default', { [TAG]: 'api-pr-7' })
    ]
    expect(allowed(await decide(previews, refusedCalls))).toEqual([])
    // explicitly: it holds with API Gateway granted on top
    expect(
      (await decide(previews, refusedCalls, [apiGatewayAdmin])).filter(d => !d.endsWith(': ExplicitlyDenied'))
    ).toEqual([])
  })

  it('no REST API (v1) at all, whatever its tags', async () => {
    const calls: Call[] = [
      ['apigateway:POST', arn.api('/restapis'), requestTags({ [TAG]: 'api-pr-7' })],
      ['apigateway:PATCH', arn.api('/restapis/r3st'), taggedAs('api-pr-7')],
      ['apigateway:DELETE', arn.api('/restapis/r3st'), taggedAs('api-prod')]
    ]
    expect(allowed(await decide(previews, calls))).toEqual([])
  })

  it('the tag conditions are what refuses them (the checks above can fail)', async () => {
    // the same role without its tag conditions and denies reaches prod's API
    const weakened = withoutDeniesOrConditions(previews.permissions)
    const weakenedStack = { ...previews, permissions: weakened }
    const decisions = await decide(weakenedStack, apiCalls('pr0dap1id', 'api-prod', 'api-pr-7'))
    expect(allowed(decisions).length).toBeGreaterThanOrEqual(13)
  })
})

describe("the pr-7 role cannot touch prod's functions, log groups or stack", () => {
  it('refuses every change to them, and reading their logs', async () => {
    const fn = arn.fn('api-prod-api')
    const stack = arn.stack('api-prod')
    const calls: Call[] = [
      ['lambda:UpdateFunctionCode', fn],
      ['lambda:UpdateFunctionConfiguration', fn],
      ['lambda:DeleteFunction', fn],
      ['lambda:PublishVersion', fn],
      ['lambda:AddPermission', fn, { 'lambda:Principal': 'apigateway.amazonaws.com' }],
      ['lambda:TagResource', fn, requestTags({ [TAG]: 'api-pr-7' })],
      ['logs:DeleteLogGroup', arn.logGroup('api-prod-api')],
      ['logs:PutRetentionPolicy', arn.logGroup('api-prod-api')],
      ['logs:FilterLogEvents', arn.logGroup('api-prod-api')],
      ['logs:TagResource', arn.logGroup('api-prod-api'), requestTags({ [TAG]: 'api-pr-7' })],
      // its stack, under its own tag or under the preview's
      ['cloudformation:UpdateStack', stack, requestTags({ [TAG]: 'api-prod' })],
      ['cloudformation:UpdateStack', stack, requestTags({ [TAG]: 'api-pr-7' })],
      ['cloudformation:DeleteStack', stack],
      [
        'cloudformation:CreateChangeSet',
        stack,
        { 'cloudformation:ChangeSetName': 'api-prod-change-set', ...requestTags({ [TAG]: 'api-prod' }) }
      ],
      ['cloudformation:ExecuteChangeSet', stack, { 'cloudformation:ChangeSetName': 'api-prod-change-set' }],
      ['cloudformation:TagResource', stack, requestTags({ [TAG]: 'api-pr-7' })],
      ['cloudformation:UntagResource', stack, { 'aws:TagKeys': [TAG] }],
      ['cloudformation:SetStackPolicy', stack]
    ]
    const decisions = await decide(previews, calls)
    expect(allowed(decisions)).toEqual([])
    expect(decisions).toHaveLength(calls.length)
  })

  it('while it may do the same to its own stage', async () => {
    const fn = arn.fn('api-pr-7-api')
    const stack = arn.stack('api-pr-7')
    const calls: Call[] = [
      ['lambda:UpdateFunctionCode', fn],
      ['lambda:DeleteFunction', fn],
      ['logs:DeleteLogGroup', arn.logGroup('api-pr-7-api')],
      ['logs:FilterLogEvents', arn.logGroup('api-pr-7-api')],
      ['cloudformation:UpdateStack', stack, requestTags({ [TAG]: 'api-pr-7', STAGE: 'pr-7' })],
      ['cloudformation:DeleteStack', stack],
      ['cloudformation:ExecuteChangeSet', stack, { 'cloudformation:ChangeSetName': 'api-pr-7-change-set' }]
    ]
    expect(refused(await decide(previews, calls))).toEqual([])
  })
})

describe('the deployment bucket', () => {
  const opening = (bucket: string): Call[] => [
    ['s3:PutBucketPolicy', `arn:aws:s3:::${bucket}`],
    ['s3:DeleteBucketPolicy', `arn:aws:s3:::${bucket}`],
    ['s3:PutBucketPublicAccessBlock', `arn:aws:s3:::${bucket}`],
    ['s3:PutBucketAcl', `arn:aws:s3:::${bucket}`],
    ['s3:PutBucketOwnershipControls', `arn:aws:s3:::${bucket}`],
    [
      's3:PutObjectAcl',
      arn.object(bucket, 'serverless/api/prod/1795506409540-2026-11-24T07:46:49.540Z/a.json')
    ],
    ['s3:DeleteBucket', `arn:aws:s3:::${bucket}`]
  ]
  /** what anyone might attach to a role besides the bootstrap's policy */
  const s3Admin: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }]
  }

  it('no stage can put a policy on it, open it or delete it: not its own, not another stage’s', async () => {
    const stacks = { prod, dev, previews, neighbour }
    for (const [name, stack] of Object.entries(stacks))
      for (const bucketOwner of Object.values(stacks)) {
        const calls = opening(bucketOwner.deploymentBucket)
        expect([name, allowed(await decide(stack, calls))]).toEqual([name, []])
        // explicitly: it holds with S3 granted on top
        expect([
          name,
          (await decide(stack, calls, [s3Admin])).filter(d => !d.endsWith('ExplicitlyDenied'))
        ]).toEqual([name, []])
      }
  })

  it("each role reads and writes objects only under its own stage's prefix, in its own stack's bucket", async () => {
    const key = (stage: string) => `serverless/api/${stage}/1795506409540-2026-11-24T07:46:49.540Z/api.zip`
    const own: Call[] = [
      ['s3:PutObject', arn.object(previews.deploymentBucket, key('pr-7'))],
      ['s3:GetObject', arn.object(previews.deploymentBucket, key('pr-123'))],
      ['s3:DeleteObject', arn.object(previews.deploymentBucket, key('pr-7'))],
      ['s3:ListBucket', `arn:aws:s3:::${previews.deploymentBucket}`]
    ]
    const others: Call[] = [
      ['s3:GetObject', arn.object(prod.deploymentBucket, key('prod'))],
      ['s3:PutObject', arn.object(prod.deploymentBucket, key('prod'))],
      ['s3:ListBucket', `arn:aws:s3:::${prod.deploymentBucket}`],
      // prod's prefix, or the plan role's, in the previews' own bucket
      ['s3:PutObject', arn.object(previews.deploymentBucket, key('prod'))],
      ['s3:PutObject', arn.object(previews.deploymentBucket, 'plan/api/pr-7/template.json')],
      ['s3:PutObject', arn.object(previews.deploymentBucket, 'serverless/api-admin/pr-7/x.zip')],
      ['s3:PutObject', arn.object(neighbour.deploymentBucket, 'serverless/api-admin/prod/x.zip')]
    ]
    expect(refused(await decide(previews, own))).toEqual([])
    expect(allowed(await decide(previews, others))).toEqual([])
    expect(new Set([prod, dev, previews, neighbour].map(s => s.deploymentBucket)).size).toBe(4)
  })

  it('is TLS-only, blocks public access, has no ACLs and expires the plan templates', () => {
    interface Resource {
      Type: string
      Properties: Record<string, unknown>
    }
    const template = parseDocument(readFileSync(templatePath, 'utf8')).toJS() as {
      Resources: Record<string, Resource>
    }
    const bucket = template.Resources.DeploymentBucket.Properties
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true
    })
    expect(bucket.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] })
    expect(bucket.LifecycleConfiguration).toMatchObject({
      Rules: expect.arrayContaining([
        { Id: 'ExpirePlans', Status: 'Enabled', Prefix: 'plan/', ExpirationInDays: 1 }
      ])
    })
    // moto creates no bucket policy: its shape, then
    const policy = template.Resources.DeploymentBucketPolicy.Properties as {
      Bucket: unknown
      PolicyDocument: PolicyDocument
    }
    expect(policy.Bucket).toEqual({ Ref: 'DeploymentBucket' })
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Sid: 'TlsOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [{ 'Fn::GetAtt': ['DeploymentBucket', 'Arn'] }, { 'Fn::Sub': '${DeploymentBucket.Arn}/*' }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } }
      }
    ])
  })
})

describe("logs:FilterLogEvents: the stage's own log groups, nothing else", () => {
  const filter = (group: string, stream = ''): Call => [
    'logs:FilterLogEvents',
    `${arn.logGroup(group)}${stream ? `:log-stream:${stream}` : ''}`
  ]

  it("is allowed on the service's own log groups (what src/logs.ts reads when a smoke test fails)", async () => {
    expect(refused(await decide(prod, [filter('api-prod-api'), filter('api-prod-worker')]))).toEqual([])
    expect(refused(await decide(dev, [filter('api-dev-api')]))).toEqual([])
    expect(refused(await decide(previews, [filter('api-pr-7-api'), filter('api-pr-123-api')]))).toEqual([])
  })

  it("is refused on another stage's, another service's and any other log group", async () => {
    const elsewhere = [
      filter('api-dev-api'),
      filter('api-admin-prod-api'),
      filter('billing-prod-worker'),
      [
        'logs:FilterLogEvents',
        `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/apigateway/api-prod`
      ] as Call,
      ['logs:FilterLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:api-prod-audit`] as Call
    ]
    expect(allowed(await decide(prod, elsewhere))).toEqual([])
    expect(allowed(await decide(previews, [filter('api-prod-api'), filter('api-preview-1-api')]))).toEqual([])
  })
})

describe('what cannot be scoped to the stage in IAM', () => {
  it('is only these reads and validations, each without resource-level permissions or condition keys that could', () => {
    // Every allow of the deploy role names the stage's resources, or carries the stage's tag, except:
    // - cloudformation:ValidateTemplate and logs:DescribeLogGroups take no resource ARN at all;
    // - apigateway:GET on /apis lists every HTTP API of the region (the collection has no tag);
    // - apigateway:GET on /tags/ARN reads any API's tags: the /tags resource type takes no aws:ResourceTag
    //   (which is also why TagResource and UntagResource are not granted: they could not be limited to the
    //   stage's own APIs, so a tag change on an HTTP API needs an administrator);
    // - s3:ListBucket on the stack's own bucket: Serverless's HeadBucket sends no s3:prefix, so listing cannot
    //   be held to the stage's prefix (in prefix mode one preview can list the others' keys, not read them).
    const unscoped = prod.permissions.Statement.filter(s => s.Effect === 'Allow')
      .filter(s => {
        const resources = [s.Resource ?? []].flat()
        const byName = resources.every(r => /api-prod|\/api\/prod\//.test(r))
        const byTag = JSON.stringify(s.Condition ?? {}).includes(`"api-prod"`)
        return !byName && !byTag
      })
      .map(s => s.Sid)
    expect(unscoped).toEqual([
      'ValidateTemplate',
      'DeploymentBucket',
      'DescribeLogGroups',
      'ListHttpApis',
      'ReadApiTags'
    ])
  })
})
