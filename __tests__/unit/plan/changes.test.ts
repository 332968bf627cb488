import type { ResourceChange, ResourceChangeDetail } from '@aws-sdk/client-cloudformation'
import { countsOf, resourceItem, resourceItems } from '../../../src/plan/changes.js'
import { STATEFUL_TYPES } from '../../../src/plan/stateful.js'
import { resourcesOf } from '../../../src/plan/template.js'
import { resourceChange } from '../../support/plan-input.js'

const none = resourcesOf(undefined)

function detail(
  name: string,
  recreation: 'Always' | 'Conditionally' | 'Never',
  evaluation = 'Static'
): ResourceChangeDetail {
  return {
    Target: { Attribute: 'Properties', Name: name, RequiresRecreation: recreation },
    Evaluation: evaluation as ResourceChangeDetail['Evaluation'],
    ChangeSource: 'DirectModification'
  }
}

function modify(type: string, extra: Partial<ResourceChange>): ResourceChange {
  return resourceChange('Modify', 'Thing', type, extra).ResourceChange!
}

function template(resources: Record<string, unknown>) {
  return resourcesOf({ Resources: resources })
}

describe('replacement', () => {
  it("follows the change set's Replacement field", () => {
    expect(resourceItem(modify('AWS::SNS::Topic', { Replacement: 'True' }), none, none)).toMatchObject({
      action: 'replace',
      replacement: 'certain'
    })
    expect(resourceItem(modify('AWS::SNS::Topic', { Replacement: 'Conditional' }), none, none)).toMatchObject(
      {
        action: 'replace',
        replacement: 'conditional'
      }
    )
    const kept = resourceItem(
      modify('AWS::SNS::Topic', { Replacement: 'False', Details: [detail('TopicName', 'Always')] }),
      none,
      none
    )
    expect(kept.action).toBe('modify')
    expect(kept.replacement).toBeUndefined()
  })

  it('without a Replacement field (moto): a Modify is a modify', () => {
    const item = resourceItem(modify('AWS::DynamoDB::Table', {}), none, none)
    expect(item).toMatchObject({ action: 'modify', destructive: false })
    expect(item.replacement).toBeUndefined()
  })

  it("without a Replacement field but with details: RequiresRecreation decides, as CloudFormation's rule", () => {
    const always = modify('AWS::SNS::Topic', {
      Details: [detail('Tags', 'Never'), detail('TopicName', 'Always')]
    })
    expect(resourceItem(always, none, none).replacement).toBe('certain')
    const dynamic = modify('AWS::SNS::Topic', { Details: [detail('TopicName', 'Always', 'Dynamic')] })
    expect(resourceItem(dynamic, none, none).replacement).toBe('conditional')
    const conditionally = modify('AWS::SNS::Topic', { Details: [detail('DisplayName', 'Conditionally')] })
    expect(resourceItem(conditionally, none, none).replacement).toBe('conditional')
    const never = modify('AWS::SNS::Topic', { Details: [detail('Tags', 'Never')] })
    expect(resourceItem(never, none, none).action).toBe('modify')
  })

  it('names the properties that force (or may force) the replacement', () => {
    const item = resourceItem(
      modify('AWS::EC2::Instance', {
        Replacement: 'True',
        Details: [
          detail('KeyName', 'Always'),
          detail('InstanceType', 'Conditionally'),
          detail('Tags', 'Never')
        ]
      }),
      none,
      none
    )
    expect(item.causes).toEqual(['KeyName', 'InstanceType'])
  })
})

describe('risk of a replacement or removal', () => {
  it('a stateful resource replaced or removed with Delete loses its data: destructive', () => {
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::SQS::Queue',
      'AWS::Logs::LogGroup'
    ]) {
      const replaced = resourceItem(modify(type, { Replacement: 'True' }), none, none)
      expect(replaced).toMatchObject({
        stateful: true,
        risk: 'data loss',
        destructive: true,
        holds: STATEFUL_TYPES[type]
      })
      const removed = resourceItem(resourceChange('Remove', 'Thing', type).ResourceChange!, none, none)
      expect(removed).toMatchObject({ risk: 'data loss', destructive: true })
    }
  })

  it('a conditional replacement of a stateful resource counts as destructive', () => {
    const item = resourceItem(modify('AWS::RDS::DBCluster', { Replacement: 'Conditional' }), none, none)
    expect(item).toMatchObject({ action: 'replace', replacement: 'conditional', destructive: true })
  })

  it("replacement: the new template's UpdateReplacePolicy Retain, RetainExceptOnCreate or Snapshot keeps the data", () => {
    for (const [policy, risk] of [
      ['Retain', 'retained'],
      ['RetainExceptOnCreate', 'retained'],
      ['Snapshot', 'snapshot'],
      ['Delete', 'data loss']
    ]) {
      const after = template({ Thing: { Type: 'AWS::DynamoDB::Table', UpdateReplacePolicy: policy } })
      const item = resourceItem(modify('AWS::DynamoDB::Table', { Replacement: 'True' }), none, after)
      expect(item.risk).toBe(risk)
      expect(item.destructive).toBe(risk === 'data loss')
      expect(item.policy).toBe(`UpdateReplacePolicy ${policy} (template)`)
    }
  })

  it('replacement: DeletionPolicy Retain does not protect (it applies to removals only)', () => {
    const after = template({ Thing: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain' } })
    expect(resourceItem(modify('AWS::S3::Bucket', { Replacement: 'True' }), none, after).destructive).toBe(
      true
    )
  })

  it("removal: the deployed template's DeletionPolicy decides; the new template has no such resource", () => {
    const before = template({ Thing: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain' } })
    const removed = resourceChange('Remove', 'Thing', 'AWS::S3::Bucket').ResourceChange!
    expect(resourceItem(removed, before, none)).toMatchObject({ risk: 'retained', destructive: false })
    const snapshot = template({ Thing: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Snapshot' } })
    expect(resourceItem(removed, snapshot, none)).toMatchObject({ risk: 'snapshot', destructive: false })
    const deleted = template({ Thing: { Type: 'AWS::S3::Bucket', UpdateReplacePolicy: 'Retain' } })
    expect(resourceItem(removed, deleted, none)).toMatchObject({ risk: 'data loss', destructive: true })
  })

  it("removal: CloudFormation's default Snapshot for RDS clusters and for instances outside a cluster", () => {
    const removed = (type: string) => resourceChange('Remove', 'Db', type).ResourceChange!
    expect(resourceItem(removed('AWS::RDS::DBCluster'), none, none)).toMatchObject({
      risk: 'snapshot',
      destructive: false
    })
    expect(resourceItem(removed('AWS::RDS::DBInstance'), none, none).risk).toBe('snapshot')
    const inCluster = template({
      Db: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: 'c' } }
    })
    expect(resourceItem(removed('AWS::RDS::DBInstance'), inCluster, none).risk).toBe('data loss')
  })

  it("the change set's PolicyAction wins over the templates", () => {
    const retainedTemplate = template({ Thing: { Type: 'AWS::SQS::Queue', UpdateReplacePolicy: 'Retain' } })
    const replaced = modify('AWS::SQS::Queue', { Replacement: 'True', PolicyAction: 'ReplaceAndDelete' })
    expect(resourceItem(replaced, retainedTemplate, retainedTemplate)).toMatchObject({
      risk: 'data loss',
      policy: 'PolicyAction ReplaceAndDelete (change set)'
    })
    const kept = modify('AWS::SQS::Queue', { Replacement: 'True', PolicyAction: 'ReplaceAndRetain' })
    expect(resourceItem(kept, none, none).risk).toBe('retained')
    const snapshot = modify('AWS::SQS::Queue', { Replacement: 'True', PolicyAction: 'ReplaceAndSnapshot' })
    expect(resourceItem(snapshot, none, none).risk).toBe('snapshot')
    const removed = resourceChange('Remove', 'Thing', 'AWS::S3::Bucket', {
      PolicyAction: 'Retain'
    }).ResourceChange!
    expect(resourceItem(removed, none, none)).toMatchObject({ risk: 'retained', destructive: false })
  })

  it("without templates, the change set's context carries the policies (IncludePropertyValues)", () => {
    const replaced = modify('AWS::SQS::Queue', {
      Replacement: 'True',
      AfterContext: JSON.stringify({ Properties: {}, UpdateReplacePolicy: 'Retain' })
    })
    expect(resourceItem(replaced, none, none).risk).toBe('retained')
    const removed = resourceChange('Remove', 'Thing', 'AWS::S3::Bucket', {
      BeforeContext: JSON.stringify({ DeletionPolicy: 'Retain' })
    }).ResourceChange!
    expect(resourceItem(removed, none, none).risk).toBe('retained')
  })

  it('a policy that is not a literal is taken as Delete, and said so', () => {
    const after = template({
      Thing: { Type: 'AWS::S3::Bucket', UpdateReplacePolicy: { 'Fn::If': ['Prod', 'Retain', 'Delete'] } }
    })
    const item = resourceItem(modify('AWS::S3::Bucket', { Replacement: 'True' }), none, after)
    expect(item.destructive).toBe(true)
    expect(item.policy).toMatch(/not a literal.*assumed Delete/)
  })

  it('stateless resources are never destructive, replaced or removed', () => {
    const replaced = resourceItem(modify('AWS::Lambda::Function', { Replacement: 'True' }), none, none)
    expect(replaced).toMatchObject({ stateful: false, risk: 'none', destructive: false })
    const removed = resourceItem(resourceChange('Remove', 'Fn', 'AWS::IAM::Role').ResourceChange!, none, none)
    expect(removed).toMatchObject({ risk: 'none', destructive: false })
  })

  it('additions and modifications carry no risk', () => {
    const added = resourceItem(resourceChange('Add', 'T', 'AWS::DynamoDB::Table').ResourceChange!, none, none)
    expect(added).toMatchObject({ action: 'add', destructive: false })
    expect(added.risk).toBeUndefined()
  })
})

describe('resourceItems and countsOf', () => {
  it('marks Lambda versions and REST API deployments as churn, and counts them', () => {
    const items = resourceItems(
      [
        resourceChange('Add', 'ApiLambdaVersionNew', 'AWS::Lambda::Version'),
        resourceChange('Remove', 'ApiLambdaVersionOld', 'AWS::Lambda::Version', { PolicyAction: 'Retain' }),
        resourceChange('Add', 'ApiGatewayDeployment1796403286424', 'AWS::ApiGateway::Deployment'),
        resourceChange('Remove', 'ApiGatewayDeployment1796403277625', 'AWS::ApiGateway::Deployment'),
        resourceChange('Modify', 'ApiLambdaFunction', 'AWS::Lambda::Function')
      ],
      none,
      none
    )
    expect(items.filter(item => item.churn === 'lambda-version')).toHaveLength(2)
    expect(items.filter(item => item.churn === 'api-deployment')).toHaveLength(2)
    expect(items.some(item => item.destructive)).toBe(false)
    expect(countsOf(items)).toEqual({ add: 2, modify: 1, replace: 0, remove: 2 })
  })

  it('puts destructive items first, then replacements and removals, and reads a logical ID once', () => {
    const items = resourceItems(
      [
        resourceChange('Add', 'AQueue', 'AWS::SQS::Queue'),
        resourceChange('Modify', 'BRole', 'AWS::IAM::Role', { Replacement: 'True' }),
        resourceChange('Remove', 'ZTable', 'AWS::DynamoDB::Table'),
        resourceChange('Remove', 'ZTable', 'AWS::DynamoDB::Table'),
        { Type: 'Resource' }
      ],
      none,
      none
    )
    expect(items.map(item => item.logicalId)).toEqual(['ZTable', 'BRole', 'AQueue'])
  })

  it("keeps the change set's own action when it is Import, Dynamic or SyncWithActual", () => {
    const items = resourceItems(
      [
        resourceChange('Import', 'Imported', 'AWS::DynamoDB::Table'),
        resourceChange('Dynamic', 'Nested', 'AWS::CloudFormation::Stack'),
        resourceChange('SyncWithActual', 'Drifted', 'AWS::SNS::Topic')
      ],
      none,
      none
    )
    const byId = Object.fromEntries(items.map(item => [item.logicalId, item]))
    expect(byId.Imported).toMatchObject({ action: 'add', cfnAction: 'Import' })
    expect(byId.Nested).toMatchObject({ action: 'modify', cfnAction: 'Dynamic' })
    expect(byId.Drifted).toMatchObject({ action: 'modify', cfnAction: 'SyncWithActual' })
  })
})
