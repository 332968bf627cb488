import type { IamDiff, IamStatement, ManagedPolicyAttachment } from './model.js'
import { isRecord, listOf, renderValue, sortKeys, type Resources } from './template.js'

/**
 * The IAM statements a template grants, compared structurally between the deployed and the new
 * template: a statement is the same when its owner, effect, actions, resources, principals and
 * condition are, whatever the order of keys and list items and whatever its Sid. Statements come
 * from roles', users' and groups' inline Policies, AWS::IAM::Policy, AWS::IAM::RolePolicy,
 * AWS::IAM::ManagedPolicy, and roles' trust policies; managed policy ARNs attached to a role count too.
 */

interface Found {
  statement: IamStatement
  key: string
}

const INLINE_OWNERS = new Set(['AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group'])
const POLICY_TYPES = new Set(['AWS::IAM::Policy', 'AWS::IAM::RolePolicy', 'AWS::IAM::ManagedPolicy'])

function rendered(value: unknown): string[] {
  return listOf(value).map(item => renderValue(item))
}

function principalsOf(value: unknown): string[] {
  if (value === undefined) return []
  if (!isRecord(value)) return rendered(value)
  return Object.entries(value).flatMap(([kind, ids]) => rendered(ids).map(id => `${kind}: ${id}`))
}

/** Comparable form: list elements sorted, singletons as lists, Sid dropped. */
function canonical(statement: Record<string, unknown>): string {
  const normalised: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(statement)) {
    if (key === 'Sid') continue
    if (['Action', 'NotAction', 'Resource', 'NotResource'].includes(key)) {
      normalised[key] = [...new Set(listOf(value).map(item => JSON.stringify(sortKeys(item))))].sort()
    } else if ((key === 'Principal' || key === 'NotPrincipal') && isRecord(value)) {
      normalised[key] = Object.fromEntries(
        Object.entries(value).map(([kind, ids]) => [
          kind,
          [...new Set(listOf(ids).map(item => JSON.stringify(sortKeys(item))))].sort()
        ])
      )
    } else {
      normalised[key] = value
    }
  }
  return JSON.stringify(sortKeys(normalised))
}

function statementsOfDocument(
  document: unknown,
  owner: string,
  ownerType: string,
  kind: IamStatement['kind'],
  policyName: string | undefined
): Found[] {
  const statements = isRecord(document) ? listOf(document.Statement) : [document]
  return statements.filter(isRecord).map(statement => {
    const actions = rendered(statement.Action)
    const notActions = rendered(statement.NotAction)
    const resources = rendered(statement.Resource)
    const notResources = rendered(statement.NotResource)
    const principals = [...principalsOf(statement.Principal), ...principalsOf(statement.NotPrincipal)]
    const effect = typeof statement.Effect === 'string' ? statement.Effect : renderValue(statement.Effect)
    const wildcards = [...actions, ...notActions, ...resources, ...notResources, ...principals].filter(
      value => value.includes('*')
    )
    const allow = effect === 'Allow'
    const broad =
      allow &&
      (actions.some(action => action === '*' || /^[\w-]+:\*$/.test(action)) ||
        resources.includes('*') ||
        principals.some(principal => principal === '*' || principal.endsWith(': *')) ||
        notActions.length > 0 ||
        notResources.length > 0)
    return {
      key: `${owner}\u0000${kind}\u0000${canonical(statement)}`,
      statement: {
        owner,
        ownerType,
        ...(policyName ? { policyName } : {}),
        kind,
        effect,
        ...(typeof statement.Sid === 'string' ? { sid: statement.Sid } : {}),
        actions,
        notActions,
        resources,
        notResources,
        principals,
        condition: statement.Condition !== undefined,
        wildcards: [...new Set(wildcards)],
        broad
      }
    }
  })
}

function nameOf(value: unknown): string | undefined {
  return value === undefined ? undefined : renderValue(value)
}

export function statementsOf(resources: Resources): Found[] {
  const found: Found[] = []
  for (const [id, resource] of Object.entries(resources)) {
    const p = resource.properties
    if (INLINE_OWNERS.has(resource.type)) {
      for (const policy of listOf(p.Policies).filter(isRecord)) {
        found.push(
          ...statementsOfDocument(
            policy.PolicyDocument,
            id,
            resource.type,
            'permission',
            nameOf(policy.PolicyName)
          )
        )
      }
      if (resource.type === 'AWS::IAM::Role' && p.AssumeRolePolicyDocument !== undefined) {
        found.push(...statementsOfDocument(p.AssumeRolePolicyDocument, id, resource.type, 'trust', undefined))
      }
    } else if (POLICY_TYPES.has(resource.type)) {
      const name = nameOf(p.PolicyName ?? p.ManagedPolicyName)
      found.push(...statementsOfDocument(p.PolicyDocument, id, resource.type, 'permission', name))
    }
  }
  return found
}

export function managedPoliciesOf(resources: Resources): ManagedPolicyAttachment[] {
  const attachments: ManagedPolicyAttachment[] = []
  for (const [id, resource] of Object.entries(resources)) {
    if (!INLINE_OWNERS.has(resource.type)) continue
    for (const arn of listOf(resource.properties.ManagedPolicyArns))
      attachments.push({ owner: id, arn: renderValue(arn) })
  }
  return attachments
}

/** Statements and attachments in one template and not the other, as multisets. */
function difference<T>(from: { key: string; value: T }[], minus: { key: string }[]): T[] {
  const remaining = new Map<string, number>()
  for (const { key } of minus) remaining.set(key, (remaining.get(key) ?? 0) + 1)
  const result: T[] = []
  for (const { key, value } of from) {
    const count = remaining.get(key) ?? 0
    if (count > 0) remaining.set(key, count - 1)
    else result.push(value)
  }
  return result
}

function byOwner(a: { owner: string }, b: { owner: string }): number {
  return a.owner.localeCompare(b.owner)
}

export function diffIam(before: Resources, after: Resources): IamDiff {
  const old = statementsOf(before).map(found => ({ key: found.key, value: found.statement }))
  const current = statementsOf(after).map(found => ({ key: found.key, value: found.statement }))
  const oldManaged = managedPoliciesOf(before).map(value => ({ key: `${value.owner} ${value.arn}`, value }))
  const currentManaged = managedPoliciesOf(after).map(value => ({
    key: `${value.owner} ${value.arn}`,
    value
  }))
  return {
    added: difference(current, old).sort(byOwner),
    removed: difference(old, current).sort(byOwner),
    managedPolicies: {
      added: difference(currentManaged, oldManaged).sort(byOwner),
      removed: difference(oldManaged, currentManaged).sort(byOwner)
    }
  }
}
