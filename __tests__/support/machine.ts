import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { removeTree } from './hermetic.mjs'

/**
 * A machine as a hosted runner has it: the same paths on every run (the workspace, the runner's home
 * and tool cache, the user cache), emptied between runs when it is to be fresh. The toolkit's cache
 * versions hash the paths, so a restore matches only where they are the same, as on GitHub's runners.
 * Its npm download cache is its own too: a fresh hosted runner starts without one, so a cold run pays the
 * downloads it would pay there.
 *
 * Emptying moves the previous machine aside instead of deleting it; all of it goes in remove(). A fresh
 * runner has deleted nothing, and on ext4 a mass deletion slows the file creation that follows for a
 * minute or more (its inode allocator skips recently deleted inodes one by one, `recently_deleted` in
 * a kernel profile): measured here, restoring node_modules took 2 s on a quiet disk and 12 to 34 s right
 * after the previous machine's node_modules was removed.
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
  let emptied = 0
  return {
    fresh(prepare) {
      const aside = path.join(base, 'previous', String(++emptied))
      mkdirSync(aside, { recursive: true })
      for (const dir of [home, path.join(base, 'xdg'), path.join(base, 'npm'), path.dirname(workspace)])
        if (existsSync(dir)) renameSync(dir, path.join(aside, path.basename(dir)))
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
