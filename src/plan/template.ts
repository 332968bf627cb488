/**
 * Reading a CloudFormation template as the plan needs it: its resources, and any value (literal or
 * intrinsic) as one line of text. Templates come from a pull request, so nothing here trusts their shape.
 */

export interface TemplateResource {
  type: string
  properties: Record<string, unknown>
  deletionPolicy?: unknown
  updateReplacePolicy?: unknown
}

export type Resources = Record<string, TemplateResource>

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The template's resources by logical ID; an absent or malformed template has none. */
export function resourcesOf(template: object | undefined): Resources {
  const resources = isRecord(template) && isRecord(template.Resources) ? template.Resources : {}
  const result: Resources = {}
  for (const [id, value] of Object.entries(resources)) {
    if (!isRecord(value)) continue
    result[id] = {
      type: typeof value.Type === 'string' ? value.Type : '',
      properties: isRecord(value.Properties) ? value.Properties : {},
      deletionPolicy: value.DeletionPolicy,
      updateReplacePolicy: value.UpdateReplacePolicy
    }
  }
  return result
}

/** `{ Ref: X }`, `{ 'Fn::GetAtt': ... }` and the like: one key, an intrinsic function's name. */
export function intrinsicName(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined
  const keys = Object.keys(value)
  if (keys.length !== 1) return undefined
  return keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition' ? keys[0] : undefined
}

/** The logical ID a `Ref` or `Fn::GetAtt` points at, and the attribute. */
export function reference(value: unknown): { id: string; attribute?: string } | undefined {
  const name = intrinsicName(value)
  if (!name || !isRecord(value)) return undefined
  const argument = value[name]
  if (name === 'Ref' && typeof argument === 'string') return { id: argument }
  if (name === 'Fn::GetAtt') {
    if (Array.isArray(argument) && typeof argument[0] === 'string') {
      return { id: argument[0], attribute: typeof argument[1] === 'string' ? argument[1] : undefined }
    }
    if (typeof argument === 'string') {
      const [id, ...rest] = argument.split('.')
      return { id, attribute: rest.join('.') || undefined }
    }
  }
  return undefined
}

/**
 * A value as one line: literals as they are, intrinsics in the template's own `${...}` notation
 * (`arn:${AWS::Partition}:s3:::${Bucket}/*`), so that a reviewer reads what the template says.
 */
export function renderValue(value: unknown, depth = 0): string {
  if (depth > 20) return '…'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return ''
  if (Array.isArray(value)) return `[${value.map(item => renderValue(item, depth + 1)).join(', ')}]`
  const name = intrinsicName(value)
  if (name && isRecord(value)) {
    const argument = value[name]
    const ref = reference(value)
    if (ref) return ref.attribute ? `\${${ref.id}.${ref.attribute}}` : `\${${ref.id}}`
    if (name === 'Fn::Sub') {
      if (typeof argument === 'string') return argument
      if (Array.isArray(argument) && typeof argument[0] === 'string') return argument[0]
    }
    if (name === 'Fn::Join' && Array.isArray(argument) && Array.isArray(argument[1])) {
      const separator = typeof argument[0] === 'string' ? argument[0] : ''
      return argument[1].map(part => renderValue(part, depth + 1)).join(separator)
    }
    if (name === 'Fn::ImportValue') return `\${import:${renderValue(argument, depth + 1)}}`
    return `${name}(${renderValue(argument, depth + 1)})`
  }
  return JSON.stringify(sortKeys(value))
}

/** The same value with object keys sorted at every level: two templates' values compare as text. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (!isRecord(value)) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map(key => [key, sortKeys(value[key])])
  )
}

/** Structural equality of two template values (key order does not matter, array order does). */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))
}

/** A string, or a list of strings, as a list; anything else as one rendered item. */
export function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? value : [value]
}
