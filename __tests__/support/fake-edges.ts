import type { AwsClients } from '../../src/aws.js'
import type { CacheSpec, CacheStore } from '../../src/cache.js'
import type { Edges } from '../../src/edges.js'
import type { ExecOptions, ExecResult } from '../../src/exec.js'
import type { AnnotationProperties, Runner } from '../../src/runner.js'

/**
 * Edges a test plays: run() runs its real steps in process, and every child process, AWS call, cache
 * restore and word to the runner lands here, recorded in order. Whatever the test did not script
 * fails loudly, so a step that starts something unexpected cannot pass unnoticed.
 */

export interface ProcessCall {
  tool: string
  args: string[]
  cwd?: string
  env: Record<string, string>
}

export interface AwsCall {
  service: 'cloudformation' | 'sts' | 'logs' | 'lambda' | 's3'
  command: string
  input: Record<string, unknown>
  region: string
  credentials?: { accessKeyId: string }
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice'
  message: string
  properties?: AnnotationProperties
}

export interface Recorded {
  annotations: Annotation[]
  /** info lines, and the titles of groups as `::group::title`. */
  log: string[]
  outputs: Record<string, string>
  state: Record<string, string>
  exported: Record<string, string>
  paths: string[]
  secrets: string[]
  summary: string
  exitCode: number
  processes: ProcessCall[]
  aws: AwsCall[]
  restores: string[]
  slept: number[]
  /** Everything in the order it happened, as one line each: what a command's specification reads. */
  sequence: string[]
}

/** Answers a child process, or undefined when the test has no answer for it. */
export type ProcessScript = (
  call: ProcessCall & { options: ExecOptions }
) => Partial<ExecResult> | undefined | Promise<Partial<ExecResult> | undefined>

/** Answers an AWS call (throw to fail it), or undefined when the test has no answer for it. */
export type AwsScript = (call: AwsCall) => unknown

export interface FakeOptions {
  env: Record<string, string>
  workspace: string
  processes?: ProcessScript
  aws?: AwsScript
  /**
   * The cache service: by default there, and empty (every restore misses, as on a first run);
   * `unavailable` says why there is none.
   */
  cache?: { unavailable?: string; restore?: (spec: CacheSpec) => string | undefined }
  now?: number
  node?: string
}

export function fakeEdges(options: FakeOptions): { edges: Edges; recorded: Recorded } {
  const recorded: Recorded = {
    annotations: [],
    log: [],
    outputs: {},
    state: {},
    exported: {},
    paths: [],
    secrets: [],
    summary: '',
    exitCode: 0,
    processes: [],
    aws: [],
    restores: [],
    slept: [],
    sequence: []
  }
  let now = options.now ?? Date.parse('2026-12-04T12:00:00Z')
  const annotate = (level: Annotation['level']) => (message: string, properties?: AnnotationProperties) => {
    recorded.annotations.push({ level, message, properties })
    recorded.sequence.push(`${level}: ${message.split('\n')[0]}`)
  }
  const runner: Runner = {
    info: message => void recorded.log.push(message),
    debug: () => undefined,
    notice: annotate('notice'),
    warning: annotate('warning'),
    error: annotate('error'),
    group: async (title, work) => {
      recorded.log.push(`::group::${title}`)
      return work()
    },
    setOutput: (name, value) => void (recorded.outputs[name] = value),
    saveState: (name, value) => void (recorded.state[name] = value),
    exportVariable: (name, value) => void (recorded.exported[name] = value),
    addPath: dir => void recorded.paths.push(dir),
    setSecret: value => void recorded.secrets.push(value),
    getIDToken: async () => {
      throw new Error('the test gave no OIDC token')
    },
    appendSummary: async text => void (recorded.summary += text),
    setExitCode: code => void (recorded.exitCode = code)
  }
  const client =
    (service: AwsCall['service']) =>
    (clientOptions: { region: string; credentials?: { accessKeyId: string } }) => ({
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        const call: AwsCall = {
          service,
          command: command.constructor.name.replace(/Command$/, ''),
          input: command.input,
          region: clientOptions.region,
          credentials: clientOptions.credentials
        }
        recorded.aws.push(call)
        recorded.sequence.push(`aws ${service}:${call.command} ${call.region}`)
        const answer = options.aws?.(call)
        if (answer === undefined) throw new Error(`unexpected AWS call: ${service}:${call.command}`)
        return answer
      },
      destroy: () => undefined
    })
  const aws = {
    cloudFormation: client('cloudformation'),
    sts: client('sts'),
    logs: client('logs'),
    lambda: client('lambda'),
    s3: client('s3')
  } as unknown as AwsClients
  const cache: CacheStore = {
    unavailable: async () => options.cache?.unavailable,
    restore: async spec => {
      recorded.restores.push(spec.key)
      recorded.sequence.push(`restore ${spec.name}`)
      return options.cache?.restore?.(spec)
    }
  }
  const edges: Edges = {
    env: options.env,
    clock: {
      now: () => now,
      sleep: async ms => {
        recorded.slept.push(ms)
        now += ms
      }
    },
    exec: async (tool, args, execOptions) => {
      const call = { tool, args, cwd: execOptions.cwd, env: execOptions.env }
      recorded.processes.push(call)
      recorded.sequence.push(`run ${describe(tool, args)}`)
      const answer = await options.processes?.({ ...call, options: execOptions })
      if (!answer) throw new Error(`unexpected process: ${tool} ${args.join(' ')}`)
      const result = { exitCode: 0, stdout: '', stderr: '', ...answer }
      if (result.stdout) execOptions.onOutput?.(result.stdout, 'stdout')
      if (result.stderr) execOptions.onOutput?.(result.stderr, 'stderr')
      return result
    },
    aws,
    runner,
    cache,
    workspace: options.workspace,
    node: options.node ?? '/opt/node24/bin/node',
    platform: 'linux',
    arch: 'x64'
  }
  return { edges, recorded }
}

/** A child process as a specification names it: `serverless package`, `npm ci`, `python3.11 bytecode.py`. */
function describe(tool: string, args: string[]): string {
  const serverless = args.findIndex(arg => /bin\/serverless\.js$/.test(arg))
  if (serverless >= 0) return ['serverless', ...args.slice(serverless + 1)].join(' ')
  const script = args.find(arg => /\.py$/.test(arg))
  const name = tool.split('/').pop() ?? tool
  if (script) return `${name} ${script.split('/').pop()}`
  if (args[0] === '-c') return `${name} -c …`
  return [name, ...args].join(' ')
}
