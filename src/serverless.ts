import * as exec from '@actions/exec'
import path from 'node:path'

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

/** Variables that carry the runner's own tokens: no child process needs them. */
const RUNNER_SECRETS =
  /^(ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)|ACTIONS_RUNTIME_TOKEN|ACTIONS_RUNTIME_URL|ACTIONS_RESULTS_URL|ACTIONS_CACHE_URL|INPUT_.*)$/

/** Every way Serverless v3 could pick credentials other than AWS_ACCESS_KEY_ID & co. (provider.js getCredentials). */
const OTHER_CREDENTIALS =
  /^(AWS_PROFILE|AWS_DEFAULT_PROFILE|AWS_(?!SESSION_TOKEN$|ACCESS_KEY_ID$|SECRET_ACCESS_KEY$)[A-Z0-9_]+_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE))$/
/** AWS credentials in any form, for processes that need none (npm). */
const AWS_CREDENTIALS =
  /^AWS_(.+_)?(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|SECURITY_TOKEN)$|^AWS_DEFAULT_PROFILE$/

export interface ChildEnvOptions {
  /** Variables to add (credentials among them). */
  extra?: Record<string, string>
  /** Drop every other source of AWS credentials, so that only `extra`'s can be used. */
  onlyTheseCredentials?: boolean
  /** Drop AWS credentials altogether. */
  noAwsCredentials?: boolean
}

/**
 * The environment of a child process: the action's own, without the runner's tokens and the inputs
 * (github-token among them); with no AWS credentials for npm; with no competing credentials for a
 * serverless that must deploy with the assumed role. The action's Node comes first on PATH, so
 * serverless and its plugins run on the runner's node24 rather than whatever node the image has.
 */
export function childEnv(
  options: ChildEnvOptions = {},
  base: NodeJS.ProcessEnv = process.env
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined || RUNNER_SECRETS.test(key)) continue
    if (options.onlyTheseCredentials && OTHER_CREDENTIALS.test(key)) continue
    if (options.noAwsCredentials && AWS_CREDENTIALS.test(key)) continue
    env[key] = value
  }
  return {
    ...env,
    PATH: [path.dirname(process.execPath), env.PATH].filter(Boolean).join(path.delimiter),
    ...options.extra
  }
}

/** What serverless itself needs on top: no prompts, telemetry or notifications. */
export function serverlessEnv(
  options: ChildEnvOptions = {},
  base: NodeJS.ProcessEnv = process.env
): Record<string, string> {
  const env = childEnv(options, base)
  return {
    ...env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_INTERACTIVE_SETUP_DISABLE: '1',
    CI: env.CI ?? 'true'
  }
}

export async function runServerless(run: ServerlessRun): Promise<ServerlessResult> {
  let output = ''
  let stdout = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP)
  }
  const exitCode = await exec.exec(process.execPath, [run.entry, ...serverlessArgs(run)], {
    cwd: run.cwd,
    env: run.env,
    ignoreReturnCode: true,
    silent: run.silent,
    listeners: {
      stdout: chunk => {
        keep(chunk)
        if (run.silent) stdout += chunk.toString()
      },
      stderr: keep
    }
  })
  return { exitCode, stdout, output }
}

/** The configuration Serverless resolved, every variable source and plugin resolver included. */
export async function printConfig(
  run: Omit<ServerlessRun, 'command' | 'silent'>
): Promise<ServerlessResult & { config?: Record<string, unknown> }> {
  const result = await runServerless({ ...run, command: ['print', '--format', 'json'], silent: true })
  if (result.exitCode !== 0) return result
  // Serverless logs to stderr; a plugin that prints to stdout does so before the document.
  const start = result.stdout.search(/^\{/m)
  try {
    return { ...result, config: JSON.parse(result.stdout.slice(start)) as Record<string, unknown> }
  } catch {
    return { ...result, exitCode: 1, output: `${result.output}\nserverless print gave no JSON document` }
  }
}
