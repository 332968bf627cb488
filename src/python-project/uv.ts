import {
  type Atom,
  partialEvaluate,
  andMarkers,
  FALSE,
  isFalse,
  type Marker,
  orMarkers,
  parseMarker,
  sameMarker,
  TRUE
} from './markers.js'
import { type LockedRequirement, normalizeName, type Selection } from './requirements.js'
import { table, type Table } from './toml.js'

/**
 * uv.lock, read the way `uv export --frozen` reads it (uv's crates/uv-resolver/src/lock/export):
 * start at the project, follow every dependency edge, and give each package the union over all paths
 * of the conjunction of the markers on the path's edges.
 */

interface UvDependency {
  name: string
  version?: string
  source?: Table
  marker?: string
  extra?: string[]
}

export interface UvPackage {
  name: string
  version?: string
  source: Table
  dependencies?: UvDependency[]
  'optional-dependencies'?: Record<string, UvDependency[]>
  'dev-dependencies'?: Record<string, UvDependency[]>
  sdist?: { hash?: string }
  wheels?: { hash?: string }[]
  metadata?: {
    'requires-dist'?: Table[]
    'requires-dev'?: Record<string, Table[]>
  }
}

export interface UvLock {
  version?: number
  'requires-python'?: string
  manifest?: { members?: string[] }
  package?: UvPackage[]
}

function sourceKey(source: Table | undefined): string {
  return source ? JSON.stringify(Object.entries(source).sort(([a], [b]) => a.localeCompare(b))) : ''
}

function packageKey(pkg: UvPackage): string {
  return `${normalizeName(pkg.name)} ${pkg.version ?? ''} ${sourceKey(pkg.source)}`
}

/** The project's own packages: the root at `.`, else the workspace's members. */
export function uvRoots(lock: UvLock): UvPackage[] {
  const packages = lock.package ?? []
  const atRoot = packages.filter(p => p.source.editable === '.' || p.source.virtual === '.')
  if (atRoot.length > 0) return atRoot
  const members = new Set((lock.manifest?.members ?? []).map(normalizeName))
  return packages.filter(p => members.has(normalizeName(p.name)))
}

function find(lock: UvLock, dep: UvDependency): UvPackage {
  const name = normalizeName(dep.name)
  const found = (lock.package ?? []).filter(
    p =>
      normalizeName(p.name) === name &&
      (dep.version === undefined || p.version === dep.version) &&
      (dep.source === undefined || sourceKey(p.source) === sourceKey(dep.source))
  )
  if (found.length !== 1) {
    throw new Error(`uv.lock: dependency ${dep.name} ${dep.version ?? ''} matches ${found.length} packages`)
  }
  return found[0]!
}

function directReference(pkg: UvPackage): { requirement: string; editable?: boolean } | undefined {
  const source = pkg.source
  const name = normalizeName(pkg.name)
  if (typeof source.registry === 'string') return { requirement: `${name}==${pkg.version}` }
  if (typeof source.git === 'string') {
    // `https://host/repo?rev=main#<commit>` or with `subdirectory=`: pip wants `git+url@commit#subdirectory=`.
    const url = new URL(source.git)
    const commit = url.hash.slice(1)
    const subdirectory = url.searchParams.get('subdirectory')
    url.hash = ''
    url.search = ''
    return {
      requirement: `${name} @ git+${url.toString()}@${commit}${subdirectory ? `#subdirectory=${subdirectory}` : ''}`
    }
  }
  if (typeof source.url === 'string') {
    const subdirectory = typeof source.subdirectory === 'string' ? `#subdirectory=${source.subdirectory}` : ''
    return { requirement: `${name} @ ${source.url}${subdirectory}` }
  }
  const anchor = (p: string): string =>
    p === '.' || p.startsWith('./') || p.startsWith('../') || p.startsWith('/') ? p : `./${p}`
  if (typeof source.editable === 'string') return { requirement: anchor(source.editable), editable: true }
  if (typeof source.path === 'string') return { requirement: anchor(source.path) }
  if (typeof source.directory === 'string') return { requirement: anchor(source.directory) }
  // Virtual packages (a workspace root without a build system) install nothing.
  return undefined
}

function hashes(pkg: UvPackage): string[] {
  const all = [pkg.sdist?.hash, ...(pkg.wheels ?? []).map(w => w.hash)].filter((h): h is string => !!h)
  return [...new Set(all)].sort()
}

/** Options that are uv's own: which groups `uv export` includes when none are named. */
export interface UvDefaults {
  /** `[tool.uv] default-groups`; uv's default is `["dev"]`. */
  defaultGroups?: string[] | 'all'
}

/** The requirements `uv export --frozen` writes for this selection, as structured entries. */
export function uvRequirements(
  lock: UvLock,
  selection: Selection = {},
  defaults: UvDefaults = {}
): LockedRequirement[] {
  const roots = uvRoots(lock)
  const nodes = new Map<string, { pkg: UvPackage; extra?: string }>()
  const reach = new Map<string, Marker>()
  const edges = new Map<string, { to: string; marker: Marker }[]>()
  const nodeKey = (pkg: UvPackage, extra?: string): string =>
    `${packageKey(pkg)}${extra ? `[${normalizeName(extra)}]` : ''}`
  const node = (pkg: UvPackage, extra?: string): string => {
    const key = nodeKey(pkg, extra)
    if (!nodes.has(key)) {
      nodes.set(key, { pkg, extra })
      edges.set(key, [])
    }
    return key
  }
  const ROOT = '\u0000root'
  edges.set(ROOT, [])
  const edge = (from: string, to: string, marker: Marker): void => {
    edges.get(from)!.push({ to, marker })
  }
  // An edge to `pkg[extra]` reaches the package and, through its extra's node, the extra's dependencies.
  const linkDependency = (from: string, dep: UvDependency): void => {
    const target = find(lock, dep)
    const marker = parseMarker(dep.marker)
    edge(from, node(target), marker)
    for (const extra of dep.extra ?? []) edge(from, node(target, extra), marker)
  }

  const groupsWanted = (pkg: UvPackage): string[] => {
    const available = Object.keys(pkg['dev-dependencies'] ?? {})
    const groups = selection.groups ?? 'default'
    if (groups === 'default') {
      const d = defaults.defaultGroups ?? ['dev']
      if (d === 'all') return available
      return available.filter(g => d.map(normalizeName).includes(normalizeName(g)))
    }
    return available.filter(g => groups.map(normalizeName).includes(normalizeName(g)))
  }

  const requested = selection.extras ?? []
  for (const root of roots) {
    edge(ROOT, node(root), TRUE)
    const extras = Object.keys(root['optional-dependencies'] ?? {})
    const wanted =
      requested === 'all'
        ? extras
        : extras.filter(e => requested.map(normalizeName).includes(normalizeName(e)))
    for (const extra of wanted) edge(ROOT, node(root, extra), TRUE)
    // Dependency groups hang off the root directly: they install without the project itself.
    for (const group of groupsWanted(root))
      for (const dep of root['dev-dependencies']![group]!) linkDependency(ROOT, dep)
  }

  // Edges out of every node that becomes reachable.
  const expanded = new Set<string>()
  const queue = [...edges.get(ROOT)!.map(e => e.to)]
  while (queue.length > 0) {
    const key = queue.shift()!
    if (expanded.has(key)) continue
    expanded.add(key)
    const { pkg, extra } = nodes.get(key)!
    const deps = extra ? (pkg['optional-dependencies']?.[extra] ?? []) : (pkg.dependencies ?? [])
    for (const dep of deps) linkDependency(key, dep)
    // An extra's node also stands for the package itself.
    if (extra) edge(key, node(pkg), TRUE)
    for (const e of edges.get(key)!) if (!expanded.has(e.to)) queue.push(e.to)
  }

  // Propagate reachability to a fixed point: each node's marker is the union over incoming paths.
  reach.set(ROOT, TRUE)
  const work = [ROOT]
  while (work.length > 0) {
    const from = work.pop()!
    const base = reach.get(from)!
    for (const e of edges.get(from) ?? []) {
      const through = andMarkers(base, e.marker)
      if (isFalse(through)) continue
      const before = reach.get(e.to) ?? FALSE
      const after = orMarkers(before, through)
      if (!sameMarker(before, after) || !reach.has(e.to)) {
        reach.set(e.to, after)
        work.push(e.to)
      }
    }
  }

  // uv writes conflicting extras and groups as `extra == 'extra-<n>-<project>-<name>'` (or `group-…`);
  // they hold exactly when that extra or group is the one selected.
  const activated = new Set<string>()
  for (const root of roots) {
    const project = normalizeName(root.name)
    const tag = (kind: string, name: string): string =>
      `${kind}-${project.length}-${project}-${normalizeName(name)}`
    for (const extra of Object.keys(root['optional-dependencies'] ?? {}))
      if (requested === 'all' || requested.map(normalizeName).includes(normalizeName(extra)))
        activated.add(tag('extra', extra))
    for (const group of groupsWanted(root)) activated.add(tag('group', group))
  }
  const conflicts = (atom: Atom): boolean | undefined => {
    if (atom.variable !== 'extra' || !/^(extra|group)-\d+-/.test(atom.value)) return undefined
    const on = activated.has(atom.value)
    return atom.op === '==' ? on : atom.op === '!=' ? !on : undefined
  }

  const rootKeys = new Set(roots.map(r => packageKey(r)))
  const result: LockedRequirement[] = []
  for (const [key, { pkg, extra }] of nodes) {
    if (extra) continue
    const marker = partialEvaluate(reach.get(key) ?? FALSE, {}, conflicts)
    if (isFalse(marker)) continue
    if (!selection.emitProject && rootKeys.has(packageKey(pkg))) continue
    const reference = directReference(pkg)
    if (!reference) continue
    result.push({
      name: normalizeName(pkg.name),
      version: pkg.version,
      requirement: reference.requirement,
      hashes: hashes(pkg),
      marker,
      ...(reference.editable ? { editable: true } : {})
    })
  }
  return result
}

// ---------------------------------------------------------------- freshness

interface Declared {
  name: string
  extras: string[]
  specifier: string
  /** Named in [tool.uv.sources]: the lock records the source instead of a specifier. */
  sourced: boolean
}

function normalizeSpecifier(specifier: string): string {
  return specifier
    .split(',')
    .map(s => s.replace(/\s+/g, '').toLowerCase())
    .filter(Boolean)
    .sort()
    .join(',')
}

function declaredKey(d: Declared): string {
  return d.sourced
    ? normalizeName(d.name)
    : `${normalizeName(d.name)}[${[...d.extras].map(normalizeName).sort().join(',')}]${normalizeSpecifier(d.specifier)}`
}

/** A PEP 508 requirement string as uv records it in the lock's metadata (name, extras, specifier). */
function parseDeclared(requirement: string, sources: Set<string>): Declared | undefined {
  const m =
    /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(\(?[^;@]*?\)?)\s*(?:@\s*[^;]+)?(?:;.*)?$/.exec(
      requirement
    )
  if (!m) return undefined
  const name = m[1]!
  return {
    name,
    extras: (m[2] ?? '')
      .split(',')
      .map(e => e.trim())
      .filter(Boolean),
    specifier: m[3]!.replace(/^\(|\)$/g, ''),
    sourced: sources.has(normalizeName(name)) || requirement.includes('@')
  }
}

function fromLock(entry: Table, sources: Set<string>): Declared {
  const name = String(entry.name)
  const direct = ['git', 'url', 'path', 'editable', 'directory'].some(k => k in entry)
  return {
    name,
    extras: Array.isArray(entry.extras) ? entry.extras.map(String) : [],
    specifier: typeof entry.specifier === 'string' ? entry.specifier : '',
    sourced: direct || sources.has(normalizeName(name))
  }
}

function multiset(items: Declared[]): string[] {
  return items.map(declaredKey).sort()
}

function difference(recorded: string[], declared: string[]): string | undefined {
  const missing = declared.filter(d => !recorded.includes(d))
  const extra = recorded.filter(r => !declared.includes(r))
  if (missing.length === 0 && extra.length === 0) return undefined
  const parts = []
  if (missing.length) parts.push(`not in uv.lock: ${missing.join(', ')}`)
  if (extra.length) parts.push(`only in uv.lock: ${extra.join(', ')}`)
  return parts.join('; ')
}

function groupEntries(groups: Table, name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return []
  seen.add(name)
  const list = groups[name]
  if (!Array.isArray(list)) return []
  return list.flatMap(item =>
    typeof item === 'string'
      ? [item]
      : typeof item?.['include-group'] === 'string'
        ? groupEntries(groups, item['include-group'], seen)
        : []
  )
}

/**
 * Whether uv.lock still matches pyproject.toml, judged as `uv lock --check` judges the project's
 * own entry: the requirements the lock recorded in `[package.metadata]` (`requires-dist`,
 * `requires-dev`) against `[project]` and `[dependency-groups]`. Names, extras and specifiers are
 * compared; markers are not (uv rewrites them), nor anything the lock cannot show: dynamic
 * dependencies, workspaces, constraints and overrides. undefined when it matches or cannot tell;
 * otherwise what differs.
 */
export function uvStaleness(lock: UvLock, pyproject: Table): string | undefined {
  const project = table(pyproject.project)
  const root = (lock.package ?? []).find(p => p.source.editable === '.' || p.source.virtual === '.')
  if (!project || !root?.metadata) return undefined
  const uv = table(table(pyproject.tool)?.uv) ?? {}
  const sources = new Set(Object.keys(table(uv.sources) ?? {}).map(normalizeName))
  const dynamic = Array.isArray(project.dynamic) ? project.dynamic.map(String) : []
  const parse = (list: unknown): Declared[] | undefined => {
    const parsed = (Array.isArray(list) ? list : []).map(r => parseDeclared(String(r), sources))
    return parsed.every((d): d is Declared => !!d) ? parsed : undefined
  }

  if (!dynamic.includes('dependencies') && !dynamic.includes('optional-dependencies')) {
    const optional = Object.values(table(project['optional-dependencies']) ?? {}).flat()
    const declared = parse([
      ...(Array.isArray(project.dependencies) ? project.dependencies : []),
      ...optional
    ])
    const recorded = (root.metadata['requires-dist'] ?? []).map(e => fromLock(e, sources))
    if (declared) {
      const diff = difference(multiset(recorded), multiset(declared))
      if (diff) return `[project] dependencies: ${diff}`
    }
  }

  const groups = table(pyproject['dependency-groups']) ?? {}
  const declaredGroups: Record<string, unknown[]> = {}
  for (const name of Object.keys(groups)) declaredGroups[normalizeName(name)] = groupEntries(groups, name)
  if (Array.isArray(uv['dev-dependencies'])) {
    declaredGroups.dev = [...(declaredGroups.dev ?? []), ...uv['dev-dependencies']]
  }
  const recordedGroups = root.metadata['requires-dev'] ?? {}
  const names = new Set([...Object.keys(declaredGroups), ...Object.keys(recordedGroups).map(normalizeName)])
  for (const name of names) {
    const declared = parse(declaredGroups[name] ?? [])
    const recordedList = Object.entries(recordedGroups).find(([g]) => normalizeName(g) === name)?.[1] ?? []
    if (!declared) continue
    const diff = difference(multiset(recordedList.map(e => fromLock(e, sources))), multiset(declared))
    if (diff) return `dependency group '${name}': ${diff}`
  }
  return undefined
}
