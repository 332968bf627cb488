import path from 'node:path'
import type { CacheSession } from './cache.js'
import { childEnv, type ChildEnvOptions, type ChildKind } from './child-env.js'
import type { CommandTraits } from './commands.js'
import type { CredentialResult } from './credentials.js'
import type { FrameworkInstall } from './framework.js'
import type { Edges } from './edges.js'
import type { Inputs } from './inputs.js'
import type { RunnerPaths } from './paths.js'
import type { Interpreter } from './python.js'
import type { PythonProject } from './python-project/index.js'
import type { Deployment } from './rollback.js'
import type { PackagedService } from './packaged.js'
import type { Plan } from './plan/model.js'
import type { Build, Identity, ServiceConfig } from './service.js'
import type { SmokeResult } from './smoke-test.js'
import type { StackAccess, StackInfo } from './stack.js'
import type { Phases, Report } from './summary.js'
import type { WheelTarget } from './wheels.js'

/**
 * What the steps of one run share. Each step reads what earlier steps learnt and adds its own part;
 * main.ts lists the steps. Everything outside the run (environment, clock, processes, AWS, the runner)
 * is reached through `edges`.
 */
export interface RunContext {
  edges: Edges
  paths: RunnerPaths
  inputs: Inputs
  traits: CommandTraits
  config: ServiceConfig
  /** When the run started: state files older than this are an earlier run's. */
  startedAt: number
  phases: Phases
  /** What the outputs and the job summary say. */
  report: Report
  outputs: Outputs
  caches: CacheSession
  /** A folder holding only `node` (the action's own): first on children's PATH, before anything the image has. */
  nodeBin: string
  credentials?: CredentialResult
  framework?: FrameworkInstall
  /** What packaging needs, from the configuration as written or as Serverless resolved it. */
  build?: Build
  /** Where the service deploys, as Serverless resolved it. */
  identity?: Identity
  /** The package Serverless built, from its state file. */
  packaged?: PackagedService
  python?: Interpreter
  /** How the service pins its Python dependencies, when it builds. */
  pythonProject?: PythonProject
  /** The Lambda platform pip builds for, when the action chooses it (not with dockerizePip or a --platform of the service's own). */
  wheelTarget?: WheelTarget
  /** The stack as it was before the command, and the deployment it served. */
  stackBefore?: StackInfo
  previous?: Deployment
  /** When this run's deploy started: the functions' logs are read from then on. */
  deployStartedAt?: number
  smoke?: SmokeResult
  /** What a deploy would change (command: plan, or a deploy with protect). */
  plan?: Plan
  /** Each zip's unzipped size, as the static check read it. */
  artifactSizes?: Record<string, number>
  /** The installed packages whose install scripts did not run (not approved in allowScripts). */
  skippedScripts: string[]
}

/** The parts of the context that a step fills in for the ones after it. */
type Learnt = Pick<
  RunContext,
  'credentials' | 'framework' | 'build' | 'identity' | 'packaged' | 'python' | 'wheelTarget' | 'smoke'
>

/**
 * What an earlier step must have learnt: a step that runs without it is a bug in main.ts's order, not
 * something a user can fix, so it fails loudly instead of going on with undefined.
 */
export function known<K extends keyof Learnt>(ctx: RunContext, key: K): NonNullable<Learnt[K]> {
  const value = ctx[key]
  if (value === undefined || value === null)
    throw new Error(`no ${key} yet: a step ran before the one that learns it`)
  return value as NonNullable<Learnt[K]>
}

/** Outputs, written as soon as each is known, so that `if: failure()` steps can use them. */
const OUTPUT_FIELDS: [string, keyof Report][] = [
  ['service', 'service'],
  ['stage', 'stage'],
  ['region', 'region'],
  ['stack-name', 'stackName'],
  ['url', 'url'],
  ['python-version', 'pythonVersion'],
  ['serverless-version', 'serverlessVersion'],
  ['aws-account-id', 'accountId'],
  ['smoke-test-status', 'smokeStatus'],
  ['rolled-back', 'rolledBack'],
  ['comment-url', 'commentUrl'],
  ['artifact-size', 'artifactSize'],
  ['artifact-sha256', 'artifactSha256'],
  ['plan', 'plan'],
  ['changes', 'changes'],
  ['destructive', 'destructive'],
  ['cache-hit', 'cacheHit']
]

/** Writes the outputs that changed since the last call; one never known stays unset, which reads as empty. */
export class Outputs {
  private readonly written = new Map<string, string>()

  constructor(private readonly setOutput: (name: string, value: string) => void) {}

  publish(report: Report): void {
    for (const [name, field] of OUTPUT_FIELDS) {
      const value = report[field]
      if (typeof value !== 'string' || this.written.get(name) === value) continue
      this.written.set(name, value)
      this.setOutput(name, value)
    }
  }
}

/** Records what a step learnt in the report and publishes it. */
export function tell(ctx: RunContext, learnt: Partial<Report>): void {
  Object.assign(ctx.report, Object.fromEntries(Object.entries(learnt).filter(([, v]) => v !== undefined)))
  ctx.outputs.publish(ctx.report)
}

/** The identity as far as it is known: in the report and the outputs. */
export function learnIdentity(ctx: RunContext, identity: Partial<Identity>): void {
  tell(ctx, {
    service: identity.service,
    stage: identity.stage,
    region: identity.region,
    stackName: identity.stackName
  })
}

/** The environment of one kind of child (child-env.ts), with the action's Node and Python first on PATH. */
export function envFor(
  ctx: RunContext,
  kind: ChildKind,
  options: ChildEnvOptions = {}
): Record<string, string> {
  const python = ctx.python
  // A tool-cache build's own bin folder holds the scripts pip installs into it (pipenv, for one);
  // a system Python's folder is not put first (it may hold another Python, and another node).
  const pythonDirs = python?.shims
    ? [python.shims, ...(python.source === 'path' ? [] : [path.dirname(python.executable)])]
    : []
  return childEnv(kind, ctx.edges.env, {
    ...options,
    pathFirst: [...pythonDirs, ctx.nodeBin, ...(options.pathFirst ?? [])]
  })
}

/** The stack as the action's own calls reach it: the service's region, the run's credentials. */
export function stackAccess(ctx: RunContext): StackAccess {
  return {
    region: known(ctx, 'identity').region,
    credentials: ctx.credentials?.credentials,
    clients: ctx.edges.aws,
    retry: { sleep: ctx.edges.clock.sleep, now: ctx.edges.clock.now, log: ctx.edges.runner.info }
  }
}
