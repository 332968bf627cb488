import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { analysePlan } from '../../../src/plan/analyse.js'
import { escapeMarkdown } from '../../../src/markdown.js'
import type { Plan, PlanInput } from '../../../src/plan/model.js'
import { renderPlanMarkdown } from '../../../src/plan/render.js'
import { CHANGE_SETS, changeSetFixture, planInput } from '../../support/plan-input.js'

/** The captured DescribeChangeSet responses (see change-sets/sources.json), analysed and rendered. */

function analyse(name: string, overrides: Partial<PlanInput> = {}): Plan {
  return analysePlan(planInput({ changes: changeSetFixture(name).changes, ...overrides }))
}

function render(plan: Plan): string {
  return renderPlanMarkdown([plan], { limit: 65536 })
}

/** The counts a fixture's raw actions and Replacement fields imply, read independently of the analysis. */
function rawCounts(name: string) {
  const changes = changeSetFixture(name).changes.map(change => change.ResourceChange!)
  const replaced = (action?: string, replacement?: string) =>
    action === 'Modify' && (replacement === 'True' || replacement === 'Conditional')
  return {
    add: changes.filter(change => change.Action === 'Add').length,
    modify: changes.filter(
      change => change.Action === 'Modify' && !replaced(change.Action, change.Replacement)
    ).length,
    replace: changes.filter(change => replaced(change.Action, change.Replacement)).length,
    remove: changes.filter(change => change.Action === 'Remove').length
  }
}

// cfn101-workshop's code/workspace/understanding-changesets/bucket.yaml and code/solutions/.../changeset-challenge.yaml.
const bucketTemplate = (attributes: Record<string, unknown> = {}) => ({
  Resources: {
    MyS3Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { Ref: 'BucketName' } }, ...attributes }
  }
})
const challengeTemplate = {
  Resources: {
    NewS3Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { Ref: 'BucketName' } } },
    MySqsQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { Ref: 'MyQueueName' } } }
  }
}

describe('every captured change set', () => {
  const files = readdirSync(CHANGE_SETS).filter(file => file.endsWith('.json') && file !== 'sources.json')
  const sources = JSON.parse(readFileSync(path.join(CHANGE_SETS, 'sources.json'), 'utf8')) as Record<
    string,
    unknown
  >

  it('has its source recorded', () => {
    expect(files.length).toBeGreaterThanOrEqual(10)
    for (const file of files)
      expect(sources[file]).toMatchObject({ source: expect.any(String), edits: expect.any(String) })
  })

  it.each(files)('%s: counts as its actions say, and renders every resource it changes', file => {
    const plan = analyse(file)
    expect(plan.counts).toEqual(rawCounts(file))
    const markdown = render(plan)
    for (const change of changeSetFixture(file).changes) {
      const id = change.ResourceChange!.LogicalResourceId!
      const churn = ['AWS::Lambda::Version', 'AWS::ApiGateway::Deployment'].includes(
        change.ResourceChange!.ResourceType!
      )
      if (!churn) expect(markdown).toContain(`<code>${escapeMarkdown(id)}</code>`)
    }
  })
})

describe('replacements', () => {
  it("AWS docs: an EC2 instance replaced for KeyName ('Always') and maybe InstanceType ('Conditionally'); not stateful", () => {
    const plan = analyse('aws-docs-replacement.json')
    expect(plan.resources).toHaveLength(1)
    expect(plan.resources[0]).toMatchObject({
      logicalId: 'MyEC2Instance',
      action: 'replace',
      replacement: 'certain',
      causes: ['KeyName', 'InstanceType'],
      stateful: false,
      destructive: false
    })
    expect(render(plan)).toContain('<code>KeyName</code> (forces replacement)')
    expect(render(plan)).toContain('<code>InstanceType</code> (may force replacement)')
  })

  it('cfn101: a bucket replaced for its BucketName loses its objects, unless UpdateReplacePolicy keeps it', () => {
    const plan = analyse('cfn101-bucket-replacement.json', {
      oldTemplate: bucketTemplate(),
      newTemplate: bucketTemplate()
    })
    expect(plan.destructive).toBe(true)
    expect(plan.resources[0]).toMatchObject({
      action: 'replace',
      causes: ['BucketName'],
      risk: 'data loss',
      holds: 'objects'
    })
    const markdown = render(plan)
    expect(markdown).toContain('> [!CAUTION]')
    expect(markdown).toMatch(
      /🔥 Destructive changes\n\| Change \| Resource[^\n]*\n[^\n]*\n\| \*\*replace\*\* \| <code>MyS3Bucket<\/code>/
    )

    const kept = analyse('cfn101-bucket-replacement.json', {
      oldTemplate: bucketTemplate(),
      newTemplate: bucketTemplate({ UpdateReplacePolicy: 'Retain' })
    })
    expect(kept.destructive).toBe(false)
    expect(kept.resources[0].risk).toBe('retained')
    expect(render(kept)).not.toContain('[!CAUTION]')
  })

  it("roadmap #156: 'Conditional' is a possible replacement, shown as such", () => {
    const plan = analyse('roadmap-156-conditional.json')
    expect(plan.counts.replace).toBe(1)
    expect(plan.resources[0]).toMatchObject({
      action: 'replace',
      replacement: 'conditional',
      causes: ['Condition']
    })
    expect(render(plan)).toContain('| **may replace** | <code>rEventBusPolicy</code>')
  })

  it('LocalStack (recorded on AWS): a topic replaced, its name before and after shown', () => {
    const plan = analyse('localstack-sns-replacement.json')
    expect(plan.resources[0]).toMatchObject({
      action: 'replace',
      policy: 'PolicyAction ReplaceAndDelete (change set)',
      destructive: false
    })
    expect(plan.resources[0].properties).toEqual([
      { path: 'TopicName', change: 'modify', recreation: 'always', before: 'topic-1', after: 'topic-2' }
    ])
    expect(render(plan)).toContain(
      '<code>TopicName</code> (forces replacement): <code>topic\\-1</code> → <code>topic\\-2</code>'
    )
  })
})

describe('removals', () => {
  it('AWS docs: an EC2 instance removed, two resources added; nothing stateful', () => {
    const plan = analyse('aws-docs-add-remove.json')
    expect(plan.counts).toEqual({ add: 2, modify: 0, replace: 0, remove: 1 })
    expect(plan.destructive).toBe(false)
  })

  it("cfn101: renaming a bucket's logical ID removes the old bucket: destructive without DeletionPolicy", () => {
    const plan = analyse('cfn101-bucket-remove.json', {
      oldTemplate: bucketTemplate(),
      newTemplate: challengeTemplate
    })
    expect(plan.resources[0]).toMatchObject({ logicalId: 'MyS3Bucket', action: 'remove', destructive: true })
    expect(plan.resources.filter(item => item.destructive)).toHaveLength(1)
    const retained = analyse('cfn101-bucket-remove.json', {
      oldTemplate: bucketTemplate({ DeletionPolicy: 'Retain' }),
      newTemplate: challengeTemplate
    })
    expect(retained.destructive).toBe(false)
    expect(retained.resources.find(item => item.logicalId === 'MyS3Bucket')?.policy).toBe(
      'DeletionPolicy Retain (template)'
    )
  })

  it('LocalStack (recorded on AWS): a log group removed with PolicyAction Delete loses its events', () => {
    const plan = analyse('localstack-log-group-remove.json')
    expect(plan.resources[0]).toMatchObject({
      type: 'AWS::Logs::LogGroup',
      action: 'remove',
      destructive: true
    })
    expect(render(plan)).toContain('its log events would be lost')
  })
})

describe('property values', () => {
  it('CDK: a queue replaced (destructive), a role replaced, IAM and SSM values; no values of structured properties', () => {
    const plan = analyse('cdk-iam-property-values.json')
    expect(plan.counts).toEqual({ add: 0, modify: 2, replace: 2, remove: 0 })
    expect(plan.resources.filter(item => item.destructive).map(item => item.logicalId)).toEqual(['Queue'])
    const role = plan.resources.find(item => item.logicalId === 'MyRole')!
    expect(role.properties).toEqual([
      {
        path: 'RoleName',
        change: 'modify',
        recreation: 'always',
        before: 'sdflkja',
        after: 'newAndDifferent'
      }
    ])
    const policy = plan.resources.find(item => item.logicalId === 'MyRoleDefaultPolicy')!
    expect(policy.properties).toEqual([
      { path: 'PolicyDocument', change: 'modify', recreation: 'never', hidden: 'structured' },
      {
        path: 'Roles/0',
        change: 'modify',
        recreation: 'never',
        before: 'sdflkja',
        after: '(known after apply)'
      }
    ])
    expect(JSON.stringify(plan)).not.toContain('sqs:DeleteMessage')
    expect(render(plan)).toContain('<code>Roles/0</code>: <code>sdflkja</code> → _(known after apply)_')
  })

  it('LocalStack SAM (recorded on AWS): a new function, its role, API and deployment; the SSM parameter removed', () => {
    const { changes } = changeSetFixture('localstack-sam-function-added.json')
    // The template CloudFormation processed, as the change set's AfterContexts show it.
    const newTemplate = {
      Resources: Object.fromEntries(
        changes
          .filter(change => change.ResourceChange!.Action === 'Add')
          .map(change => [
            change.ResourceChange!.LogicalResourceId!,
            { Type: change.ResourceChange!.ResourceType, ...JSON.parse(change.ResourceChange!.AfterContext!) }
          ])
      )
    }
    const plan = analyse('localstack-sam-function-added.json', {
      newTemplate,
      oldTemplate: { Resources: { Parameter: { Type: 'AWS::SSM::Parameter' } } },
      functions: [{ logicalId: 'HelloWorldFunction', name: 'hello', newZipSha256: 'x', newZipBytes: 123 }]
    })
    expect(plan.churn.apiDeployments).toEqual({ added: 1, removed: 0 })
    expect(plan.functions).toEqual([
      expect.objectContaining({
        name: 'hello',
        status: 'new',
        runtime: 'nodejs18.x',
        config: expect.arrayContaining([{ property: 'runtime', after: 'nodejs18.x' }])
      })
    ])
    expect(plan.runtimes).toEqual([{ runtime: 'nodejs18.x', functions: ['hello'], phase: 'unknown' }])
    expect(plan.iam.added.map(statement => `${statement.kind} ${statement.actions}`)).toEqual([
      'trust sts:AssumeRole'
    ])
    expect(plan.iam.managedPolicies.added).toEqual([
      {
        owner: 'HelloWorldFunctionRole',
        arn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'
      }
    ])
    const markdown = render(plan)
    expect(markdown).toContain(
      "♻️ Every deploy's churn, counted above: 1 REST API deployment added, 0 removed."
    )
    // The function is in the functions table, not once more among the other changes.
    expect(markdown.match(/<code>HelloWorldFunction<\/code>/g)).toBeNull()
    expect(markdown).toContain('| <code>hello</code> | new, 123 B |')
  })
})

describe('a response in pages', () => {
  it('every page but the last has a NextToken, and the pages read together are the single response', () => {
    const { pages, changes } = changeSetFixture('paged-sam-function-added.json')
    expect(pages.map(page => page.NextToken !== undefined)).toEqual([true, true, false])
    expect(changes).toEqual(changeSetFixture('localstack-sam-function-added.json').changes)
    expect(analyse('paged-sam-function-added.json')).toEqual(analyse('localstack-sam-function-added.json'))
  })
})
