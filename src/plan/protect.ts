import { UserError } from '../errors.js'
import type { Plan, ResourceItem } from './model.js'

/**
 * The `protect` input: what a plan must not replace or remove. An entry is `stateful` (every type in
 * STATEFUL_TYPES), a logical ID (`UsersTable`) or a resource type (`AWS::DynamoDB::Table`).
 *
 * `stateful` follows the data-loss rule: a stateful resource replaced (or possibly replaced) or
 * removed with Retain, RetainExceptOnCreate or Snapshot keeps its data and does not violate it. An
 * entry that names the resource or its type is stricter: any replacement, possible replacement or
 * removal violates it, retained or not, since a retained resource still leaves the stack (it has
 * to be imported again) and a replaced one still gets a new physical ID.
 */

export interface ProtectViolation {
  logicalId: string
  type: string
  action: 'replace' | 'remove'
  replacement?: 'certain' | 'conditional'
  /** The protect entry that matched: `stateful`, the logical ID or the type. */
  entry: string
  risk?: ResourceItem['risk']
}

const LOGICAL_ID = /^[A-Za-z0-9]+$/
const RESOURCE_TYPE = /^[A-Za-z0-9]+(::[A-Za-z0-9_-]+){1,2}$/

/** Checks each entry's shape, so that a typo does not silently protect nothing. */
export function protectEntries(protect: string[]): string[] {
  const entries = protect.map(entry => entry.trim()).filter(entry => entry !== '')
  for (const entry of entries) {
    if (entry === 'stateful' || LOGICAL_ID.test(entry) || RESOURCE_TYPE.test(entry)) continue
    throw new UserError(
      `Input 'protect' is '${protect.join(',')}': ${JSON.stringify(entry)} is neither stateful, a logical ID (letters and digits, ` +
        `such as UsersTable) nor a resource type (such as AWS::DynamoDB::Table). Correct or remove it.`
    )
  }
  return entries
}

export function protectedViolations(plan: Plan, protect: string[]): ProtectViolation[] {
  const entries = protectEntries(protect)
  const violations: ProtectViolation[] = []
  for (const item of plan.resources) {
    if (item.action !== 'replace' && item.action !== 'remove') continue
    const entry =
      entries.find(entry => entry === item.logicalId) ??
      entries.find(entry => entry === item.type) ??
      (item.destructive ? entries.find(entry => entry === 'stateful') : undefined)
    if (!entry) continue
    violations.push({
      logicalId: item.logicalId,
      type: item.type,
      action: item.action,
      ...(item.replacement ? { replacement: item.replacement } : {}),
      entry,
      ...(item.risk ? { risk: item.risk } : {})
    })
  }
  return violations
}
