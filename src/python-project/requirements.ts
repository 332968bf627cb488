import type { Marker } from './markers.js'

/** One package a lockfile pins, as its own exporter (`uv export`, `poetry export`) would write it. */
export interface LockedRequirement {
  /** Normalized (PEP 503) name. */
  name: string
  /** The locked version; undefined for a local directory. */
  version?: string
  /**
   * How pip gets it: `name==version` from an index, or a direct reference (`name @ git+https://…@sha`,
   * `name @ https://…`, a local path).
   */
  requirement: string
  /** `sha256:…` (or another algorithm the lock records), sorted; empty when the lock has none. */
  hashes: string[]
  /** When it applies; TRUE for always. */
  marker: Marker
  /** A local project installed in editable mode by the exporter (`-e ./path`). */
  editable?: boolean
}

/** What to take from a lock: its exporter's flags. */
export interface Selection {
  /** Extras of the project to include (`--extra`), or all of them. */
  extras?: string[] | 'all'
  /** Dependency groups (uv) or Poetry groups besides the main one; `default` keeps the tool's defaults. */
  groups?: string[] | 'default'
  /** Keep the project itself (uv: its editable/virtual root; Poetry never lists it). */
  emitProject?: boolean
}

/** PEP 503 normalization: `Foo_Bar.baz` → `foo-bar-baz`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-')
}
