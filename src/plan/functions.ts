import type { ResourceChange, ResourceChangeDetail } from '@aws-sdk/client-cloudformation'
import type {
  ArtifactInput,
  ConfigChange,
  FunctionInput,
  FunctionPlan,
  FunctionProperty,
  ResourceItem
} from './model.js'
import { detailPath, KNOWN_AFTER_APPLY } from './properties.js'
import { functionSize } from './sizes.js'
import {
  intrinsicName,
  isRecord,
  listOf,
  renderValue,
  sameValue,
  type Resources,
  type TemplateResource
} from './template.js'

/**
 * Each function's code and configuration, before and after: the code by the new zip's SHA-256
 * against the deployed CodeSha256, the configuration by what CloudFormation says will change.
 *
 * When the change set carries property values (real CloudFormation with IncludePropertyValues), a
 * property changes exactly when it has a detail, with the detail's values where they are known. A
 * function changed in the console keeps its drift then, as CloudFormation leaves unchanged template
 * properties alone. Without values (moto), the deployed configuration is compared with the new
 * template, or the deployed template with the new one where the value is an intrinsic (a layer Ref).
 */

interface Property {
  name: FunctionProperty
  template: string
  list: boolean
  default?: unknown
  deployed: (deployed: NonNullable<FunctionInput['deployed']>) => unknown
}

const PROPERTIES: Property[] = [
  { name: 'runtime', template: 'Runtime', list: false, deployed: d => d.runtime },
  { name: 'memorySize', template: 'MemorySize', list: false, default: 128, deployed: d => d.memorySize },
  { name: 'timeout', template: 'Timeout', list: false, default: 3, deployed: d => d.timeout },
  {
    name: 'architectures',
    template: 'Architectures',
    list: true,
    default: ['x86_64'],
    deployed: d => d.architectures
  },
  { name: 'layers', template: 'Layers', list: true, default: [], deployed: d => d.layers }
]

function text(value: unknown, list: boolean): string | undefined {
  if (value === undefined || value === null) return undefined
  return list
    ? listOf(value)
        .map(item => renderValue(item))
        .join(', ')
    : renderValue(value)
}

function hasIntrinsic(value: unknown): boolean {
  if (intrinsicName(value)) return true
  if (Array.isArray(value)) return value.some(hasIntrinsic)
  if (isRecord(value)) return Object.values(value).some(hasIntrinsic)
  return false
}

/** A detail's value as shown: a JSON list as a comma-separated one. */
function detailValue(value: string | undefined, list: boolean): string | undefined {
  if (value === undefined || value === KNOWN_AFTER_APPLY) return undefined
  if (list && value.trimStart().startsWith('[')) {
    try {
      return text(JSON.parse(value), true)
    } catch {
      return value
    }
  }
  return value
}

function detailsFor(change: ResourceChange | undefined, name: string): ResourceChangeDetail[] {
  return (change?.Details ?? []).filter(detail => detail.Target?.Name === name)
}

/** Whether CloudFormation listed property paths (IncludePropertyValues), so that its details are the whole truth. */
export function hasPropertyValues(changes: Iterable<ResourceChange>): boolean {
  for (const change of changes) {
    if ((change.Details ?? []).some(detail => detail.Target?.Path !== undefined)) return true
  }
  return false
}

function configChanges(
  fn: FunctionInput,
  change: ResourceChange | undefined,
  authoritative: boolean,
  oldResource: TemplateResource | undefined,
  newResource: TemplateResource | undefined
): ConfigChange[] {
  const result: ConfigChange[] = []
  for (const property of PROPERTIES) {
    const after = newResource?.properties[property.template] ?? property.default
    const afterText = text(after, property.list)
    if (!fn.deployed) {
      if (afterText) result.push({ property: property.name, after: afterText })
      continue
    }
    const deployed = text(property.deployed(fn.deployed) ?? property.default, property.list)
    if (authoritative) {
      const details = detailsFor(change, property.template)
      if (details.length === 0) continue
      // A detail of the whole property carries its values; one of a list element (Layers/0) does not.
      const whole = details.find(
        detail => detailPath(detail) === property.template && detail.Evaluation !== 'Dynamic'
      )
      const before = detailValue(whole?.Target?.BeforeValue, property.list) ?? deployed
      const shown = detailValue(whole?.Target?.AfterValue, property.list) ?? afterText
      result.push({
        property: property.name,
        ...(before ? { before } : {}),
        ...(shown ? { after: shown } : {})
      })
      continue
    }
    if (hasIntrinsic(after)) {
      const old = oldResource?.properties[property.template] ?? property.default
      const changed = oldResource ? !sameValue(old, after) : detailsFor(change, property.template).length > 0
      if (changed)
        result.push({
          property: property.name,
          ...(deployed ? { before: deployed } : {}),
          ...(afterText ? { after: afterText } : {})
        })
      continue
    }
    if (deployed !== afterText) {
      result.push({
        property: property.name,
        ...(deployed ? { before: deployed } : {}),
        ...(afterText ? { after: afterText } : {})
      })
    }
  }
  return result
}

function variablesOf(resource: TemplateResource | undefined): Record<string, unknown> | undefined {
  const environment = resource?.properties.Environment
  if (!isRecord(environment)) return undefined
  return isRecord(environment.Variables) ? environment.Variables : undefined
}

const VARIABLE_PATH = /^Environment\/Variables\/(.+)$/

function namesDiff(
  fn: FunctionInput,
  oldResource: TemplateResource | undefined,
  newResource: TemplateResource | undefined
): FunctionPlan['environment'] {
  const after = variablesOf(newResource) ?? {}
  const afterNames = Object.keys(after)
  const before = variablesOf(oldResource)
  const beforeNames = fn.deployed?.environmentNames ?? Object.keys(before ?? {})
  const kept = afterNames.filter(name => beforeNames.includes(name))
  return {
    added: afterNames.filter(name => !beforeNames.includes(name)),
    removed: beforeNames.filter(name => !afterNames.includes(name)),
    changed: before ? kept.filter(name => !sameValue(before[name], after[name])) : []
  }
}

function environmentChanges(
  fn: FunctionInput,
  change: ResourceChange | undefined,
  authoritative: boolean,
  oldResource: TemplateResource | undefined,
  newResource: TemplateResource | undefined
): FunctionPlan['environment'] {
  let result: FunctionPlan['environment']
  if (!fn.deployed && !oldResource) {
    result = { added: Object.keys(variablesOf(newResource) ?? {}), removed: [], changed: [] }
  } else if (!authoritative) {
    result = namesDiff(fn, oldResource, newResource)
  } else {
    result = { added: [], removed: [], changed: [] }
    for (const detail of detailsFor(change, 'Environment')) {
      const name = VARIABLE_PATH.exec(detailPath(detail))?.[1]
      if (!name) {
        // The whole Environment or Variables map was added or removed: compare the names.
        const names = namesDiff(fn, oldResource, newResource)
        result.added.push(...names.added)
        result.removed.push(...names.removed)
        result.changed.push(...names.changed)
        continue
      }
      const kind = detail.Target?.AttributeChangeType
      ;(kind === 'Add' ? result.added : kind === 'Remove' ? result.removed : result.changed).push(name)
    }
  }
  const unique = (names: string[]) => [...new Set(names)].sort()
  return { added: unique(result.added), removed: unique(result.removed), changed: unique(result.changed) }
}

export function functionPlans(
  functions: FunctionInput[],
  changes: Map<string, ResourceChange>,
  items: ResourceItem[],
  oldResources: Resources,
  newResources: Resources,
  artifacts: ArtifactInput[]
): FunctionPlan[] {
  const withValues = hasPropertyValues(changes.values())
  const plans: FunctionPlan[] = functions.map(fn => {
    const change = changes.get(fn.logicalId)
    const oldResource = oldResources[fn.logicalId]
    const newResource = newResources[fn.logicalId]
    // A function the change set leaves out is unchanged when CloudFormation gave values at all; a
    // change without paths (moto, or values missing for it) is compared with the templates instead.
    const authoritative = change ? hasPropertyValues([change]) : withValues
    const config = configChanges(fn, change, authoritative, oldResource, newResource)
    const environment = environmentChanges(fn, change, authoritative, oldResource, newResource)
    const code: FunctionPlan['code'] = !fn.deployed
      ? 'new'
      : fn.deployed.codeSha256 === fn.newZipSha256
        ? 'unchanged'
        : 'changed'
    const changed =
      code === 'changed' ||
      config.length > 0 ||
      environment.added.length + environment.removed.length + environment.changed.length > 0
    const runtime = newResource?.properties.Runtime
    const size = functionSize(fn, newResource, newResources, artifacts)
    return {
      logicalId: fn.logicalId,
      name: fn.name,
      status: !fn.deployed ? 'new' : changed ? 'updated' : 'unchanged',
      code,
      config,
      environment,
      ...(runtime !== undefined ? { runtime: renderValue(runtime) } : {}),
      zipBytes: fn.newZipBytes,
      ...(fn.deployed?.codeSize !== undefined ? { previousZipBytes: fn.deployed.codeSize } : {}),
      ...size
    }
  })
  const known = new Set(functions.map(fn => fn.logicalId))
  for (const item of items) {
    if (item.type !== 'AWS::Lambda::Function' || item.action !== 'remove' || known.has(item.logicalId))
      continue
    const name = oldResources[item.logicalId]?.properties.FunctionName
    plans.push({
      logicalId: item.logicalId,
      name: typeof name === 'string' ? name : (item.physicalId ?? item.logicalId),
      status: 'removed',
      code: 'removed',
      config: [],
      environment: { added: [], removed: [], changed: [] },
      unknownLayers: 0,
      overLimit: false
    })
  }
  return plans.sort((a, b) => a.name.localeCompare(b.name))
}
