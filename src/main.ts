import * as core from '@actions/core'
import path from 'node:path'
import { STATE as CACHE_STATE } from './cache.js'
import { publishOutputs, type RunContext } from './context.js'
import { exportCredentials } from './credentials.js'
import { UserError } from './errors.js'
import type { Command } from './inputs.js'
import {
  awaitStack,
  commentOnPullRequest,
  deployPackage,
  installNode,
  obtainCredentials,
  optimiseArtifact,
  packageService,
  preparePython,
  readUrl,
  removeStack,
  resolveService,
  rollBackIfFailed,
  showInfo,
  smokeTestDeploy,
  start
} from './steps.js'
import { Phases, writeSummary, type Report } from './summary.js'

type Step = [name: string, run: (ctx: RunContext) => Promise<void>]

/** What each command does after the common preparation, step by step. */
const COMMAND_STEPS: Record<Command, Step[]> = {
  deploy: [
    ['python', preparePython],
    ['serverless package', packageService],
    ['artifact', optimiseArtifact],
    ['stack state', awaitStack],
    ['serverless deploy', deployPackage],
    ['stack outputs', readUrl],
    ['smoke test', smokeTestDeploy],
    ['rollback', rollBackIfFailed]
  ],
  package: [
    ['python', preparePython],
    ['serverless package', packageService],
    ['artifact', optimiseArtifact]
  ],
  info: [
    ['serverless info', showInfo],
    ['stack outputs', readUrl]
  ],
  remove: [['serverless remove', removeStack]]
}

/** Every command starts here: credentials before the slow work, so that a refusal comes first. */
const PREPARE: Step[] = [
  ['credentials', obtainCredentials],
  ['node dependencies', installNode],
  ['resolve service', resolveService]
]

export async function run(): Promise<void> {
  const phases = new Phases()
  const report: Report = { command: 'deploy', phases: phases.list }
  let ctx: RunContext | undefined
  try {
    if (process.platform === 'win32') {
      throw new UserError(
        'This action runs on Linux and macOS runners (Lambda builds its Python packages for Linux). Set runs-on: ubuntu-latest.'
      )
    }
    ctx = await phases.time('inputs', () => start(report, phases))
    for (const [name, step] of [...PREPARE, ...COMMAND_STEPS[ctx.inputs.command]]) {
      await phases.time(name, () => step(ctx as RunContext))
    }
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error)
    if (error instanceof UserError) {
      report.errorTitle = error.annotation.title
      process.exitCode = core.ExitCode.Failure
      core.error(report.error, annotation(error))
    } else {
      if (error instanceof Error && error.stack) core.debug(error.stack)
      core.setFailed(report.error)
    }
  } finally {
    if (ctx) await afterwards(ctx)
    publishOutputs(report)
    if (report.service)
      await writeSummary(report).catch(error => core.warning(`Job summary not written: ${String(error)}`))
  }
}

/** What runs whether the command passed or failed: the pull request comment, exported credentials, the cache plan. */
async function afterwards(ctx: RunContext): Promise<void> {
  // Only a run that succeeded hands its caches to the post step: a failed step may have left one
  // half-written (and continue-on-error would still run the post step).
  if (!ctx.report.error) core.saveState(CACHE_STATE, JSON.stringify({ save: ctx.cachePlan }))
  await ctx.phases
    .time('pull request comment', () => commentOnPullRequest(ctx))
    .catch(error =>
      core.warning(
        `The pull request comment was not written: ${error instanceof Error ? error.message : String(error)}`
      )
    )
  if (ctx.inputs.exportCredentials && ctx.credentials?.exclusive)
    exportCredentials(ctx.credentials, ctx.report.region)
}

/** The error's annotation, its file relative to the repository so that GitHub shows it on the file. */
function annotation(error: UserError): core.AnnotationProperties {
  const { file, ...rest } = error.annotation
  const root = process.env.GITHUB_WORKSPACE || process.cwd()
  return { ...rest, ...(file ? { file: path.isAbsolute(file) ? path.relative(root, file) : file } : {}) }
}
