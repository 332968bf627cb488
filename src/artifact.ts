import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { asset } from './assets.js'
import type { Exec } from './exec.js'

/**
 * Artifacts that start fast. Lambda's /var/task is read-only, so Python cannot keep the bytecode it
 * compiles: an artifact without __pycache__ recompiles every module it imports on every cold start.
 * After `serverless package`, each zip gets bytecode compiled by the runtime's own Python version
 * (py/bytecode.py), and the compiled CloudFormation template learns the new hashes, so that
 * `serverless deploy --package` deploys exactly these zips. Every .pyc is compiled in this run from
 * the zip's own sources: Python loads unchecked-hash bytecode without comparing it to its source, so
 * none may come from a cache.
 */

export interface ArtifactReport {
  file: string
  size: number
  /** What each distribution adds to the zip, in bytes (from its dist-info RECORD). */
  distributions: Record<string, number>
}

export interface TransformOptions {
  /** The .serverless folder. */
  dir: string
  /** The runtime's Python: compiles for its own version. */
  python: string
  exec: Exec
  /** The environment of the action's own Python (child-env.ts: 'python'). */
  env: Record<string, string>
  log: (message: string) => void
}

function sha256(file: string, encoding: 'hex' | 'base64'): string {
  return createHash('sha256').update(readFileSync(file)).digest(encoding)
}

/**
 * serverless-python-requirements writes its zips at DEFLATE level 9 in JavaScript (pako, in
 * lib/zipTree.js): measured here, half of `serverless package`'s CPU time, for zips the transform
 * rewrites anyway. Preloaded into serverless when the transform will run, preload/store-zips.cjs makes
 * the plugin store them uncompressed; the transform then compresses every entry once, with zlib.
 * Whatever does not load that file (another plugin version, another layout) is left as it is, and
 * its zips stay valid.
 */
/** NODE_OPTIONS that preload the given preloads (src/preload), after the ones the environment already has. */
export function preloadEnv(nodeOptions: string | undefined, preloads: string[]): Record<string, string> {
  if (!preloads.length) return {}
  const requires = preloads.map(name => `--require ${JSON.stringify(asset('preload', name))}`)
  return { NODE_OPTIONS: [nodeOptions, ...requires].filter(Boolean).join(' ') }
}

/** NODE_OPTIONS that preload the store preload, after the ones the environment already has. */
export function storeZipsEnv(nodeOptions: string | undefined): Record<string, string> {
  return preloadEnv(nodeOptions, ['store-zips.cjs'])
}

/** Transforms every zip under .serverless and points the compiled template at the new ones. */
export async function addBytecode(options: TransformOptions): Promise<ArtifactReport[]> {
  const zips = readdirSync(options.dir).filter(name => name.endsWith('.zip'))
  const replaced = new Map<string, string>()
  const reports: ArtifactReport[] = []
  for (const name of zips) {
    const file = path.join(options.dir, name)
    const before = sha256(file, 'base64')
    // The zip may be a link into serverless-python-requirements' own cache (layer: true): it is
    // replaced by a file of its own, never written through, so that cache stays as the plugin made it.
    const out = `${file}.spd`
    const result = await options.exec(options.python, ['-I', asset('py', 'bytecode.py'), file, out], {
      env: options.env,
      silent: true
    })
    if (result.exitCode !== 0) {
      throw new Error(
        `Adding bytecode to ${name} failed (exit code ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-5).join('\n')}`
      )
    }
    const made = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
      distributions: Record<string, number>
      compiled: number
      compressed: number
    }
    options.log(
      `${name}: bytecode for ${made.compiled} modules, ${made.compressed} stored entries compressed`
    )
    renameSync(out, file)
    replaced.set(before, sha256(file, 'base64'))
    reports.push({ file: name, size: statSync(file).size, distributions: made.distributions })
  }
  pointTemplatesAt(options.dir, replaced)
  return reports
}

/**
 * Serverless put each zip's hash in the template (AWS::Lambda::Version's CodeSha256, which Lambda
 * checks) and in its state file, from which `deploy --package` uploads the template.
 */
function pointTemplatesAt(dir: string, replaced: Map<string, string>): void {
  for (const name of ['cloudformation-template-update-stack.json', 'serverless-state.json']) {
    const file = path.join(dir, name)
    if (!existsSync(file)) continue
    let text = readFileSync(file, 'utf8')
    for (const [before, after] of replaced) text = text.split(before).join(after)
    writeFileSync(file, text)
  }
}

/**
 * Distributions a Lambda function never runs: development servers, test and lint tools. They belong
 * in requirements-dev.txt.
 */
const NEVER_RUN =
  /^(uvicorn|uvloop|httptools|watchfiles|websockets|gunicorn|hypercorn|pytest.*|pluggy|iniconfig|coverage|hypothesis|black|ruff|flake8|mypy|pylint|isort|ipython|jupyter.*)$/i

export function neverRun(reports: ArtifactReport[]): { name: string; bytes: number }[] {
  const found = new Map<string, number>()
  for (const report of reports)
    for (const [name, bytes] of Object.entries(report.distributions))
      if (NEVER_RUN.test(name)) found.set(name, (found.get(name) ?? 0) + bytes)
  return [...found].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes)
}
