import type { Change, ResourceChange } from '@aws-sdk/client-cloudformation'
import type { Action, Counts, ResourceItem, Risk } from './model.js'
import { propertyChanges } from './properties.js'
import { defaultDeletionPolicy, STATEFUL_TYPES } from './stateful.js'
import { isRecord, type Resources, type TemplateResource } from './template.js'

/**
 * Each resource change of the change set as a reviewer weighs it: added, modified, replaced (for
 * sure or possibly) or removed, and for replacements and removals of stateful resources, whether
 * the data survives.
 *
 * A replacement follows the change set's Replacement field (True, Conditional, False). Without it
 * (moto reports only Action Add/Modify/Remove), the details' RequiresRecreation decide as CloudFormation
 * documents: Always with a static evaluation replaces, Always with a dynamic one or Conditionally may
 * replace; without details either, a Modify is a modify.
 */

function replacementOf(change: ResourceChange): ResourceItem['replacement'] {
  if (change.Replacement === 'True') return 'certain'
  if (change.Replacement === 'Conditional') return 'conditional'
  if (change.Replacement === 'False') return undefined
  let result: ResourceItem['replacement']
  for (const detail of change.Details ?? []) {
    const recreation = detail.Target?.RequiresRecreation
    if (recreation === 'Always' && detail.Evaluation !== 'Dynamic') return 'certain'
    if (recreation === 'Always' || recreation === 'Conditionally') result = 'conditional'
  }
  return result
}

function actionOf(change: ResourceChange, replacement: ResourceItem['replacement']): Action {
  if (change.Action === 'Add' || change.Action === 'Import') return 'add'
  if (change.Action === 'Remove') return 'remove'
  return replacement ? 'replace' : 'modify'
}

function contextOf(text: string | undefined): Record<string, unknown> {
  if (!text) return {}
  try {
    const value: unknown = JSON.parse(text)
    return isRecord(value) ? value : {}
  } catch {
    return {}
  }
}

function riskOfPolicy(value: unknown): Risk {
  if (value === 'Retain' || value === 'RetainExceptOnCreate') return 'retained'
  if (value === 'Snapshot') return 'snapshot'
  return 'data loss'
}

function describePolicy(name: string, value: unknown, where: string): string {
  return typeof value === 'string'
    ? `${name} ${value} (${where})`
    : `${name} not a literal (${where}): assumed Delete`
}

/** What becomes of the old resource, and the policy that says so: the change set's PolicyAction first. */
function policyOf(
  change: ResourceChange,
  action: 'replace' | 'remove',
  type: string,
  oldResource: TemplateResource | undefined,
  newResource: TemplateResource | undefined
): { risk: Risk; policy: string } {
  const policyAction = change.PolicyAction
  if (policyAction) {
    const kept = policyAction.replace(/^Replace(And)?/, '')
    return { risk: riskOfPolicy(kept), policy: `PolicyAction ${policyAction} (change set)` }
  }
  if (action === 'replace') {
    // The update applies the new template's attributes.
    const fromTemplate = newResource?.updateReplacePolicy ?? oldResource?.updateReplacePolicy
    if (fromTemplate !== undefined) {
      return {
        risk: riskOfPolicy(fromTemplate),
        policy: describePolicy('UpdateReplacePolicy', fromTemplate, 'template')
      }
    }
    const context =
      contextOf(change.AfterContext).UpdateReplacePolicy ??
      contextOf(change.BeforeContext).UpdateReplacePolicy
    if (context !== undefined) {
      return {
        risk: riskOfPolicy(context),
        policy: describePolicy('UpdateReplacePolicy', context, 'change set')
      }
    }
    return { risk: 'data loss', policy: 'no UpdateReplacePolicy: Delete' }
  }
  // A removed resource is only in the deployed template.
  const fromTemplate = oldResource?.deletionPolicy
  if (fromTemplate !== undefined) {
    return {
      risk: riskOfPolicy(fromTemplate),
      policy: describePolicy('DeletionPolicy', fromTemplate, 'template')
    }
  }
  const context = contextOf(change.BeforeContext).DeletionPolicy
  if (context !== undefined) {
    return { risk: riskOfPolicy(context), policy: describePolicy('DeletionPolicy', context, 'change set') }
  }
  const fallback = defaultDeletionPolicy(type, oldResource?.properties ?? {})
  return {
    risk: riskOfPolicy(fallback),
    policy:
      fallback === 'Delete'
        ? 'no DeletionPolicy: Delete'
        : `no DeletionPolicy: ${fallback} (the default for ${type})`
  }
}

function churnOf(type: string): ResourceItem['churn'] {
  if (type === 'AWS::Lambda::Version') return 'lambda-version'
  if (type === 'AWS::ApiGateway::Deployment') return 'api-deployment'
  return undefined
}

export function resourceItem(
  change: ResourceChange,
  oldResources: Resources,
  newResources: Resources
): ResourceItem {
  const logicalId = change.LogicalResourceId ?? '?'
  const oldResource = oldResources[logicalId]
  const newResource = newResources[logicalId]
  const type = change.ResourceType || newResource?.type || oldResource?.type || 'unknown'
  const replacement =
    change.Action === 'Modify' || change.Action === 'Dynamic' ? replacementOf(change) : undefined
  const action = actionOf(change, replacement)
  const holds = STATEFUL_TYPES[type]
  const properties = propertyChanges(change.Details)
  const item: ResourceItem = {
    logicalId,
    type,
    ...(change.PhysicalResourceId ? { physicalId: change.PhysicalResourceId } : {}),
    action,
    ...(replacement ? { replacement } : {}),
    ...(change.Action && !['Add', 'Modify', 'Remove'].includes(change.Action)
      ? { cfnAction: change.Action }
      : {}),
    stateful: holds !== undefined,
    ...(holds ? { holds } : {}),
    destructive: false,
    causes: properties
      .filter(property => property.recreation === 'always' || property.recreation === 'conditionally')
      .map(property => property.path),
    properties
  }
  if (action === 'replace' || action === 'remove') {
    const { risk, policy } = policyOf(change, action, type, oldResource, newResource)
    item.risk = item.stateful ? risk : 'none'
    item.policy = policy
    item.destructive = item.stateful && risk === 'data loss'
  }
  const churn = churnOf(type)
  if (churn) item.churn = churn
  return item
}

const ORDER: Record<Action, number> = { replace: 0, remove: 1, add: 2, modify: 3 }

/** Destructive items first, then replacements and removals, then additions and modifications. */
export function compareItems(a: ResourceItem, b: ResourceItem): number {
  return (
    Number(b.destructive) - Number(a.destructive) ||
    ORDER[a.action] - ORDER[b.action] ||
    a.logicalId.localeCompare(b.logicalId)
  )
}

/** The change set's resource changes, one item per logical ID (a page read twice counts once). */
export function resourceItems(
  changes: Change[],
  oldResources: Resources,
  newResources: Resources
): ResourceItem[] {
  const seen = new Set<string>()
  const items: ResourceItem[] = []
  for (const change of changes) {
    const resourceChange = change.ResourceChange
    if (!resourceChange) continue
    const key = resourceChange.LogicalResourceId ?? `#${items.length}`
    if (seen.has(key)) continue
    seen.add(key)
    items.push(resourceItem(resourceChange, oldResources, newResources))
  }
  return items.sort(compareItems)
}

export function countsOf(items: ResourceItem[]): Counts {
  const counts: Counts = { add: 0, modify: 0, replace: 0, remove: 0 }
  for (const item of items) counts[item.action]++
  return counts
}
