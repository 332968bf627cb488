import {
  type Environment,
  evaluateMarker,
  type Marker,
  parseMarker
} from '../../src/python-project/markers.js'
import { normalizeName, type LockedRequirement } from '../../src/python-project/requirements.js'
import { satisfiesAll } from '../../src/python-project/versions.js'

/**
 * Reads a committed `uv export` / `poetry export` requirements file and compares it with what the
 * action derives from the lock. Markers are compared by what they select over a grid of
 * environments, because the exporters' canonical marker text is theirs (uv's decision diagrams,
 * poetry-core's marker algebra), not something the action needs to reproduce.
 */

export interface ExportedLine {
  key: string
  hashes: string[]
  marker: Marker
  editable: boolean
}

/** Keys a requirement the same way on both sides: `name==version`, `name @ url`, or a path. */
export function requirementKey(requirement: string): string {
  const pinned = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(\S+)$/.exec(requirement)
  if (pinned) return `${normalizeName(pinned[1]!)}==${pinned[2]}`
  const direct = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*@\s*(\S+)$/.exec(requirement)
  if (direct) return `${normalizeName(direct[1]!)} @ ${direct[2]}`
  return requirement
}

export function parseExport(text: string): ExportedLine[] {
  const joined = text.replace(/\\\r?\n/g, ' ')
  const lines: ExportedLine[] = []
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim()
    if (
      !line ||
      line.startsWith('#') ||
      line.startsWith('--index-url') ||
      line.startsWith('--extra-index-url')
    )
      continue
    const hashes = [...line.matchAll(/--hash=(\S+)/g)].map(m => m[1]!).sort()
    const body = line.replace(/--hash=\S+/g, '').trim()
    const editable = body.startsWith('-e ')
    const spec = editable ? body.slice(3).trim() : body
    const semicolon = spec.search(/\s;\s|\s;$|;\s/)
    const requirement = (semicolon >= 0 ? spec.slice(0, semicolon) : spec).trim()
    const marker = semicolon >= 0 ? spec.slice(semicolon).replace(/^\s*;\s*/, '') : ''
    lines.push({ key: requirementKey(requirement), hashes, marker: parseMarker(marker), editable })
  }
  return lines
}

const PLATFORMS = [
  { sys_platform: 'linux', platform_system: 'Linux', os_name: 'posix' },
  { sys_platform: 'darwin', platform_system: 'Darwin', os_name: 'posix' },
  { sys_platform: 'win32', platform_system: 'Windows', os_name: 'nt' }
]
const MACHINES = ['x86_64', 'aarch64', 'arm64', 'AMD64']
const IMPLEMENTATIONS = [
  { implementation_name: 'cpython', platform_python_implementation: 'CPython' },
  { implementation_name: 'pypy', platform_python_implementation: 'PyPy' }
]
const PYTHONS = [
  '3.7.17',
  '3.8.0',
  '3.8.18',
  '3.9.0',
  '3.9.2',
  '3.9.20',
  '3.10.0',
  '3.10.15',
  '3.11.0',
  '3.11.4',
  '3.11.10',
  '3.12.0',
  '3.12.7',
  '3.13.0',
  '3.13.1',
  '3.14.0',
  '3.15.0'
]

/** Environments a lock may be asked about, within its requires-python. */
export function environmentGrid(requiresPython = '', alsoPythons: string[] = []): Environment[] {
  const grid: Environment[] = []
  for (const python of [...PYTHONS, ...alsoPythons]) {
    if (!satisfiesAll(python, requiresPython)) continue
    for (const platform of PLATFORMS)
      for (const platform_machine of MACHINES)
        for (const implementation of IMPLEMENTATIONS)
          grid.push({
            python_full_version: python,
            python_version: python.split('.').slice(0, 2).join('.'),
            implementation_version: python,
            platform_machine,
            platform_release: '',
            platform_version: '',
            extras: [],
            ...platform,
            ...implementation
          })
  }
  return grid
}

/** Full Python versions the markers name (`python_full_version == '3.11.3'`), so the grid meets them. */
export function pythonsNamed(markers: Marker[]): string[] {
  const found = new Set<string>()
  for (const marker of markers)
    for (const conj of marker)
      for (const atom of conj)
        if (atom.variable === 'python_full_version' && /^\d+\.\d+\.\d+$/.test(atom.value))
          found.add(atom.value)
  return [...found]
}

export interface Difference {
  key: string
  problem: string
}

/**
 * Every disagreement between the derived entries and the exported lines: a requirement on one side
 * only (where its marker can hold at all), different hashes, or a marker that selects differently.
 */
export function compareWithExport(
  derived: LockedRequirement[],
  exported: ExportedLine[],
  grid: Environment[],
  options: { hashes: boolean }
): Difference[] {
  const differences: Difference[] = []
  const live = (marker: Marker): boolean => grid.some(env => evaluateMarker(marker, env))
  const mine = new Map(derived.filter(r => live(r.marker)).map(r => [requirementKey(r.requirement), r]))
  const theirs = new Map(exported.filter(l => live(l.marker)).map(l => [l.key, l]))
  for (const [key, line] of theirs) {
    const r = mine.get(key)
    if (!r) {
      differences.push({ key, problem: 'exported, not derived' })
      continue
    }
    if (options.hashes && r.hashes.join(' ') !== line.hashes.join(' '))
      differences.push({ key, problem: 'hashes differ' })
    if (!!r.editable !== line.editable) differences.push({ key, problem: 'editable differs' })
    const env = grid.find(e => evaluateMarker(r.marker, e) !== evaluateMarker(line.marker, e))
    if (env) {
      differences.push({
        key,
        problem: `marker differs at python ${env.python_full_version} ${env.sys_platform} ${env.platform_machine} ${env.implementation_name}`
      })
    }
  }
  for (const key of mine.keys())
    if (!theirs.has(key)) differences.push({ key, problem: 'derived, not exported' })
  return differences
}
