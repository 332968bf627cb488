import { createHash } from 'node:crypto'
import {
  andMarkers,
  type Atom,
  FALSE,
  isFalse,
  type Marker,
  orMarkers,
  parseMarker,
  partialEvaluate,
  TRUE
} from './markers.js'
import { pythonJsonDumps } from './python-json.js'
import { type LockedRequirement, normalizeName, type Selection } from './requirements.js'
import { table, type Table } from './toml.js'
import { compareVersions, parseVersion, satisfiesAll } from './versions.js'

/**
 * poetry.lock, read as poetry-plugin-export's `poetry export -f requirements.txt` reads it
 * (src/poetry_plugin_export/walker.py), and its `content-hash` as Poetry computes it
 * (src/poetry/packages/locker.py).
 */

// ---------------------------------------------------------------- content-hash

const LEGACY_KEYS = ['dependencies', 'source', 'extras', 'dev-dependencies']
const PROJECT_KEYS = ['requires-python', 'dependencies', 'optional-dependencies']

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

const dumps = (value: unknown): string => pythonJsonDumps(value, { separators: [', ', ': '] })

/**
 * Every content-hash a Poetry release would write for this pyproject: 1.0–1.1 (the four legacy keys,
 * always), 1.2–1.8 (plus `group` when present), 2.0–2.2 (`[project]`'s keys beside them), 2.3+
 * (`[dependency-groups]` too). A lock is fresh when its hash is one of them.
 */
export function poetryContentHashes(pyproject: Table): string[] {
  const poetry = table(table(pyproject.tool)?.poetry) ?? {}
  const project = table(pyproject.project) ?? {}
  const groups = table(pyproject['dependency-groups']) ?? {}
  const hashes = new Set<string>()

  hashes.add(sha256(dumps(Object.fromEntries(LEGACY_KEYS.map(k => [k, poetry[k] ?? null])))))

  for (const withGroups of [false, true]) {
    const relevantProject = Object.fromEntries(
      PROJECT_KEYS.filter(k => project[k] !== undefined).map(k => [k, project[k]])
    )
    const groupContent = withGroups ? groups : {}
    const hasProject = Object.keys(relevantProject).length > 0
    const hasGroups = Object.keys(groupContent).length > 0
    const relevantPoetry: Table = {}
    for (const key of [...LEGACY_KEYS, 'group']) {
      const data = poetry[key]
      if (data === undefined && (!LEGACY_KEYS.includes(key) || hasProject || hasGroups)) continue
      relevantPoetry[key] = data ?? null
    }
    let content: Table
    if (hasProject || hasGroups) {
      content = { tool: { poetry: relevantPoetry } }
      if (hasProject) content.project = relevantProject
      if (hasGroups) content['dependency-groups'] = groupContent
    } else {
      content = relevantPoetry
    }
    hashes.add(sha256(dumps(content)))
  }
  return [...hashes]
}

// ---------------------------------------------------------------- constraints

/**
 * A Poetry version constraint (`^3.9`, `~1.2`, `>=1,<2 || ^3`, `1.2.*`) as alternatives of PEP 440
 * clauses.
 */
export function poetryConstraint(text: string): string[][] {
  const alternatives: string[][] = []
  for (const part of text.split(/\s*\|\|?\s*/)) {
    const clauses: string[] = []
    const tokens = part
      .trim()
      .replace(/(===|~=|==|!=|<=|>=|<|>|\^|~)\s+/g, '$1')
      .split(/\s*,\s*|\s+/)
      .filter(Boolean)
    for (const token of tokens) clauses.push(...poetryClause(token))
    alternatives.push(clauses)
  }
  return alternatives
}

function bump(release: number[], at: number): string {
  const next = release.slice(0, at + 1)
  while (next.length <= at) next.push(0)
  next[at]! += 1
  return next.join('.')
}

function poetryClause(token: string): string[] {
  if (token === '*' || token === '') return []
  const caret = /^\^(.+)$/.exec(token)
  if (caret) {
    const release = caret[1]!.split('.').map(Number)
    const first = release.findIndex(n => n !== 0)
    const at = first === -1 ? release.length - 1 : Math.min(first, release.length - 1)
    return [`>=${caret[1]}`, `<${bump(release, at)}`]
  }
  const tilde = /^~(?!=)(.+)$/.exec(token)
  if (tilde) {
    const release = tilde[1]!.split('.').map(Number)
    return [`>=${tilde[1]}`, `<${bump(release, release.length === 1 ? 0 : 1)}`]
  }
  if (/^(===|~=|==|!=|<=|>=|<|>)/.test(token)) return [token]
  return [`==${token}`]
}

export function poetryAllows(constraint: string | undefined, version: string): boolean {
  if (!constraint) return true
  return poetryConstraint(constraint).some(clauses => satisfiesAll(version, clauses.join(',')))
}

/** The marker Poetry writes for a Python constraint: python_version to a minor, python_full_version past it. */
export function pythonMarker(constraint: string | undefined): Marker {
  if (!constraint || constraint.trim() === '*') return TRUE
  let result = FALSE
  for (const clauses of poetryConstraint(constraint)) {
    let alt = TRUE
    for (const clause of clauses) {
      const m = /^(===|~=|==|!=|<=|>=|<|>)(.+)$/.exec(clause)!
      const value = m[2]!.trim()
      const precision = value.replace(/\.\*$/, '').split('.').length
      const atom: Atom = {
        variable: precision > 2 ? 'python_full_version' : 'python_version',
        op: m[1]!,
        value
      }
      alt = andMarkers(alt, [[atom]])
    }
    result = orMarkers(result, alt)
  }
  return result
}

// ---------------------------------------------------------------- export

interface Spec {
  name: string
  constraint?: string
  marker: Marker
  optional: boolean
  extras: string[]
}

/** A dependency as pyproject or the lock writes it: a constraint, a table, or a list of them. */
function specs(name: string, value: unknown): Spec[] {
  const list = Array.isArray(value) ? value : [value]
  return list.map(item => {
    if (typeof item === 'string') return { name, constraint: item, marker: TRUE, optional: false, extras: [] }
    const t = table(item) ?? {}
    let marker = parseMarker(typeof t.markers === 'string' ? t.markers : undefined)
    if (typeof t.python === 'string') marker = andMarkers(marker, pythonMarker(t.python))
    if (typeof t.platform === 'string')
      marker = andMarkers(marker, [[{ variable: 'sys_platform', op: '==', value: t.platform }]])
    return {
      name,
      constraint: typeof t.version === 'string' ? t.version : undefined,
      marker,
      optional: t.optional === true,
      extras: Array.isArray(t.extras) ? t.extras.map(String) : []
    }
  })
}

interface PoetryPackage {
  name: string
  version: string
  optional?: boolean
  'python-versions'?: string
  dependencies?: Table
  extras?: Record<string, string[]>
  files?: { file: string; hash: string }[]
  source?: {
    type?: string
    url?: string
    reference?: string
    resolved_reference?: string
    subdirectory?: string
  }
  groups?: string[]
  markers?: string | Record<string, string>
}

export interface PoetryLock {
  package?: PoetryPackage[]
  extras?: Record<string, string[]>
  metadata?: {
    'lock-version'?: string
    'content-hash'?: string
    files?: Record<string, { file: string; hash: string }[]>
  }
}

const HASH_ALGORITHMS = ['sha256', 'sha384', 'sha512']

function packageHashes(lock: PoetryLock, pkg: PoetryPackage): string[] {
  const files = pkg.files ?? lock.metadata?.files?.[pkg.name] ?? []
  const hashes = files
    .map(f => (f.hash.includes(':') ? f.hash : `sha256:${f.hash}`))
    .filter(h => HASH_ALGORITHMS.includes(h.split(':')[0]!))
  return [...new Set(hashes)].sort()
}

function requirementOf(pkg: PoetryPackage): string {
  const name = normalizeName(pkg.name)
  const source = pkg.source
  if (source?.type === 'git') {
    const sub = source.subdirectory ? `#subdirectory=${source.subdirectory}` : ''
    return `${name} @ git+${source.url}@${source.resolved_reference ?? source.reference}${sub}`
  }
  if (source?.type === 'url') return `${name} @ ${source.url}`
  if (source?.type === 'directory' || source?.type === 'file') return `${name} @ ${source.url}`
  return `${name}==${pkg.version}`
}

/** Python versions that decide which of several locked versions a requirement takes. */
const PYTHON_SAMPLES = ['2.7', '3.6', '3.7', '3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14'].flatMap(
  v => [`${v}.0`, `${v}.99`]
)

function pythonsOf(marker: Marker): string[] {
  return PYTHON_SAMPLES.filter(
    v =>
      !isFalse(
        partialEvaluate(marker, {
          python_full_version: v,
          python_version: v.split('.').slice(0, 2).join('.')
        })
      )
  )
}

function dropExtras(marker: Marker): Marker {
  return partialEvaluate(marker, {}, atom => (atom.variable === 'extra' ? true : undefined))
}

/** The project's Python constraint: `[tool.poetry.dependencies] python`, else `[project] requires-python`. */
export function poetryPython(pyproject: Table): string | undefined {
  const deps = table(table(table(pyproject.tool)?.poetry)?.dependencies)
  if (typeof deps?.python === 'string') return deps.python
  const requires = table(pyproject.project)?.['requires-python']
  return typeof requires === 'string' ? requires : undefined
}

/** What `poetry export -f requirements.txt` writes for this selection (its default: the main group). */
export function poetryRequirements(
  lock: PoetryLock,
  pyproject: Table,
  selection: Selection = {}
): LockedRequirement[] {
  const projectMarker = pythonMarker(poetryPython(pyproject))
  const groups = new Set(
    ['main', ...(Array.isArray(selection.groups) ? selection.groups : [])].map(normalizeName)
  )
  const extras = selection.extras === 'all' ? Object.keys(lock.extras ?? {}) : (selection.extras ?? [])
  const lockVersion = parseVersion(lock.metadata?.['lock-version'] ?? '1.0')!
  const entries =
    compareVersions(lockVersion, parseVersion('2.1')!) >= 0
      ? lockedByGroups(lock, groups, extras, projectMarker)
      : walk(lock, pyproject, groups, extras, projectMarker)
  return [...entries].map(([pkg, marker]) => ({
    name: normalizeName(pkg.name),
    version: pkg.version,
    requirement: requirementOf(pkg),
    hashes: packageHashes(lock, pkg),
    marker
  }))
}

// Lock 2.1 (Poetry 2) records each package's groups and markers: the walk was done when locking.
function lockedByGroups(
  lock: PoetryLock,
  groups: Set<string>,
  extras: string[],
  projectMarker: Marker
): Map<PoetryPackage, Marker> {
  const result = new Map<PoetryPackage, Marker>()
  for (const pkg of lock.package ?? []) {
    const inGroups = (pkg.groups ?? ['main']).map(normalizeName).filter(g => groups.has(g))
    if (inGroups.length === 0) continue
    let marker: Marker = FALSE
    if (typeof pkg.markers === 'string' || pkg.markers === undefined) marker = parseMarker(pkg.markers)
    else
      for (const group of inGroups)
        marker = orMarkers(marker, parseMarker(pkg.markers[group] ?? pkg.markers[group.replace(/-/g, '_')]))
    marker = partialEvaluate(marker, { extras })
    if (isFalse(marker)) continue
    marker = andMarkers(projectMarker, dropExtras(marker))
    if (!isFalse(marker)) result.set(pkg, marker)
  }
  return result
}

function rootSpecs(pyproject: Table, groups: Set<string>): Spec[] {
  const poetry = table(table(pyproject.tool)?.poetry) ?? {}
  const sections: [string, Table | undefined][] = [['main', table(poetry.dependencies)]]
  sections.push(['dev', table(poetry['dev-dependencies'])])
  for (const [group, body] of Object.entries(table(poetry.group) ?? {}))
    sections.push([group, table(table(body)?.dependencies)])
  const out: Spec[] = []
  for (const [group, deps] of sections) {
    if (!deps || !groups.has(normalizeName(group))) continue
    for (const [name, value] of Object.entries(deps))
      if (normalizeName(name) !== 'python') out.push(...specs(name, value))
  }
  return out
}

// Lock 2.0 and older: walk from pyproject's dependencies through the lock, as the plugin's walker does.
function walk(
  lock: PoetryLock,
  pyproject: Table,
  groups: Set<string>,
  extras: string[],
  projectMarker: Marker
): Map<PoetryPackage, Marker> {
  const byName = new Map<string, PoetryPackage[]>()
  for (const pkg of lock.package ?? []) {
    const key = normalizeName(pkg.name)
    byName.set(key, [...(byName.get(key) ?? []), pkg])
  }
  for (const list of byName.values())
    list.sort((a, b) => compareVersions(parseVersion(b.version)!, parseVersion(a.version)!))

  // Packages the selected extras bring in, with everything they depend on.
  const extraNames = new Set<string>()
  const pending = extras
    .flatMap(e => lock.extras?.[e] ?? lock.extras?.[normalizeName(e)] ?? [])
    .map(n => normalizeName(n.split(/[\s(<>=!~;[]/)[0]!))
  while (pending.length > 0) {
    const name = pending.pop()!
    if (extraNames.has(name)) continue
    extraNames.add(name)
    for (const pkg of byName.get(name) ?? [])
      for (const dep of Object.keys(pkg.dependencies ?? {})) pending.push(normalizeName(dep))
  }

  const rootName = normalizeName(
    String(table(table(pyproject.tool)?.poetry)?.name ?? table(pyproject.project)?.name ?? '')
  )
  const queue: Spec[] = []
  for (const spec of rootSpecs(pyproject, groups)) {
    const candidates = byName.get(normalizeName(spec.name)) ?? []
    const locked = candidates.find(p => poetryAllows(spec.constraint, p.version)) ?? candidates[0]
    if (!locked) continue
    if (locked.optional && !extraNames.has(normalizeName(locked.name))) continue
    queue.push({ ...spec, marker: andMarkers(spec.marker, projectMarker) })
  }

  const result = new Map<PoetryPackage, Marker>()
  const visited = new Set<string>()
  while (queue.length > 0) {
    const req = queue.shift()!
    const name = normalizeName(req.name)
    const key = `${name} ${req.constraint ?? ''} ${JSON.stringify(req.marker)} ${req.extras.join(',')}`
    if (visited.has(key) || name === rootName) continue
    visited.add(key)
    const pkg = chooseLocked(byName.get(name) ?? [], req)
    if (!pkg) throw new Error(`poetry.lock has no package for ${req.name} ${req.constraint ?? ''}`)
    const features = new Set(req.extras.map(normalizeName))
    const featureDeps = new Set(
      Object.entries(pkg.extras ?? {})
        .filter(([feature]) => features.has(normalizeName(feature)))
        .flatMap(([, deps]) => deps.map(d => normalizeName(d.split(/[\s(<>=!~;[]/)[0]!)))
    )
    for (const [depName, value] of Object.entries(pkg.dependencies ?? {})) {
      for (const dep of specs(depName, value)) {
        if (dep.optional && !featureDeps.has(normalizeName(depName))) continue
        const base = dropExtras(andMarkers(dep.marker, req.marker))
        if (isFalse(base)) continue
        // One requirement per Python range the candidates cover, as the plugin splits them.
        const candidates = byName.get(normalizeName(depName)) ?? []
        const regions =
          candidates.length > 1 ? candidates.map(c => pythonMarker(c['python-versions'])) : [TRUE]
        for (const region of regions) {
          const marker = andMarkers(region, base)
          if (!isFalse(marker)) queue.push({ ...dep, marker })
        }
      }
    }
    result.set(pkg, orMarkers(result.get(pkg) ?? FALSE, req.marker))
  }
  return result
}

function chooseLocked(candidates: PoetryPackage[], req: Spec): PoetryPackage | undefined {
  const pythons = pythonsOf(req.marker)
  return (
    candidates.find(
      p =>
        poetryAllows(req.constraint, p.version) &&
        pythons.every(v => poetryAllows(p['python-versions'] === '*' ? undefined : p['python-versions'], v))
    ) ?? candidates.find(p => poetryAllows(req.constraint, p.version))
  )
}
