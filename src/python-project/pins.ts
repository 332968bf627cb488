import { readFileSync } from 'node:fs'
import type { PythonProject } from './index.js'
import { type Atom, isFalse, partialEvaluate, renderMarker } from './markers.js'
import { pipenvRequirements, type PipfileLock } from './pipenv.js'
import { poetryRequirements, type PoetryLock } from './poetry.js'
import type { LockedRequirement } from './requirements.js'
import { readToml } from './toml.js'
import { type UvLock, uvRequirements } from './uv.js'
import { satisfies } from './versions.js'

/**
 * The pins for Lambda. pip evaluates a requirement's marker against the interpreter that runs it,
 * not against `--platform`/`--python-version` (pip's InstallRequirement.match_markers uses
 * packaging's default_environment(); the target options only choose wheels and check
 * Requires-Python). The action runs pip on an x86_64 runner for a Lambda that may be arm64, so the
 * markers are evaluated here, for the target, and only what applies is written, without its marker.
 * What the target cannot decide (a patch-level python_full_version, platform_release) keeps its
 * marker for pip: the runner's interpreter has the target's minor version.
 */

export interface Target {
  /** Lambda's Python, `3.12`. */
  python: string
  platform: 'linux'
  machine: 'x86_64' | 'aarch64'
}

function environment(target: Target): Record<string, string> {
  return {
    python_version: target.python,
    sys_platform: target.platform,
    platform_system: 'Linux',
    os_name: 'posix',
    platform_machine: target.machine,
    implementation_name: 'cpython',
    platform_python_implementation: 'CPython'
  }
}

// python_full_version is known to its minor: an atom is decided when every patch agrees.
function decideFullVersion(target: Target): (atom: Atom) => boolean | undefined {
  return atom => {
    if (atom.variable !== 'python_full_version' && atom.variable !== 'implementation_version')
      return undefined
    const results = new Set(
      Array.from({ length: 60 }, (_, patch) => satisfies(`${target.python}.${patch}`, atom.op, atom.value))
    )
    return results.size === 1 ? [...results][0] : undefined
  }
}

/** The lock's entries for the production install: no dev groups, no extras, not the project itself. */
export function lockedEntries(project: PythonProject): LockedRequirement[] {
  switch (project.kind) {
    case 'uv':
      return uvRequirements(readToml(project.lockfile) as UvLock, {
        extras: [],
        groups: [],
        emitProject: false
      })
    case 'poetry':
      return poetryRequirements(readToml(project.lockfile) as PoetryLock, readToml(project.manifest!), {})
    case 'pipenv':
      return pipenvRequirements(JSON.parse(readFileSync(project.lockfile, 'utf8')) as PipfileLock)
    case 'requirements':
      throw new Error(
        'A requirements file is its own pin list: serverless-python-requirements reads it as it is'
      )
  }
}

/**
 * Requirement lines (`name==version --hash=sha256:…`) for Lambda, from the project's lock. Every
 * hash the lock records is written, for wheels and sdists alike; when one requirement cannot carry
 * a hash (a Git or local source, or a lock written without hashes), none does, since pip's hash
 * checking is all or nothing.
 */
export function lockedRequirements(project: PythonProject, target: Target): string[] {
  const env = environment(target)
  const decide = decideFullVersion(target)
  const kept = lockedEntries(project)
    .map(entry => ({ entry, marker: partialEvaluate(entry.marker, env, decide) }))
    .filter(({ marker }) => !isFalse(marker))
  const hashed = kept.length > 0 && kept.every(({ entry }) => entry.hashes.length > 0)
  return kept
    .sort((a, b) => a.entry.name.localeCompare(b.entry.name))
    .map(({ entry, marker }) => {
      const rest = renderMarker(marker)
      const line = `${entry.requirement}${rest ? ` ; ${rest}` : ''}`
      return hashed ? [line, ...entry.hashes.map(h => `    --hash=${h}`)].join(' \\\n') : line
    })
}
