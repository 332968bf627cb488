import { existsSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { UserError } from '../errors.js'
import type { Exec } from '../exec.js'
import {
  installCommand,
  lockCommand,
  nodeProject,
  OUT_OF_SYNC,
  rebuildCommand,
  runScriptCommand,
  type Command,
  type NodeProject
} from './project.js'
import { projectScripts, scriptPolicy, skippedNotice } from './scripts.js'
import { checkTree } from './tree.js'

/**
 * Installs a project's Node dependencies, or proves the ones already there are the lockfile's.
 *
 * A node_modules that is there before the install (restored from a cache, or left by an earlier job on
 * a self-hosted runner) is used only when checkTree proves it equal to package-lock.json; otherwise it
 * is removed and installed again. The package manager installs from the lockfile, frozen, with no
 * install script; then the scripts package.json approves (allowScripts) run, and the project's own
 * lifecycle scripts, as npm ci would run them.
 */

export type InstallResult = 'installed' | 'verified' | 'no package.json'

/** The edges an install touches. */
export interface InstallDeps {
  exec: Exec
  /** The package manager's environment (child-env.ts: 'package-manager'). */
  env: Record<string, string>
  log: (message: string) => void
  warn: (message: string) => void
  notice: (message: string, title: string) => void
  /** npm's caches, where the lockfile's tarballs are looked for. */
  npmCaches: string[]
}

export async function installNodeModules(dir: string, deps: InstallDeps): Promise<InstallResult> {
  const project = nodeProject(dir)
  if (!project) return 'no package.json'
  const modules = path.join(dir, 'node_modules')
  if (existsSync(modules)) {
    if (project.manager === 'npm' && project.lockfile) {
      const check = await checkTree(dir, project.lockfile, deps.npmCaches)
      if (check.ok) {
        deps.log(
          `node_modules is what ${path.basename(project.lockfile)} gives: ${check.packages} packages, ${check.files} files checked against their tarballs`
        )
        await runScripts(dir, project, deps)
        rmSync(path.join(modules, '.package-lock.json'), { force: true })
        return 'verified'
      }
      deps.log(
        `node_modules is not what ${path.basename(project.lockfile)} gives (${check.problem}): installing it again`
      )
    } else {
      deps.log(
        `node_modules was there before this run and cannot be checked against ${project.manager}'s lockfile: installing it again`
      )
    }
    rmSync(modules, { recursive: true, force: true })
  }
  if (!project.lockfile)
    deps.warn(
      'The service has no lockfile (package-lock.json, yarn.lock or pnpm-lock.yaml): its dependencies are installed from the ranges in package.json, and no lockfile is written. Commit one for reproducible deploys.'
    )
  await install(dir, project, deps)
  await runScripts(dir, project, deps)
  if (existsSync(path.join(dir, '.pnp.cjs')) && !existsSync(modules)) {
    throw new UserError(
      `The service installs with Yarn Plug'n'Play, which Serverless v3 cannot load plugins from. Add nodeLinker: node-modules to .yarnrc.yml.`,
      { title: "Yarn Plug'n'Play" }
    )
  }
  // npm's record of the tree it wrote: npm reads it, nothing runs it, and no artifact needs it.
  rmSync(path.join(modules, '.package-lock.json'), { force: true })
  return 'installed'
}

async function run(
  command: Command,
  dir: string,
  deps: InstallDeps
): Promise<{ exitCode: number; output: string }> {
  let output = ''
  try {
    const result = await deps.exec(command.tool, command.args, {
      cwd: dir,
      env: { COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', ...deps.env, ...command.env },
      onOutput: chunk => (output = (output + chunk).slice(-64 * 1024))
    })
    return { exitCode: result.exitCode, output }
  } catch (error) {
    // exec throws when the tool is not on PATH at all.
    throw new UserError(
      `The service's lockfile needs ${command.tool}, which this runner does not have (${error instanceof Error ? error.message : String(error)}). Add "packageManager": "pnpm@9…" or "yarn@4…" to package.json (corepack then provides it), or install ${command.tool} in an earlier step.`,
      { title: `${command.tool} not found` }
    )
  }
}

async function install(dir: string, project: NodeProject, deps: InstallDeps): Promise<void> {
  const command = installCommand(project)
  const { exitCode, output } = await run(command, dir, deps)
  if (exitCode === 0) {
    // A project without dependencies leaves no node_modules: the scripts' scan needs the folder.
    mkdirSync(path.join(dir, 'node_modules'), { recursive: true })
    return
  }
  const lockName = path.basename(project.lockfile ?? 'package.json')
  const line = `${command.tool} ${command.args.join(' ')}`
  if (OUT_OF_SYNC.test(output)) {
    throw new UserError(
      `${lockName} is out of sync with package.json, so ${line} refused to install from it. Run ${lockCommand(project)} locally and commit the updated ${lockName}.`,
      { title: 'Lockfile out of sync', file: path.join(dir, lockName) }
    )
  }
  const target = /No matching version found for (\S+?)\.?\s*$/m.exec(output)
  if (target) {
    throw new UserError(
      `${line} found no version ${target[1]} in the registry (ETARGET): the package or the version does not exist, or the registry this runner uses does not have it. Fix the version in package.json, run ${lockCommand(project)} and commit ${lockName}.`,
      { title: 'No such package version', file: path.join(dir, 'package.json') }
    )
  }
  throw new UserError(
    `${line} failed (exit code ${exitCode}) in ${dir}; its output is in the "Node dependencies" log group above.`,
    { title: 'Node dependencies not installed' }
  )
}

/**
 * The approved dependencies' install scripts, then the project's own lifecycle scripts; what was not
 * approved is named in one notice.
 */
async function runScripts(dir: string, project: NodeProject, deps: InstallDeps): Promise<void> {
  const policy = scriptPolicy(dir)
  if (policy.skipped.length) deps.notice(skippedNotice(policy.skipped), 'Install scripts not run')
  const approved = [...new Set(policy.approved.map(pkg => pkg.name))]
  if (approved.length) {
    const result = await run(rebuildCommand(project, approved), dir, deps)
    if (result.exitCode !== 0)
      throw new UserError(
        `The install scripts of ${approved.join(', ')} (approved in package.json's allowScripts) failed (exit code ${result.exitCode}); their output is in the "Node dependencies" log group above.`,
        { title: 'Install scripts failed' }
      )
  }
  for (const script of projectScripts(dir)) {
    const result = await run(runScriptCommand(script), dir, deps)
    if (result.exitCode !== 0)
      throw new UserError(
        `The service's own ${script} script (package.json) failed (exit code ${result.exitCode}); its output is in the "Node dependencies" log group above.`,
        { title: `${script} script failed`, file: path.join(dir, 'package.json') }
      )
  }
}
