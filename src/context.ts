import * as core from '@actions/core'
import type { CacheName, CacheOutcome, CacheSpec } from './cache.js'
import type { CredentialResult } from './credentials.js'
import type { FrameworkInstall } from './dependencies.js'
import type { Inputs } from './inputs.js'
import type { Interpreter } from './python.js'
import { childEnv, serverlessEnv } from './serverless.js'
import type { Build, Identity, PackagedService, ServiceConfig } from './service.js'
import type { Deployment } from './rollback.js'
import type { SmokeResult } from './smoke-test.js'
import type { StackInfo } from './stack.js'
import type { WheelTarget } from './wheels.js'
import { Phases, type Report } from './summary.js'

/**
 * What the steps of one run share. Each step reads what earlier steps learnt and adds its own part;
 * main.ts lists the steps.
 */
export interface RunContext {
  inputs: Inputs
  config: ServiceConfig
  /** When the run started: state files older than this are an earlier run's. */
  startedAt: number
  phases: Phases
  /** What the outputs and the job summary say. */
  report: Report
  credentials?: CredentialResult
  framework?: FrameworkInstall
  /** What packaging needs, from the configuration as written or as Serverless resolved it. */
  build?: Build
  /** Where the service deploys, as Serverless resolved it. */
  identity?: Identity
  /** The package Serverless built, from its state file. */
  packaged?: PackagedService
  python?: Interpreter
  /** The Lambda platform pip builds for, when the action chooses it (not with dockerizePip or a --platform of the service's own). */
  wheelTarget?: WheelTarget
  /** The stack as it was before the command, and the deployment it served. */
  stackBefore?: StackInfo
  previous?: Deployment
  /** When this run's deploy started: the functions' logs are read from then on. */
  deployStartedAt?: number
  smoke?: SmokeResult
  /** Each cache's outcome, why caching is off (once), and what the post step is to save. */
  caches: Partial<Record<CacheName, CacheOutcome>>
  cacheOff?: string
  cachePlan: CacheSpec[]
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
  ['cache-hit', 'cacheHit']
]

const written = new Map<string, string>()

/** Writes the outputs that changed since the last call; one never known stays unset, which reads as empty. */
export function publishOutputs(report: Report): void {
  for (const [name, field] of OUTPUT_FIELDS) {
    const value = report[field]
    if (typeof value !== 'string' || written.get(name) === value) continue
    written.set(name, value)
    core.setOutput(name, value)
  }
}

/** Records the identity in the report and publishes it. */
export function learnIdentity(ctx: RunContext, identity: Partial<Identity>): void {
  const report = ctx.report
  if (identity.service) report.service = identity.service
  if (identity.stage) report.stage = identity.stage
  if (identity.region) report.region = identity.region
  if (identity.stackName) report.stackName = identity.stackName
  publishOutputs(report)
}

/** npm and the other package managers: no AWS credentials at all, no runner tokens. */
export function nodeEnv(): Record<string, string> {
  return childEnv({ noAwsCredentials: true })
}

/** serverless: the run's credentials and, with role-to-assume, no other source of them. */
export function frameworkEnv(ctx: RunContext): Record<string, string> {
  return serverlessEnv({
    extra: ctx.credentials?.env ?? {},
    onlyTheseCredentials: ctx.credentials?.exclusive ?? false
  })
}
