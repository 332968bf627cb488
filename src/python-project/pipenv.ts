import { createHash } from 'node:crypto'
import { parseMarker } from './markers.js'
import { pythonJsonDumps } from './python-json.js'
import { type LockedRequirement, normalizeName } from './requirements.js'
import { table, type Table } from './toml.js'

/**
 * Pipfile.lock. Its `_meta.hash.sha256` is the sha256 of the Pipfile's content as plette's
 * `Pipfile.get_hash()` serializes it (pipenv/vendor/plette/pipfiles.py): the sources (PyPI's when
 * the Pipfile names none), `requires`, the packages and dev-packages and any custom category, as
 * compact sorted JSON. pipenv since March 2026 (pypa/pipenv#6609, pipenv/utils/pipfile.py
 * `calculate_hash`) normalizes the package names first; a lock written by either is fresh.
 */

const SECTIONS = new Set([
  'source',
  'packages',
  'dev-packages',
  'requires',
  'scripts',
  'pipfile',
  'pipenv',
  'default',
  'develop'
])
const DEFAULT_SOURCE = [{ name: 'pypi', url: 'https://pypi.org/simple', verify_ssl: true }]

function pipfileHash(pipfile: Table, normalize: boolean): string {
  const names = (section: unknown): Table =>
    normalize
      ? Object.fromEntries(Object.entries(table(section) ?? {}).map(([k, v]) => [normalizeName(k), v]))
      : (table(section) ?? {})
  const data: Table = {
    _meta: { sources: pipfile.source ?? DEFAULT_SOURCE, requires: pipfile.requires ?? {} },
    default: names(pipfile.packages),
    develop: names(pipfile['dev-packages'])
  }
  for (const [category, values] of Object.entries(pipfile)) {
    if (!SECTIONS.has(category)) data[category] = names(values)
  }
  const content = pythonJsonDumps(data, { separators: [',', ':'] })
  return createHash('sha256').update(content, 'utf8').digest('hex')
}

/** The hashes pipenv releases would record for this Pipfile (names as written, and normalized). */
export function pipfileHashes(pipfile: Table): string[] {
  return [...new Set([pipfileHash(pipfile, false), pipfileHash(pipfile, true)])]
}

export interface PipfileLock {
  _meta?: { hash?: { sha256?: string } }
  default?: Record<string, PipfileLockEntry>
  develop?: Record<string, PipfileLockEntry>
}

interface PipfileLockEntry {
  version?: string
  hashes?: string[]
  markers?: string
  extras?: string[]
  git?: string
  ref?: string
  subdirectory?: string
  file?: string
  path?: string
  editable?: boolean
}

/** The `default` packages (`pipenv requirements`, which leaves out `develop`). */
export function pipenvRequirements(lock: PipfileLock): LockedRequirement[] {
  return Object.entries(lock.default ?? {}).map(([rawName, entry]) => {
    const name = normalizeName(rawName)
    const version = entry.version?.replace(/^==/, '')
    let requirement = `${name}==${version}`
    if (entry.git)
      requirement = `${name} @ git+${entry.git.replace(/^git\+/, '')}@${entry.ref}${entry.subdirectory ? `#subdirectory=${entry.subdirectory}` : ''}`
    else if (entry.file) requirement = `${name} @ ${entry.file}`
    else if (entry.path) requirement = entry.path
    return {
      name,
      version,
      requirement,
      hashes: [...(entry.hashes ?? [])].sort(),
      marker: parseMarker(entry.markers),
      ...(entry.editable ? { editable: true } : {})
    }
  })
}
