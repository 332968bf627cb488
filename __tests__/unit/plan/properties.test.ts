import type { ResourceChangeDetail } from '@aws-sdk/client-cloudformation'
import { KNOWN_AFTER_APPLY, propertyChanges } from '../../../src/plan/properties.js'

function valued(
  path: string,
  before: string,
  after: string,
  extra: Partial<ResourceChangeDetail> = {}
): ResourceChangeDetail {
  return {
    Target: {
      Attribute: 'Properties',
      Name: path.split('/')[2],
      Path: path,
      RequiresRecreation: 'Never',
      BeforeValue: before,
      AfterValue: after,
      AttributeChangeType: 'Modify'
    },
    Evaluation: 'Static',
    ChangeSource: 'DirectModification',
    ...extra
  }
}

describe('propertyChanges', () => {
  it('shows scalar values, without /Properties/', () => {
    expect(propertyChanges([valued('/Properties/MemorySize', '512', '1024')])).toEqual([
      { path: 'MemorySize', change: 'modify', recreation: 'never', before: '512', after: '1024' }
    ])
  })

  it('never copies an environment variable value, in Lambda or anywhere else', () => {
    const changes = propertyChanges([
      valued('/Properties/Environment/Variables/DB_PASSWORD', 'hunter2', 'correct-horse'),
      valued('/Properties/ContainerDefinitions/0/Environment/1/Value', 'sk_live_1', 'sk_live_2'),
      {
        Target: { Attribute: 'Properties', Name: 'Environment', RequiresRecreation: 'Never' },
        Evaluation: 'Static'
      }
    ])
    expect(changes.map(change => change.hidden)).toEqual(['environment', 'environment', 'environment'])
    const json = JSON.stringify(changes)
    for (const secret of ['hunter2', 'correct-horse', 'sk_live_1', 'sk_live_2'])
      expect(json).not.toContain(secret)
    // The name stays: a reviewer sees which variable changed.
    expect(changes[0].path).toBe('Environment/Variables/DB_PASSWORD')
  })

  it('never copies the value of a property whose name suggests a secret', () => {
    const changes = propertyChanges([
      valued('/Properties/MasterUserPassword', 'p4ss', 'p4ss2'),
      valued('/Properties/SecretString', 's1', 's2'),
      valued('/Properties/AuthToken', 't1', 't2'),
      valued('/Properties/ClientSecret', 'c1', 'c2'),
      valued('/Properties/ApiKey', 'k1', 'k2'),
      valued('/Properties/PrivateKey', 'pk1', 'pk2')
    ])
    expect(changes.every(change => change.hidden === 'secret')).toBe(true)
    expect(JSON.stringify(changes)).not.toMatch(/p4ss|s1|t1|c1|k1|pk1/)
  })

  it('leaves structured values (JSON) out, where a secret could hide', () => {
    const [change] = propertyChanges([
      valued('/Properties/PolicyDocument', '{"Statement":[]}', '{"Statement":[{}]}')
    ])
    expect(change).toEqual({
      path: 'PolicyDocument',
      change: 'modify',
      recreation: 'never',
      hidden: 'structured'
    })
  })

  it('writes a value known only after apply as such, and cuts a long one', () => {
    const [unknown, long] = propertyChanges([
      valued('/Properties/Roles/0', 'role-a', KNOWN_AFTER_APPLY),
      valued('/Properties/Description', 'x', 'y'.repeat(500))
    ])
    expect(unknown.after).toBe('(known after apply)')
    expect(long.after).toHaveLength(201)
    expect(long.after?.endsWith('…')).toBe(true)
  })

  it('lists a property once: the static evaluation with its values, the most disruptive recreation', () => {
    const dynamic = valued('/Properties/TopicName', 'a', KNOWN_AFTER_APPLY, { Evaluation: 'Dynamic' })
    dynamic.Target!.RequiresRecreation = 'Always'
    const stat = valued('/Properties/TopicName', 'a', 'b')
    expect(propertyChanges([dynamic, stat])).toEqual([
      { path: 'TopicName', change: 'modify', recreation: 'always', before: 'a', after: 'b' }
    ])
  })

  it('names attributes other than properties (no values without IncludePropertyValues)', () => {
    expect(
      propertyChanges([
        { Target: { Attribute: 'Tags', RequiresRecreation: 'Never' }, Evaluation: 'Static' },
        {
          Target: { Attribute: 'Properties', Name: 'KeyName', RequiresRecreation: 'Always' },
          Evaluation: 'Dynamic'
        }
      ])
    ).toEqual([
      { path: 'Tags', recreation: 'never' },
      { path: 'KeyName', recreation: 'always' }
    ])
  })
})
