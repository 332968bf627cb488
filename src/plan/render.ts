import { bytes, clip, code, escapeMarkdown } from '../markdown.js'
import { KNOWN_AFTER_APPLY_TEXT } from './properties.js'
import type {
  ArtifactPlan,
  ConfigChange,
  FunctionPlan,
  IamStatement,
  Plan,
  PropertyChange,
  ResourceItem,
  Route,
  RuntimePlan
} from './model.js'

/**
 * Plans as Markdown for a pull request comment or the job summary: per service, stage and region,
 * the counts, then every destructive change, then functions, HTTP routes, IAM statements, other
 * changes, package sizes and runtime dates. Everything that comes from a template or the change
 * set goes through escapeMarkdown.
 *
 * The text must fit `limit`. When it does not, the lists are shortened, all to the same length,
 * to the longest that fits; each shortened list says how many entries it left out and where they
 * are. The counts and every destructive change are never cut: the destructive list only gets
 * terser (a table without causes, then the names alone), and only a plan whose destructive names
 * alone exceed the limit is cut at the limit, saying so.
 */

export interface RenderOptions {
  /** Longest text, as `measure` counts. GitHub: 65,536 characters per comment; 1 MiB per job summary. */
  limit: number
  /** Defaults to UTF-16 code units, never fewer than GitHub's characters; pass a byte count for the summary. */
  measure?: (text: string) => number
  /** Where the whole plan can be read, named wherever something was left out. */
  jsonHint?: string
}

type DestructiveStyle = 'table' | 'compact' | 'names'

interface Detail {
  /** Longest list; Infinity for all. */
  items: number
  destructive: DestructiveStyle
  hint: string
}

const ACTION_WORD: Record<ResourceItem['action'], string> = {
  add: 'add',
  modify: 'modify',
  replace: 'replace',
  remove: 'remove'
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

function list<T>(entries: T[], detail: Detail, line: (entry: T) => string, what: string): string[] {
  const shown = entries.slice(0, detail.items)
  const lines = shown.map(line)
  const left = entries.length - shown.length
  if (left > 0) lines.push(more(left, what, detail))
  return lines
}

function more(left: number, what: string, detail: Detail): string {
  return `… and ${left} more ${what}: see ${detail.hint}`
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(row => `| ${row.join(' | ')} |`)
  ]
}

/** Table rows capped at the detail's length, with the cut said below the table. */
function cappedTable<T>(
  header: string[],
  entries: T[],
  detail: Detail,
  row: (entry: T) => string[],
  what: string
): string[] {
  const shown = entries.slice(0, detail.items)
  const lines = shown.length > 0 ? table(header, shown.map(row)) : []
  const left = entries.length - shown.length
  if (left > 0) lines.push('', more(left, what, detail))
  return lines
}

function actionLabel(item: ResourceItem): string {
  if (item.action === 'replace' && item.replacement === 'conditional') return 'may replace'
  return item.cfnAction ? `${ACTION_WORD[item.action]} (${item.cfnAction})` : ACTION_WORD[item.action]
}

function names(values: string[], max = 6): string {
  const shown = values.slice(0, max).map(value => code(value))
  if (values.length > max) shown.push(`+${values.length - max} more`)
  return shown.join(', ')
}

function header(plan: Plan): string[] {
  const { add, modify, replace, remove } = plan.counts
  const counts =
    plan.changes === 0
      ? '**No resource changes**'
      : `**${add} to add, ${modify} to modify, ${replace} to replace, ${remove} to remove**: ${plural(plan.changes, 'change')}`
  return [
    `### Plan: ${code(plan.service)} · ${code(plan.stage)} · ${code(plan.region)}`,
    '',
    `${counts} to ${plan.changeSetType === 'CREATE' ? 'the new stack' : 'stack'} ${code(plan.stackName)}`
  ]
}

function warnings(plan: Plan): string[] {
  return plan.warnings.map(warning => `> ⚠️ ${escapeMarkdown(clip(warning, 500))}`)
}

function why(item: ResourceItem, compact: boolean): string {
  const parts: string[] = []
  if (!compact && item.causes.length > 0) {
    parts.push(
      `${item.replacement === 'conditional' ? 'may require' : 'requires'} replacement: ${names(item.causes, 4)}`
    )
  }
  if (!compact && item.policy) parts.push(escapeMarkdown(item.policy))
  parts.push(`its ${escapeMarkdown(item.holds ?? 'data')} would be lost`)
  return parts.join('; ')
}

function destructive(plan: Plan, detail: Detail): string[] {
  const items = plan.resources.filter(item => item.destructive)
  if (items.length === 0) return []
  const lines = [
    '> [!CAUTION]',
    `> **Destructive:** ${plural(items.length, 'stateful resource')} would be replaced or removed without Retain or Snapshot, and ${items.length === 1 ? 'its' : 'their'} data lost.`,
    '',
    '#### 🔥 Destructive changes'
  ]
  if (detail.destructive === 'names') {
    lines.push(items.map(item => `**${actionLabel(item)}** ${code(item.logicalId, 255)}`).join(', '))
    return lines
  }
  const compact = detail.destructive === 'compact'
  lines.push(
    ...table(
      ['Change', 'Resource', 'Type', 'Why'],
      items.map(item => [
        `**${actionLabel(item)}**`,
        code(item.logicalId, 255),
        code(item.type),
        why(item, compact)
      ])
    )
  )
  return lines
}

const PROPERTY_LABEL: Record<ConfigChange['property'], string> = {
  runtime: 'runtime',
  memorySize: 'memory (MB)',
  timeout: 'timeout (s)',
  architectures: 'architecture',
  layers: 'layers'
}

function configText(fn: FunctionPlan): string {
  if (fn.config.length === 0) return fn.status === 'removed' ? '' : 'unchanged'
  return fn.config
    .map(change => {
      const label = PROPERTY_LABEL[change.property]
      if (change.before === undefined) return `${label} ${escapeMarkdown(clip(change.after ?? '', 80))}`
      return `${label} ${escapeMarkdown(clip(change.before, 80))} → ${escapeMarkdown(clip(change.after ?? '(unset)', 80))}`
    })
    .join('; ')
}

function environmentText(fn: FunctionPlan): string {
  const { added, removed, changed } = fn.environment
  const parts: string[] = []
  if (added.length > 0) parts.push(`added ${names(added)}`)
  if (removed.length > 0) parts.push(`removed ${names(removed)}`)
  if (changed.length > 0) parts.push(`value changed ${names(changed)}`)
  return parts.join('; ') || (fn.status === 'removed' ? '' : 'unchanged')
}

function codeText(fn: FunctionPlan): string {
  const size = fn.zipBytes !== undefined ? `, ${bytes(fn.zipBytes)}` : ''
  const before = fn.previousZipBytes !== undefined ? ` (was ${bytes(fn.previousZipBytes)})` : ''
  if (fn.code === 'removed') return '**function removed**'
  if (fn.code === 'new') return `new${size}`
  return `${fn.code}${size}${fn.code === 'changed' ? before : ''}`
}

function functions(plan: Plan, detail: Detail): string[] {
  if (plan.functions.length === 0) return []
  return [
    '#### Functions',
    ...cappedTable(
      ['Function', 'Code', 'Configuration', 'Environment variables'],
      plan.functions,
      detail,
      fn => [code(fn.name), codeText(fn), configText(fn), environmentText(fn)],
      'functions'
    )
  ]
}

const ROUTE_KIND: Record<Route['kind'], string> = {
  'http-api': 'HTTP API',
  'rest-api': 'REST API',
  'function-url': 'function URL'
}

function routeText(route: Route): string {
  return `${code(route.key)} (${ROUTE_KIND[route.kind]}, auth ${code(route.auth)})`
}

function routes(plan: Plan, detail: Detail): string[] {
  const { added, removed, changed } = plan.routes
  const entries = [
    ...added.map(route => `- ➕ ${routeText(route)}`),
    ...removed.map(route => `- ➖ ${routeText(route)}`),
    ...changed.map(
      ({ before, after }) =>
        `- 🔁 ${code(after.key)} (${ROUTE_KIND[after.kind]}): auth ${code(before.auth)} → ${code(after.auth)}`
    )
  ]
  if (entries.length === 0) return []
  return ['#### HTTP routes', ...list(entries, detail, entry => entry, 'route changes')]
}

function statementText(statement: IamStatement): string {
  const effect = `**${escapeMarkdown(statement.effect)}**`
  const actions =
    statement.notActions.length > 0
      ? `every action except ${names(statement.notActions)}`
      : names(statement.actions)
  const resources =
    statement.notResources.length > 0
      ? ` on every resource except ${names(statement.notResources)}`
      : statement.resources.length > 0
        ? ` on ${names(statement.resources)}`
        : ''
  const principals = statement.principals.length > 0 ? ` by ${names(statement.principals)}` : ''
  const condition = statement.condition ? ' (with a Condition)' : ''
  const kind = statement.kind === 'trust' ? 'trust: ' : ''
  const wildcards =
    statement.wildcards.length > 0
      ? ` — ⚠️ ${statement.broad ? '**broad** ' : ''}wildcard ${names(statement.wildcards, 4)}`
      : statement.broad
        ? ' — ⚠️ **broad**'
        : ''
  return `${code(statement.owner)}: ${kind}${effect} ${actions}${resources}${principals}${condition}${wildcards}`
}

function iam(plan: Plan, detail: Detail): string[] {
  const { added, removed, managedPolicies } = plan.iam
  const entries = [
    ...added.map(statement => `- ➕ ${statementText(statement)}`),
    ...removed.map(statement => `- ➖ ${statementText(statement)}`),
    ...managedPolicies.added.map(
      policy => `- ➕ ${code(policy.owner)}: managed policy ${code(policy.arn, 200)}`
    ),
    ...managedPolicies.removed.map(
      policy => `- ➖ ${code(policy.owner)}: managed policy ${code(policy.arn, 200)}`
    )
  ]
  if (entries.length === 0) return []
  return ['#### IAM', ...list(entries, detail, entry => entry, 'IAM changes')]
}

function value(text: string): string {
  return text === KNOWN_AFTER_APPLY_TEXT ? '_(known after apply)_' : code(text, 60)
}

function propertyText(property: PropertyChange): string {
  const name = code(property.path, 80)
  const forces =
    property.recreation === 'always'
      ? ' (forces replacement)'
      : property.recreation === 'conditionally'
        ? ' (may force replacement)'
        : ''
  if (property.hidden) {
    const why = property.hidden === 'structured' ? 'changed' : `${property.hidden} value not shown`
    return `${name} (${why})${forces}`
  }
  if (property.before === undefined && property.after === undefined) return `${name}${forces}`
  const before = property.before === undefined ? '' : `${value(property.before)} → `
  const after = property.after === undefined ? '(removed)' : value(property.after)
  return `${name}${forces}: ${before}${after}`
}

function detailsText(item: ResourceItem, detail: Detail): string {
  const parts: string[] = []
  // A stateless resource's policy changes nothing a reviewer weighs.
  if (item.stateful && item.policy) parts.push(escapeMarkdown(item.policy))
  const shown = item.properties.slice(0, Math.min(detail.items, 5))
  parts.push(...shown.map(propertyText))
  if (item.properties.length > shown.length)
    parts.push(`+${item.properties.length - shown.length} more properties`)
  return parts.join('; ')
}

function others(plan: Plan, detail: Detail): string[] {
  const inFunctions = new Set(plan.functions.map(fn => fn.logicalId))
  const items = plan.resources.filter(
    item =>
      !item.destructive &&
      !item.churn &&
      // The functions table shows these; a replaced function is shown here, as the table would not say so.
      !(item.type === 'AWS::Lambda::Function' && inFunctions.has(item.logicalId) && item.action !== 'replace')
  )
  const lines: string[] = []
  if (items.length > 0) {
    lines.push(
      '#### Other changes',
      ...cappedTable(
        ['Change', 'Resource', 'Type', 'Details'],
        items,
        detail,
        item => [
          item.action === 'replace' || item.action === 'remove'
            ? `**${actionLabel(item)}**`
            : actionLabel(item),
          code(item.logicalId, 255),
          code(item.type),
          detailsText(item, detail)
        ],
        'resource changes'
      )
    )
  }
  const { lambdaVersions, apiDeployments } = plan.churn
  const churn: string[] = []
  if (lambdaVersions.added + lambdaVersions.removed > 0) {
    churn.push(
      `${lambdaVersions.added} Lambda versions published, ${lambdaVersions.removed} dropped from the stack`
    )
  }
  if (apiDeployments.added + apiDeployments.removed > 0) {
    churn.push(
      `${plural(apiDeployments.added, 'REST API deployment')} added, ${apiDeployments.removed} removed`
    )
  }
  if (churn.length > 0) {
    if (lines.length === 0) lines.push('#### Other changes')
    lines.push('', `♻️ Every deploy's churn, counted above: ${churn.join('; ')}.`)
  }
  return lines
}

function before(artifact: ArtifactPlan): string {
  if (artifact.previousBytes === undefined) return ''
  const delta = artifact.bytes - artifact.previousBytes
  return `${bytes(artifact.previousBytes)} (${delta >= 0 ? '+' : '−'}${bytes(Math.abs(delta))})`
}

function sizes(plan: Plan, detail: Detail): string[] {
  const lines: string[] = []
  if (plan.artifacts.length > 0) {
    lines.push(
      '#### Package size',
      ...cappedTable(
        ['Artifact', 'Zipped', 'Before', 'Unzipped'],
        plan.artifacts,
        detail,
        artifact => [
          code(artifact.file),
          bytes(artifact.bytes),
          before(artifact),
          bytes(artifact.unzippedBytes)
        ],
        'artifacts'
      )
    )
  }
  const measured = plan.functions.filter(fn => fn.unzippedBytes !== undefined)
  if (measured.length > 0) {
    const limit = plan.unzippedLimitBytes
    const entries = measured.map(fn => {
      const share = Math.round(((fn.unzippedBytes ?? 0) / limit) * 100)
      const unknown =
        fn.unknownLayers > 0 ? `, plus ${plural(fn.unknownLayers, 'layer')} of unknown size` : ''
      return `${code(fn.name)} ${bytes(fn.unzippedBytes ?? 0)} (${share}%)${fn.overLimit ? ' ⛔ **over the limit**' : ''}${unknown}`
    })
    const shown = entries.slice(0, detail.items)
    const left = entries.length - shown.length
    lines.push(
      '',
      `Unzipped code and layers per function, against Lambda's ${bytes(limit)} limit: ${shown.join('; ')}${left > 0 ? `; ${more(left, 'functions', detail)}` : ''}`
    )
  }
  return lines
}

function lifecycle(runtime: RuntimePlan): string {
  if (runtime.phase === 'unknown') return 'no lifecycle dates known to this action'
  const phase = {
    supported: 'supported',
    deprecated: `⚠️ deprecated since ${runtime.deprecated}: no more security patches`,
    'create-blocked': `⚠️ deprecated; new functions blocked since ${runtime.blockCreate}`,
    'update-blocked': `⛔ updates blocked since ${runtime.blockUpdate}: this deploy will fail`
  }[runtime.phase]
  const next = runtime.next
    ? `; ${{ deprecated: 'deprecated', blockCreate: 'new functions blocked', blockUpdate: 'updates blocked' }[runtime.next.milestone]} from ${runtime.next.date} (in ${plural(runtime.next.days, 'day')})`
    : ''
  return `${phase}${next}`
}

function runtimes(plan: Plan, detail: Detail): string[] {
  if (plan.runtimes.length === 0) return []
  return [
    '#### Runtimes',
    ...cappedTable(
      ['Runtime', 'Functions', 'Lifecycle'],
      plan.runtimes,
      detail,
      runtime => [code(runtime.runtime), names(runtime.functions), lifecycle(runtime)],
      'runtimes'
    )
  ]
}

function renderPlan(plan: Plan, detail: Detail): string {
  const sections = [
    header(plan),
    warnings(plan),
    destructive(plan, detail),
    functions(plan, detail),
    routes(plan, detail),
    iam(plan, detail),
    others(plan, detail),
    sizes(plan, detail),
    runtimes(plan, detail)
  ].filter(section => section.length > 0)
  return sections.map(section => section.join('\n')).join('\n\n')
}

function renderAll(plans: Plan[], detail: Detail): string {
  return plans.map(plan => renderPlan(plan, detail)).join('\n\n---\n\n')
}

/** The longest list any section could show: above it, nothing is cut. */
function longestList(plan: Plan): number {
  return Math.max(
    plan.resources.length,
    plan.functions.length,
    plan.routes.added.length + plan.routes.removed.length + plan.routes.changed.length,
    plan.iam.added.length +
      plan.iam.removed.length +
      plan.iam.managedPolicies.added.length +
      plan.iam.managedPolicies.removed.length,
    plan.artifacts.length,
    plan.runtimes.length,
    ...plan.resources.map(item => item.properties.length)
  )
}

export function renderPlanMarkdown(plans: Plan[], options: RenderOptions): string {
  const measure = options.measure ?? ((text: string) => text.length)
  const hint = options.jsonHint ?? 'the plan JSON (output `plan`)'
  const fits = (text: string) => measure(text) <= options.limit
  const full = renderAll(plans, { items: Infinity, destructive: 'table', hint })
  if (fits(full)) return full
  for (const style of ['table', 'compact', 'names'] as DestructiveStyle[]) {
    const at = (items: number) => renderAll(plans, { items, destructive: style, hint })
    if (!fits(at(0))) continue
    // The longest list length that fits; longer lists only ever make the text longer.
    let low = 0
    let high = Math.max(0, ...plans.map(longestList))
    while (low < high) {
      const middle = Math.ceil((low + high) / 2)
      if (fits(at(middle))) low = middle
      else high = middle - 1
    }
    return at(low)
  }
  return cut(renderAll(plans, { items: 0, destructive: 'names', hint }), options.limit, measure, hint)
}

/** The last resort: whole lines up to the limit, and a line that says the rest is missing. */
function cut(text: string, limit: number, measure: (text: string) => number, hint: string): string {
  const note = (kept: number) =>
    `\n\n… too long even with the destructive changes only named: cut after ${kept} characters, see ${hint}`
  const lines = text.split('\n')
  let kept = ''
  for (const line of lines) {
    const next = kept ? `${kept}\n${line}` : line
    if (measure(next + note(next.length)) > limit) break
    kept = next
  }
  return kept + note(kept.length)
}
