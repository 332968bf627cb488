import { analysePlan } from '../../../src/plan/analyse.js'
import type { FunctionInput, PlanInput } from '../../../src/plan/model.js'
import { motoChanges, planInput, resourceChange, shopTemplate } from '../../support/plan-input.js'

const before = shopTemplate('before')
const after = shopTemplate('after')

const functions: FunctionInput[] = [
  {
    logicalId: 'ApiLambdaFunction',
    name: 'shop-dev-api',
    newZipSha256: 'bmV3',
    newZipBytes: 488,
    newUnzippedBytes: 138,
    deployed: {
      codeSha256: 'b2xk',
      runtime: 'python3.11',
      memorySize: 512,
      timeout: 6,
      architectures: ['x86_64'],
      layers: [],
      environmentNames: ['TABLE', 'LOG_LEVEL'],
      codeSize: 470
    }
  }
]

function shopInput(overrides: Partial<PlanInput> = {}): PlanInput {
  return planInput({
    changes: motoChanges(before, after),
    oldTemplate: before,
    newTemplate: after,
    functions,
    artifacts: [{ file: '.serverless/shop.zip', bytes: 488, unzippedBytes: 138, previousBytes: 470 }],
    ...overrides
  })
}

describe('analysePlan: the shop service, as moto reports its change set', () => {
  const input = shopInput()
  const plan = analysePlan(input)

  it('counts every change by its action, churn included', () => {
    const actions = input.changes.map(change => change.ResourceChange?.Action)
    expect(plan.counts).toEqual({
      add: actions.filter(action => action === 'Add').length,
      modify: actions.filter(action => action === 'Modify').length,
      replace: 0,
      remove: actions.filter(action => action === 'Remove').length
    })
    expect(plan.changes).toBe(input.changes.length)
    expect(plan.resources).toHaveLength(input.changes.length)
  })

  it('collapses churn: the new Lambda versions and the timestamped REST API deployment', () => {
    expect(plan.churn).toEqual({
      lambdaVersions: { added: 2, removed: 3 },
      apiDeployments: { added: 1, removed: 1 }
    })
  })

  it('the removed function takes its log group with it: destructive; the retained bucket is not', () => {
    expect(plan.destructive).toBe(true)
    expect(plan.resources.filter(item => item.destructive).map(item => item.logicalId)).toEqual([
      'LegacyLogGroup'
    ])
    expect(plan.resources.find(item => item.logicalId === 'AuditBucket')).toMatchObject({
      action: 'remove',
      risk: 'retained',
      policy: 'DeletionPolicy Retain (template)'
    })
    // moto says nothing about replacement: the table's rename reads as a modify.
    expect(plan.resources.find(item => item.logicalId === 'OrdersTable')?.action).toBe('modify')
  })

  it('routes, IAM, functions, artifacts and runtimes', () => {
    expect(plan.routes.added.map(route => route.key)).toEqual(['GET /admin/reports', 'GET /orders/{id}'])
    expect(plan.iam.added.map(statement => statement.actions)).toEqual([['s3:*']])
    expect(plan.functions.map(fn => `${fn.name} ${fn.status}`)).toEqual([
      'shop-dev-api updated',
      'shop-dev-legacy removed'
    ])
    expect(plan.artifacts).toEqual(input.artifacts)
    expect(plan.runtimes.map(runtime => `${runtime.runtime} ${runtime.functions.join(',')}`)).toEqual([
      'python3.12 shop-dev-api'
    ])
    expect(plan.warnings).toEqual([])
  })

  it('is plain JSON: it survives a round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan)
    expect(plan).toMatchObject({
      version: 1,
      service: 'shop',
      stage: 'dev',
      region: 'eu-west-1',
      stackName: 'shop-dev'
    })
  })
})

describe('analysePlan: edges', () => {
  it('a new stack: every route and statement is added, nothing compared against a deployed template', () => {
    const plan = analysePlan(
      shopInput({
        changeSetType: 'CREATE',
        oldTemplate: undefined,
        changes: motoChanges({ Resources: {} }, after),
        functions: [{ ...functions[0], deployed: undefined }]
      })
    )
    expect(plan.counts.add).toBe(Object.keys(after.Resources as object).length)
    expect(plan.routes.added.map(route => route.key)).toEqual([
      'DELETE /admin/users/{id}',
      'GET /admin/reports',
      'GET /admin/users/{id}',
      'GET /orders',
      'GET /orders/{id}'
    ])
    expect(plan.iam.added.length).toBeGreaterThan(1)
    expect(plan.destructive).toBe(false)
    expect(plan.warnings).toEqual([])
  })

  it('an update without the deployed template says routes and IAM were not compared, rather than call all of them new', () => {
    const plan = analysePlan(shopInput({ oldTemplate: undefined }))
    expect(plan.routes).toEqual({ added: [], removed: [], changed: [] })
    expect(plan.iam.added).toEqual([])
    expect(plan.warnings).toEqual([
      'The deployed template was not read: routes and IAM statements are not compared.'
    ])
  })

  it("passes on CloudFormation's warning that property values made it drop changes", () => {
    const reason =
      '[WARN] --include-property-values option can return incomplete ChangeSet data because: Logical Id: DataSource, failed property validation'
    expect(analysePlan(shopInput({ statusReason: reason })).warnings).toEqual([`CloudFormation: ${reason}`])
    expect(analysePlan(shopInput({ statusReason: 'Some reason' })).warnings).toEqual([])
  })

  it('no changes: zero counts, nothing destructive', () => {
    const plan = analysePlan(shopInput({ changes: [], functions: [] }))
    expect(plan.changes).toBe(0)
    expect(plan.destructive).toBe(false)
  })

  it('a change without ResourceChange is skipped, a malformed template is an empty one', () => {
    const plan = analysePlan(
      planInput({
        changes: [{ Type: 'Resource' }, resourceChange('Add', 'Queue', 'AWS::SQS::Queue')],
        newTemplate: { Resources: 'not an object' },
        oldTemplate: []
      })
    )
    expect(plan.counts).toEqual({ add: 1, modify: 0, replace: 0, remove: 0 })
  })
})
