import type { ResourceChangeDetail } from '@aws-sdk/client-cloudformation'
import type { PropertyChange } from './model.js'

/**
 * The changed properties of one resource, from the change set's details, with the values that are
 * safe to put in a pull request comment. The plan JSON is an output too, so unsafe values never
 * enter it: environment variables (any `Environment` in the path) keep only their names, properties
 * whose name suggests a secret keep none, and structured values (JSON) are left out, since a secret
 * or an environment variable may sit anywhere inside them.
 */

export const KNOWN_AFTER_APPLY = '{{changeSet:KNOWN_AFTER_APPLY}}'
/** How the plan writes a value CloudFormation only knows once the change set runs. */
export const KNOWN_AFTER_APPLY_TEXT = '(known after apply)'

const SECRET_NAME =
  /secret|passw|passphrase|token|credential|private.?key|api.?key|access.?key|signing.?key|session|cookie|connection.?string|salt/i
const ENVIRONMENT = /(^|\/)(Environment|Variables)(\/|$)/i
/** Long enough for an ARN; a longer value is cut. */
const MAX_VALUE = 200

export function isSecretName(path: string): boolean {
  return SECRET_NAME.test(path)
}

export function isEnvironmentPath(path: string): boolean {
  return ENVIRONMENT.test(path)
}

/** `/Properties/Environment/Variables/STAGE` -> `Environment/Variables/STAGE`. */
export function detailPath(detail: ResourceChangeDetail): string {
  const target = detail.Target ?? {}
  if (target.Path) return target.Path.replace(/^\/Properties\//, '').replace(/^\//, '')
  if (target.Attribute && target.Attribute !== 'Properties') return target.Attribute
  return target.Name ?? target.Attribute ?? '?'
}

function visible(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (value === KNOWN_AFTER_APPLY) return KNOWN_AFTER_APPLY_TEXT
  return value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…` : value
}

function structured(value: string | undefined): boolean {
  if (value === KNOWN_AFTER_APPLY) return false
  const start = value?.trimStart()[0]
  return start === '{' || start === '['
}

const RECREATION_RANK = { never: 0, conditionally: 1, always: 2 } as const

function recreationOf(detail: ResourceChangeDetail): PropertyChange['recreation'] {
  const value = detail.Target?.RequiresRecreation
  return value === 'Always'
    ? 'always'
    : value === 'Conditionally'
      ? 'conditionally'
      : value === 'Never'
        ? 'never'
        : undefined
}

function changeOf(detail: ResourceChangeDetail): PropertyChange['change'] {
  const value = detail.Target?.AttributeChangeType
  return value === 'Add' ? 'add' : value === 'Remove' ? 'remove' : value === 'Modify' ? 'modify' : undefined
}

/**
 * One entry per property: CloudFormation lists a property once per evaluation (Static and Dynamic)
 * and per cause; the static one carries the known values, the most disruptive recreation wins.
 */
export function propertyChanges(details: ResourceChangeDetail[] | undefined): PropertyChange[] {
  const byPath = new Map<string, { change: PropertyChange; static: boolean }>()
  for (const detail of details ?? []) {
    if (!detail.Target) continue
    const path = detailPath(detail)
    const name = detail.Target.Name ?? ''
    const hidden: PropertyChange['hidden'] =
      isEnvironmentPath(path) || name === 'Environment'
        ? 'environment'
        : isSecretName(path)
          ? 'secret'
          : structured(detail.Target.BeforeValue) || structured(detail.Target.AfterValue)
            ? 'structured'
            : undefined
    const change: PropertyChange = {
      path,
      change: changeOf(detail),
      recreation: recreationOf(detail),
      ...(hidden
        ? { hidden }
        : { before: visible(detail.Target.BeforeValue), after: visible(detail.Target.AfterValue) })
    }
    const isStatic = detail.Evaluation !== 'Dynamic'
    const seen = byPath.get(path)
    if (!seen) {
      byPath.set(path, { change, static: isStatic })
      continue
    }
    const recreation =
      RECREATION_RANK[change.recreation ?? 'never'] > RECREATION_RANK[seen.change.recreation ?? 'never']
        ? change.recreation
        : seen.change.recreation
    if (isStatic && !seen.static) byPath.set(path, { change: { ...change, recreation }, static: true })
    else seen.change.recreation = recreation
  }
  return [...byPath.values()].map(entry => stripUndefined(entry.change))
}

function stripUndefined(change: PropertyChange): PropertyChange {
  return Object.fromEntries(
    Object.entries(change).filter(([, value]) => value !== undefined)
  ) as PropertyChange
}
