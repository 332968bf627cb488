import { envFor, known, type RunContext } from './context.js'
import { diagnose } from './diagnosis.js'
import { UserError } from './errors.js'
import type { Exec } from './exec.js'

/**
 * Running the Serverless CLI: which arguments each run gets, the environment it runs in, and what is
 * kept of its output for diagnosis.
 */

export interface ServerlessRun {
  /** The framework's CLI entry (bin/serverless.js), run with the action's own Node. */
  entry: string
  /** The command and its own arguments: `['deploy', '--package', '.serverless']`. */
  command: string[]
  /** Passed only when the inputs give them: otherwise Serverless decides. */
  stage?: string
  region?: string
  /** The `args` input, already narrowed to what this command takes (forwardedArgs). */
  args: string[]
  cwd: string
  env: Record<string, string>
  /** Capture stdout instead of echoing it (print). */
  silent?: boolean
}

export interface ServerlessResult {
  exitCode: number
  stdout: string
  /** stdout and stderr interleaved, the last KEEP characters: what diagnosis reads. */
  output: string
}

/** How much of serverless' output is kept for diagnosis; the log has all of it. */
const KEEP = 256 * 1024

/**
 * Options every Serverless v3 command takes (lib/cli/commands-schema/common-options). Serverless v3
 * rejects options a command does not know ("Detected unrecognized CLI options"), so the runs the
 * action adds (print, the package step of a deploy) get only these from `args`; the command the user
 * asked for gets all of them.
 */
const COMMON_OPTIONS = new Set(['param', 'app', 'org', 'use-local-credentials', 'verbose', 'debug'])
/** Options of the commands the action adds, beyond the common ones. */
const EXTRA_OPTIONS: Record<string, Set<string>> = {
  package: new Set(['minify-template']),
  print: new Set(),
  rollback: new Set()
}
/** Flags that take no value (the commands schema's `type: 'boolean'`). */
const BOOLEAN_OPTIONS = new Set([
  'verbose',
  'use-local-credentials',
  'conceal',
  'force',
  'aws-s3-accelerate',
  'enforce-hash-update',
  'minify-template'
])

/** `args` grouped into options with their values: `['--param', 'a=b']`, `['--verbose']`. */
function optionGroups(args: string[]): string[][] {
  const groups: string[][] = []
  for (let i = 0; i < args.length; i++) {
    const word = args[i]
    const name = word.replace(/^-+/, '').split('=')[0]
    if (word.startsWith('-') && !word.includes('=') && !BOOLEAN_OPTIONS.has(name)) {
      const next = args[i + 1]
      if (next !== undefined && !next.startsWith('-')) {
        groups.push([word, next])
        i++
        continue
      }
    }
    groups.push([word])
  }
  return groups
}

/** The part of `args` a command the action adds to the user's takes. */
export function forwardedArgs(command: 'print' | 'package' | 'rollback', args: string[]): string[] {
  return optionGroups(args)
    .filter(group => {
      const name = group[0].replace(/^-+/, '').split('=')[0]
      return group[0].startsWith('-') && (COMMON_OPTIONS.has(name) || EXTRA_OPTIONS[command].has(name))
    })
    .flat()
}

export function serverlessArgs(run: Pick<ServerlessRun, 'command' | 'stage' | 'region' | 'args'>): string[] {
  return [
    ...run.command,
    ...(run.stage ? ['--stage', run.stage] : []),
    ...(run.region ? ['--region', run.region] : []),
    ...run.args
  ]
}

/** What serverless needs besides the run's environment: no prompts, telemetry or notifications. */
export const QUIET_SERVERLESS: Readonly<Record<string, string>> = {
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_INTERACTIVE_SETUP_DISABLE: '1'
}

/** Runs the framework's CLI with the action's own Node, keeping the tail of its output for diagnosis. */
export async function runServerless(exec: Exec, node: string, run: ServerlessRun): Promise<ServerlessResult> {
  let output = ''
  const result = await exec(node, [run.entry, ...serverlessArgs(run)], {
    cwd: run.cwd,
    env: { ...run.env, CI: run.env.CI ?? 'true', ...QUIET_SERVERLESS },
    silent: run.silent,
    onOutput: chunk => {
      output = (output + chunk).slice(-KEEP)
    }
  })
  return { exitCode: result.exitCode, stdout: result.stdout, output }
}

/** The configuration Serverless resolved, every variable source and plugin resolver included. */
export async function printConfig(
  exec: Exec,
  node: string,
  run: Omit<ServerlessRun, 'command' | 'silent'>
): Promise<ServerlessResult & { config?: Record<string, unknown> }> {
  const result = await runServerless(exec, node, {
    ...run,
    command: ['print', '--format', 'json'],
    silent: true
  })
  if (result.exitCode !== 0) return result
  // Serverless logs to stderr; a plugin that prints to stdout does so before the document.
  const start = result.stdout.search(/^\{/m)
  try {
    return { ...result, config: JSON.parse(result.stdout.slice(start)) as Record<string, unknown> }
  } catch {
    return { ...result, exitCode: 1, output: `${result.output}\nserverless print gave no JSON document` }
  }
}

/**
 * serverless' environment for this run: the run's credentials (with role-to-assume, no other source
 * of them), the action's Python and Node first on PATH, and Serverless' start caches in the runner's
 * temp folder. Those hold JavaScript that serverless loads (the compiled validator of its config
 * schema) and V8 code, so they are never restored from a cache: a run computes them once, for its
 * own later starts and the job's later runs. RUNNER_TEMP is emptied at the start of every job, and an
 * earlier step of the same job that could write there could also ask for the job's OIDC token itself
 * (SECURITY.md, "Earlier steps of the same job"); compiling them in every run cost 3 to 5 s a run.
 */
export function serverlessEnv(ctx: RunContext): Record<string, string> {
  const starts = {
    SLS_SCHEMA_CACHE_BASE_DIR: ctx.paths.temp('serverless-schema'),
    NODE_COMPILE_CACHE: ctx.paths.temp('node-compile-cache')
  }
  return envFor(ctx, 'serverless', {
    credentials: ctx.credentials?.env ?? {},
    exclusive: ctx.credentials?.exclusive ?? false,
    extra: starts
  })
}

function callOf(
  ctx: RunContext,
  command: string[],
  args: string[],
  env: Record<string, string> = {}
): ServerlessRun {
  const framework = known(ctx, 'framework')
  return {
    entry: framework.entry,
    command,
    stage: ctx.inputs.stage,
    region: ctx.inputs.awsRegion,
    args,
    cwd: ctx.config.dir,
    env: { ...serverlessEnv(ctx), ...env }
  }
}

/** Runs serverless in its own log group, titled with the command line the action chose. */
export function serverless(
  ctx: RunContext,
  command: string[],
  args: string[],
  env: Record<string, string> = {}
): Promise<ServerlessResult> {
  const call = callOf(ctx, command, args, env)
  const title = ['serverless', ...serverlessArgs({ ...call, args: [] })].join(' ')
  return ctx.edges.runner.group(title, () => runServerless(ctx.edges.exec, ctx.edges.node, call))
}

/** `serverless print`: the configuration Serverless resolved, in a log group that shows the command. */
export function printService(
  ctx: RunContext,
  args: string[]
): Promise<ServerlessResult & { config?: Record<string, unknown> }> {
  const call = callOf(ctx, [], args)
  return ctx.edges.runner.group('serverless print (what Serverless resolves)', () => {
    ctx.edges.runner.info(
      `[command]${ctx.edges.node} ${call.entry} ${serverlessArgs({ ...call, command: ['print', '--format', 'json'] }).join(' ')}`
    )
    return printConfig(ctx.edges.exec, ctx.edges.node, call)
  })
}

/** Throws the diagnosis of a failed serverless run: its cause and fix when a rule knows it. */
export function failed(ctx: RunContext, what: string, result: ServerlessResult): never {
  // A package whose install script did not run, missing what the script makes: it needs the script,
  // and nobody approved it. (Any failure's stack names serverless' own files: only a missing file counts.)
  const missing = result.output
    .split('\n')
    .filter(line =>
      /Cannot find module|ENOENT|no such file or directory|could not be found|not installed|Could not locate the bindings file/i.test(
        line
      )
    )
  const unapproved = ctx.skippedScripts.find(name =>
    missing.some(line => line.includes(`node_modules/${name}/`))
  )
  if (unapproved) {
    throw new UserError(
      `serverless ${what} failed in ${unapproved}, whose install script was not run: package.json's allowScripts does not approve it (npm 12 blocks unreviewed install scripts too). If ${unapproved} needs its script, review it and approve it with npm approve-scripts ${unapproved} (npm install-scripts approve ${unapproved} from npm 12), then commit package.json.`,
      { title: 'Install script not approved' }
    )
  }
  const found = diagnose(result.output, {
    command: ctx.inputs.command,
    dir: ctx.config.dir,
    configFile: ctx.config.configFile,
    stackName: ctx.identity?.stackName,
    region: ctx.identity?.region,
    platform: ctx.report.pipPlatform,
    pythonVersion: ctx.build?.pythonVersion,
    plugins: ctx.config.plugins
  })
  throw new UserError(
    found ? found.message : `serverless ${what} failed (exit code ${result.exitCode}); its output is above.`,
    { title: found?.title ?? `serverless ${what} failed`, ...found?.annotation }
  )
}
