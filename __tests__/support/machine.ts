import { cpSync, mkdirSync, mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { removeTree } from './hermetic.mjs'

/**
 * A machine as a hosted runner has it: the same paths on every run (the workspace, the runner's home
 * and tool cache, the user cache), emptied between runs when it is to be fresh. The toolkit's cache
 * versions hash the paths, so a restore matches only where they are the same, as on GitHub's runners.
 * Its npm download cache is its own too: a fresh hosted runner starts without one, so a cold run pays the
 * downloads it would pay there.
 */
export interface Machine {
  /** Empties the machine and checks the service out again at the same path; returns that path. */
  fresh(prepare: (workspace: string) => void): string
  home: string
  env: Record<string, string>
  remove(): void
}

export function machine(name: string): Machine {
  const base = mkdtempSync(path.join(os.tmpdir(), `machine-${name}-`))
  const home = path.join(base, 'home')
  const workspace = path.join(base, 'work', 'service')
  return {
    fresh(prepare) {
      for (const dir of [home, path.join(base, 'xdg'), path.join(base, 'npm'), path.dirname(workspace)])
        removeTree(dir)
      mkdirSync(home, { recursive: true })
      mkdirSync(path.dirname(workspace), { recursive: true })
      prepare(workspace)
      return workspace
    },
    home,
    env: { XDG_CACHE_HOME: path.join(base, 'xdg'), npm_config_cache: path.join(base, 'npm') },
    remove: () => removeTree(base)
  }
}

/** A fixture checked out as it is in the repository. */
export function checkout(source: string): (workspace: string) => void {
  return workspace => cpSync(source, workspace, { recursive: true })
}
