import { chmodSync, existsSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { asset } from './assets.js'
import type { StatusRange } from './inputs.js'
import type { Exec } from './exec.js'
import { routes, type HttpEventKind, type ServiceFunction } from './packaged.js'

/**
 * Verifying the artifacts before anything is uploaded. The static check (py/verify_artifact.py) reads
 * every zip a function runs from: machine code for the target's architecture, extensions for the
 * runtime's Python, wheels for its Amazon Linux, a handler that resolves, sizes under Lambda's limits.
 * The dynamic check (py/lambda_check.py) unzips them read-only and, in a fresh interpreter of the
 * runtime's version with no credentials and no network, imports each handler and calls it with the
 * event its HTTP trigger sends. Both are run by the action's Python, which is the runtime's version.
 */

export interface StaticProblem {
  kind: string
  function: string
  functions?: string[]
  zip: string
  file?: string
  package?: string | null
  version?: string | null
  found: string
  needed: string
  fix: string
  files?: number
}

export interface StaticReport {
  problems: StaticProblem[]
  notes: { kind: string; function?: string; zip?: string; file?: string; message: string }[]
  packages: { name: string; version: string; tags: string[]; zip: string }[]
  zips: { zip: string; path: string; entries: number; bytes: number; unzipped: number }[]
  seconds: number
}

export interface FunctionCheck {
  key: string
  name: string
  passed: boolean
  imported: boolean
  importSeconds?: number
  invocations: {
    kind: string
    method: string
    path: string
    status?: number
    seconds: number
    passed: boolean
  }[]
  error?: { kind: string; message: string; traceback?: string[]; fix?: string } | null
  log?: string[]
  seconds?: number
}

export interface DynamicReport {
  passed: boolean
  functions: FunctionCheck[]
}

export interface VerifyDeps {
  exec: Exec
  /** The action's Python: the runtime's version. */
  python: string
  /** Its environment (child-env.ts: 'python'). */
  env: Record<string, string>
}

async function runJson<T>(deps: VerifyDeps, args: string[], input?: unknown): Promise<T> {
  const result = await deps.exec(deps.python, args, {
    env: deps.env,
    silent: true,
    input: input === undefined ? undefined : JSON.stringify(input)
  })
  if (result.exitCode !== 0) {
    throw new Error(
      `${path.basename(args.find(arg => arg.endsWith('.py')) ?? 'check')} failed (exit code ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-5).join('\n')}`
    )
  }
  return JSON.parse(result.stdout) as T
}

/** The static check of every function's zips. */
export function staticCheck(
  deps: VerifyDeps,
  spec: { runtime: string; architecture: string; functions: ServiceFunction[] }
): Promise<StaticReport> {
  return runJson<StaticReport>(deps, ['-I', '-S', asset('py', 'verify_artifact.py')], {
    runtime: spec.runtime,
    architecture: spec.architecture,
    functions: spec.functions
      .filter(fn => fn.artifact && fn.handler)
      .map(fn => ({
        name: fn.name,
        key: fn.key,
        handler: fn.handler,
        artifact: fn.artifact,
        layers: fn.layers
      }))
  })
}

/** Lambda's architecture names for the machines Python reports (platform.machine()). */
const LAMBDA_ARCHITECTURE: Record<string, string> = {
  x86_64: 'x86_64',
  amd64: 'x86_64',
  aarch64: 'arm64',
  arm64: 'arm64'
}

/**
 * Whether the action's Python can import the target's code. The dynamic check loads the artifact's
 * extensions into that interpreter, so it must be of the target's architecture: qemu-user with binfmt
 * runs another architecture's programs, but does not let an x86_64 process load aarch64 libraries.
 */
export function runsTarget(pythonMachine: string, architecture: string): boolean {
  return LAMBDA_ARCHITECTURE[pythonMachine.toLowerCase()] === architecture
}

export interface DynamicSpec {
  functions: ServiceFunction[]
  region: string
  stage: string
  /** smoke-test-path: each HTTP trigger is called with it; undefined imports only. */
  path?: string
  expect: StatusRange[]
  /** A folder with the runtime's boto3 and botocore, as Lambda provides them. */
  boto?: string
}

/** The zips unpacked read-only, each once, by the folder each went to. */
export interface Unpacked {
  workDir: string
  folders: Map<string, string>
}

/**
 * Unpacks every zip the functions run from, once each, into read-only folders under workDir. The
 * caller removes workDir (removeReadOnly) when the checks are done, whatever they found.
 */
export async function unpack(
  deps: VerifyDeps,
  functions: ServiceFunction[],
  workDir: string
): Promise<Unpacked> {
  const folders = new Map<string, string>()
  for (const fn of functions.filter(fn => fn.artifact && fn.handler))
    for (const zip of [fn.artifact as string, ...fn.layers])
      if (!folders.has(zip)) folders.set(zip, path.join(workDir, `${folders.size}`))
  removeReadOnly(workDir)
  const unpacked = await deps.exec(
    deps.python,
    ['-I', '-S', asset('py', 'unpack.py'), ...[...folders].flatMap(([zip, dir]) => [zip, dir])],
    { env: deps.env, silent: true }
  )
  if (unpacked.exitCode !== 0) throw new Error(`Unpacking the artifacts failed: ${unpacked.stderr.trim()}`)
  return { workDir, folders }
}

/** Imports and calls each function in its own interpreter, from the unpacked zips. */
export async function dynamicCheck(
  deps: VerifyDeps,
  spec: DynamicSpec,
  { folders }: Unpacked
): Promise<DynamicReport> {
  const functions = spec.functions.filter(fn => fn.artifact && fn.handler)
  return runJson<DynamicReport>(deps, ['-I', '-B', '-S', asset('py', 'lambda_check.py')], {
    functions: functions.map(fn => ({
      key: fn.key,
      name: fn.name,
      handler: fn.handler,
      root: folders.get(fn.artifact as string),
      layers: fn.layers.map(zip => folders.get(zip)),
      environment: fn.environment,
      memorySize: fn.memorySize,
      timeout: fn.timeout,
      events: spec.path
        ? calledWith(fn, spec.path).map(kind => ({
            kind,
            method: 'GET',
            path: spec.path,
            ...(kind === 'http' ? { stage: spec.stage } : {})
          }))
        : []
    })),
    boto: spec.boto ?? null,
    region: spec.region,
    expect: spec.expect.map(range => [range.from, range.to])
  })
}

/**
 * The triggers of a function that route `GET path` to it, each kind once. A function whose routes do
 * not take the path (an API's /orders function, when the path is /health) is imported, not called:
 * its answer to a request it never gets would say nothing.
 */
export function calledWith(
  fn: Pick<ServiceFunction, 'http' | 'routes'>,
  requestPath: string
): HttpEventKind[] {
  return fn.http.filter(kind =>
    fn.routes.some(route => route.kind === kind && routes(route, 'GET', requestPath))
  )
}

/** Removes a folder the check made read-only (a non-root runner cannot delete in a 0555 folder). */
export function removeReadOnly(dir: string): void {
  if (!existsSync(dir)) return
  const open = (folder: string) => {
    chmodSync(folder, 0o755)
    for (const entry of readdirSync(folder, { withFileTypes: true }))
      if (entry.isDirectory()) open(path.join(folder, entry.name))
  }
  open(dir)
  rmSync(dir, { recursive: true, force: true })
}

/** A function failed because its code needs boto3, which Lambda provides and the zip does not carry. */
export function needsBoto(report: DynamicReport): boolean {
  return report.functions.some(
    fn => fn.error?.kind === 'import' && /No module named '(boto3|botocore)'/.test(fn.error.message)
  )
}

/** One error's text for the static check's problems: each names the function, the file, what and the fix. */
export function describeProblems(problems: StaticProblem[]): string {
  return problems
    .map(problem => {
      const where = `${problem.functions && problem.functions.length > 1 ? problem.functions.join(', ') : problem.function}: ${problem.zip}${problem.file ? ` › ${problem.file}` : ''}${problem.files && problem.files > 1 ? ` (and ${problem.files - 1} more files like it)` : ''}`
      return `${where}: ${problem.found}; Lambda needs ${problem.needed}. ${problem.fix}`
    })
    .join('\n')
}

/** One error's text for a function the dynamic check refused. */
export function describeFailure(fn: FunctionCheck): string {
  const error = fn.error
  if (!error) return `${fn.name} failed the check.`
  return [
    `${fn.name} (${fn.key}): ${error.message}`,
    ...(error.traceback?.length
      ? ['Traceback (last frames):', ...error.traceback.map(line => `  ${line}`)]
      : []),
    ...(fn.log?.length ? ['What it printed:', ...fn.log.slice(-10).map(line => `  ${line}`)] : []),
    error.fix ? `Fix: ${error.fix}` : ''
  ]
    .filter(Boolean)
    .join('\n')
}
