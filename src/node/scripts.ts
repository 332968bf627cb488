import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import * as semver from 'semver'

/**
 * Dependencies' install scripts, as npm 12 treats them: none runs unless the project approves it in
 * package.json's `allowScripts` (npm 11.16's field: `{ "esbuild": true, "sharp@0.33.5": true,
 * "core-js": false }`), whatever npm, yarn or pnpm the runner has. The package managers install with
 * scripts off; the approved ones are then run on their own. A dependency's script would otherwise run
 * code nobody reviewed on the machine that then deploys (it could rewrite node_modules/serverless).
 */

/** The lifecycle scripts an install runs for a dependency (npm's `hasInstallScript`). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const

/** The project's own lifecycle scripts npm ci runs, in its order: its own code, reviewed with it. */
export const PROJECT_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'] as const

export interface ScriptedPackage {
  name: string
  version: string
  /** Relative to the project: node_modules/a/node_modules/b. */
  location: string
  scripts: string[]
}

export interface ScriptPolicy {
  approved: ScriptedPackage[]
  skipped: ScriptedPackage[]
}

type Approvals = Record<string, unknown>

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/** A folder, or a link to one; a dangling link is neither. */
function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory()
  } catch {
    return false
  }
}

/**
 * Every installed package with an install script (or a binding.gyp, which npm builds as one). A `file:`
 * folder or a workspace is installed as a link, and npm runs its scripts as any other's: links are
 * followed, each folder once, whatever links lead back to it.
 */
export function scriptedPackages(dir: string): ScriptedPackage[] {
  const found: ScriptedPackage[] = []
  const seen = new Set<string>()
  const visit = (modules: string) => {
    if (!existsSync(modules)) return
    for (const entry of readdirSync(modules)) {
      const full = path.join(modules, entry)
      if (entry.startsWith('.') || !isFolder(full)) continue
      const folders = entry.startsWith('@')
        ? readdirSync(full)
            .map(scoped => path.join(full, scoped))
            .filter(isFolder)
        : [full]
      for (const folder of folders) {
        const real = realpathSync(folder)
        if (seen.has(real)) continue
        seen.add(real)
        const manifest = readJson(path.join(folder, 'package.json'))
        if (manifest) {
          const scripts = (manifest.scripts ?? {}) as Record<string, unknown>
          const named = INSTALL_SCRIPTS.filter(script => typeof scripts[script] === 'string')
          if (!named.length && existsSync(path.join(folder, 'binding.gyp'))) named.push('install')
          if (named.length)
            found.push({
              name: String(manifest.name ?? path.basename(folder)),
              version: String(manifest.version ?? ''),
              location: path.relative(dir, folder),
              scripts: [...named]
            })
        }
        visit(path.join(folder, 'node_modules'))
      }
    }
  }
  visit(path.join(dir, 'node_modules'))
  return found.sort((a, b) => a.location.localeCompare(b.location))
}

/**
 * What the project approves: npm's allowScripts (a name, `name@version` or `name@range`, true or
 * false; false and anything absent deny), pnpm's onlyBuiltDependencies, yarn's dependenciesMeta
 * `built: true`.
 */
export function approves(manifest: Record<string, unknown>, pkg: { name: string; version: string }): boolean {
  const allow = (manifest.allowScripts ?? {}) as Approvals
  let verdict: boolean | undefined
  for (const [key, value] of Object.entries(allow)) {
    const at = key.lastIndexOf('@')
    const name = at > 0 ? key.slice(0, at) : key
    const range = at > 0 ? key.slice(at + 1) : undefined
    if (name !== pkg.name) continue
    if (range && !(semver.valid(pkg.version) && semver.satisfies(pkg.version, range))) continue
    // A deny wins over an approval of the same package.
    if (value === false) return false
    if (value === true) verdict = true
  }
  if (verdict) return true
  const pnpm = (manifest.pnpm as { onlyBuiltDependencies?: unknown } | undefined)?.onlyBuiltDependencies
  if (Array.isArray(pnpm) && pnpm.includes(pkg.name)) return true
  const meta = (manifest.dependenciesMeta ?? {}) as Record<string, { built?: unknown } | undefined>
  return meta[pkg.name]?.built === true || meta[`${pkg.name}@${pkg.version}`]?.built === true
}

/** Which installed packages' scripts run, and which are skipped. */
export function scriptPolicy(dir: string): ScriptPolicy {
  const manifest = readJson(path.join(dir, 'package.json')) ?? {}
  const policy: ScriptPolicy = { approved: [], skipped: [] }
  for (const pkg of scriptedPackages(dir))
    (approves(manifest, pkg) ? policy.approved : policy.skipped).push(pkg)
  return policy
}

/** The project's own lifecycle scripts, in the order npm ci runs them. */
export function projectScripts(dir: string): string[] {
  const scripts = (readJson(path.join(dir, 'package.json'))?.scripts ?? {}) as Record<string, unknown>
  return PROJECT_SCRIPTS.filter(name => typeof scripts[name] === 'string')
}

/** The notice that names what did not run, and how to approve one. */
export function skippedNotice(skipped: ScriptedPackage[]): string {
  const names = [...new Set(skipped.map(pkg => `${pkg.name}@${pkg.version} (${pkg.scripts.join(', ')})`))]
  return `Install scripts not run, because package.json's allowScripts does not approve them (npm 12 blocks them too): ${names.join(', ')}. A package that needs its script to work can be approved with npm approve-scripts <name> (npm install-scripts approve <name> from npm 12); commit package.json.`
}
