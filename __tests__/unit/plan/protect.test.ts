import { analysePlan } from '../../../src/plan/analyse.js'
import { protectedViolations } from '../../../src/plan/protect.js'
import { UserError } from '../../../src/errors.js'
import { planInput, resourceChange } from '../../support/plan-input.js'

const plan = analysePlan(
  planInput({
    oldTemplate: {
      Resources: {
        Archive: { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain' },
        Sessions: { Type: 'AWS::DynamoDB::Table' },
        Orders: { Type: 'AWS::DynamoDB::Table' },
        Role: { Type: 'AWS::IAM::Role' }
      }
    },
    newTemplate: {
      Resources: { Orders: { Type: 'AWS::DynamoDB::Table' }, Role: { Type: 'AWS::IAM::Role' } }
    },
    changes: [
      resourceChange('Remove', 'Archive', 'AWS::S3::Bucket'),
      resourceChange('Remove', 'Sessions', 'AWS::DynamoDB::Table'),
      resourceChange('Modify', 'Orders', 'AWS::DynamoDB::Table', { Replacement: 'Conditional' }),
      resourceChange('Modify', 'Role', 'AWS::IAM::Role', { Replacement: 'True' }),
      resourceChange('Add', 'Queue', 'AWS::SQS::Queue')
    ]
  })
)

function ids(protect: string[]): string[] {
  return protectedViolations(plan, protect)
    .map(violation => `${violation.logicalId}:${violation.entry}`)
    .sort()
}

describe('protectedViolations', () => {
  it('stateful: replacements (possible ones too) and removals that lose data; a retained removal does not count', () => {
    expect(ids(['stateful'])).toEqual(['Orders:stateful', 'Sessions:stateful'])
    const [orders] = protectedViolations(plan, ['stateful']).filter(
      violation => violation.logicalId === 'Orders'
    )
    expect(orders).toMatchObject({ action: 'replace', replacement: 'conditional', risk: 'data loss' })
  })

  it('a logical ID or type: any replacement or removal, retained or not, stateful or not', () => {
    expect(ids(['Archive'])).toEqual(['Archive:Archive'])
    expect(ids(['AWS::S3::Bucket', 'AWS::IAM::Role'])).toEqual([
      'Archive:AWS::S3::Bucket',
      'Role:AWS::IAM::Role'
    ])
    expect(ids(['AWS::DynamoDB::Table'])).toEqual([
      'Orders:AWS::DynamoDB::Table',
      'Sessions:AWS::DynamoDB::Table'
    ])
  })

  it('one violation per resource, the most specific entry named; additions never violate', () => {
    expect(ids(['stateful', 'AWS::DynamoDB::Table', 'Sessions', 'Queue'])).toEqual([
      'Orders:AWS::DynamoDB::Table',
      'Sessions:Sessions'
    ])
  })

  it('nothing protected, nothing violated; blank entries are ignored', () => {
    expect(ids([])).toEqual([])
    expect(ids(['', '  '])).toEqual([])
  })

  it('refuses an entry that is none of the three, naming it and the input', () => {
    for (const entry of [
      'Stateful Table',
      'AWS::DynamoDB::Table::Extra',
      'arn:aws:s3:::bucket',
      'Users-Table'
    ]) {
      expect(() => protectedViolations(plan, [entry])).toThrow(UserError)
      expect(() => protectedViolations(plan, [entry])).toThrow(/^Input 'protect' is /)
    }
    expect(() => protectedViolations(plan, ['Custom::Thing'])).not.toThrow()
  })
})
