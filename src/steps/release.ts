import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { isServiceUrl } from '../comment.js'
import { known, stackAccess, tell, type RunContext } from '../context.js'
import { rollbackFailedAdvice, serverlessError } from '../diagnosis.js'
import { UserError } from '../errors.js'
import { formatLogs, functionLogs } from '../logs.js'
import { liveDeployment } from '../rollback.js'
import { failed, forwardedArgs, serverless } from '../serverless.js'
import { smokeFailure, smokeTest, type SmokeResult } from '../smoke-test.js'
import {
  condition,
  deleteStack,
  describeStack,
  firstFailure,
  serviceUrl,
  waitUntilSettled,
  type StackCondition
} from '../stack.js'
import { missingStack, settledStack, STACK_WAIT_MS } from './stack-state.js'

/**
 * Releasing what the build made: the stack made ready, `serverless deploy` of exactly that package,
 * the URL from the stack, the smoke test, and the rollback when it fails.
 */

/** A copy of a folder made of hard links: no bytes copied, and the files serverless uploads are the same files. */
function linkTree(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true })
  mkdirSync(to, { recursive: true })
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    if (entry.isDirectory()) linkTree(source, path.join(to, entry.name))
    else
      try {
        linkSync(source, path.join(to, entry.name))
      } catch (error) {
        // The runner's temp folder on another file system than the workspace: a copy, then.
        if ((error as { code?: string }).code !== 'EXDEV') throw error
        copyFileSync(source, path.join(to, entry.name))
      }
  }
}

/** Why a stack in this condition holds nothing and cannot be deployed to: it is deleted first. */
const EMPTY_STACK: Partial<Record<StackCondition, string>> = {
  'failed-create':
    'its first deploy failed and rolled back, so it holds nothing and CloudFormation cannot update it',
  'awaiting-change-set':
    'a change set for its first deploy was created and never executed (a plan cut short, or one made by hand), so it holds nothing and CloudFormation cannot update it'
}

/**
 * Before a deploy: waits out another run's update, and clears a stack that holds nothing and cannot be
 * updated (ROLLBACK_COMPLETE after a failed first create; REVIEW_IN_PROGRESS, which a plan of a new stage
 * leaves if it is cut short). A stack stuck in UPDATE_ROLLBACK_FAILED is left alone with the command that
 * frees it.
 */
export async function awaitStack(ctx: RunContext): Promise<void> {
  const identity = known(ctx, 'identity')
  let stack = await settledStack(ctx)
  const empty = stack && EMPTY_STACK[condition(stack.status)]
  if (stack && empty) {
    ctx.edges.runner.notice(`Stack ${stack.name} is ${stack.status}: ${empty}. Deleting it before deploying.`)
    await deleteEmptyStack(ctx, stack.name)
    stack = undefined
  }
  if (stack && condition(stack.status) === 'failed') {
    throw new UserError(rollbackFailedAdvice(stack.name, identity.region), { title: `Stack ${stack.status}` })
  }
  ctx.stackBefore = stack
  // What the stage serves now: a failed smoke test rolls back to exactly this.
  if (stack) ctx.previous = await liveDeployment(stack.name, stackAccess(ctx))
}

async function deleteEmptyStack(ctx: RunContext, name: string): Promise<void> {
  await deleteStack(name, stackAccess(ctx))
  const after = await waitUntilSettled(name, stackAccess(ctx), {
    timeoutMs: STACK_WAIT_MS,
    pollMs: 5000,
    log: ctx.edges.runner.info,
    clock: ctx.edges.clock
  })
  if (after)
    throw new UserError(`Stack ${name} could not be deleted (${after.status}: ${after.reason ?? ''}).`, {
      title: 'Stack not deleted'
    })
}

/** `serverless deploy --package .serverless`: deploys exactly what the package step built. */
export async function deployPackage(ctx: RunContext): Promise<void> {
  const identity = known(ctx, 'identity')
  const started = new Date(ctx.edges.clock.now() - 5000)
  ctx.deployStartedAt = started.getTime()
  const artifacts = path.join(ctx.config.dir, '.serverless')
  const kept = ctx.paths.temp('deployed-package')
  linkTree(artifacts, kept)
  const result = await serverless(ctx, ['deploy', '--package', '.serverless'], ctx.inputs.args)
  // `deploy --package` deletes .serverless when it is done; a plain deploy leaves it, and later steps
  // (an upload, an attestation) read what was deployed from there.
  if (!existsSync(artifacts)) renameSync(kept, artifacts)
  else rmSync(kept, { recursive: true, force: true })
  if (result.exitCode === 0) return
  // The cause is the first resource that failed, from the stack's events, and the stage's state after.
  const failure = await firstFailure(identity.stackName, started, stackAccess(ctx)).catch(() => undefined)
  const after = await describeStack(identity.stackName, stackAccess(ctx)).catch(() => undefined)
  if (!failure) failed(ctx, 'deploy', result)
  const serving =
    after && after.status === 'UPDATE_ROLLBACK_COMPLETE'
      ? ` CloudFormation rolled the stack back: stage ${identity.stage} still serves the previous deployment.`
      : after && after.status === 'ROLLBACK_COMPLETE'
        ? ' It was the first deploy of the stage and rolled back: nothing serves yet; the next deploy clears the failed stack first.'
        : ''
  throw new UserError(
    `CloudFormation failed to deploy ${identity.stackName}: ${failure.logicalId} (${failure.type}) ${failure.status}: ${failure.reason}.${serving}`,
    { title: 'Deploy failed in CloudFormation' }
  )
}

/** The URL from the stack's outputs, not from the CLI's text. */
export async function readUrl(ctx: RunContext): Promise<void> {
  const identity = known(ctx, 'identity')
  const stack = await describeStack(identity.stackName, stackAccess(ctx))
  if (!stack) throw await missingStack(ctx)
  const url = serviceUrl(stack.outputs)
  if (url && !isServiceUrl(url)) {
    ctx.edges.runner.warning(
      `Stack ${identity.stackName} reports the service URL ${JSON.stringify(url.slice(0, 200))}, which is not a single-line https:// URL: the url output stays empty, and no comment or summary shows it.`,
      { title: 'Service URL refused' }
    )
    return
  }
  tell(ctx, { url })
  if (!ctx.report.url)
    ctx.edges.runner.warning(
      `Stack ${identity.stackName} has no HttpApiUrl, ServiceEndpoint or function URL output; url is empty.`
    )
}

/**
 * The smoke test: GET the stage's URL (or smoke-test-url) plus smoke-test-path until it answers as
 * expected. When it does not, the functions' own log events since the deploy are read for the report.
 */
export async function smokeTestDeploy(ctx: RunContext): Promise<void> {
  const { inputs, report, edges } = ctx
  if (!inputs.smokeTestPath) {
    report.smoke = 'off (smoke-test-path is empty)'
    return
  }
  // A rehearsal against LocalStack or moto reports an AWS URL that nothing serves.
  if (!inputs.smokeTestUrl && edges.env.AWS_ENDPOINT_URL) {
    report.smoke = `not run: AWS_ENDPOINT_URL is set (a rehearsal: nothing serves the emulator's API${ctx.report.verification?.includes('GET ') ? ', and the artifact check called the handler instead' : ''}; set smoke-test-url to probe one)`
    edges.runner.info(`Smoke test ${report.smoke}.`)
    return
  }
  if (!(inputs.smokeTestUrl ?? report.url)) {
    report.smoke = 'not run: the stack reports no URL (set smoke-test-url)'
    edges.runner.warning(`Smoke test ${report.smoke}.`)
    return
  }
  const result = await probeStage(ctx)
  ctx.smoke = result
  tell(ctx, {
    smokeStatus: result.status === undefined ? '' : String(result.status),
    smoke: `${result.passed ? '✅' : '❌'} GET ${result.url}: ${result.status !== undefined ? `HTTP ${result.status}` : result.error} (${result.attempts} attempt${result.attempts === 1 ? '' : 's'}, ${result.seconds.toFixed(1)}s)`
  })
  if (result.passed) {
    edges.runner.info(`Smoke test passed: ${report.smoke}`)
    return
  }
  const names = ctx.packaged?.functions.map(fn => fn.name) ?? []
  if (names.length && ctx.deployStartedAt) {
    const access = stackAccess(ctx)
    const events = await functionLogs(names, { ...access, since: ctx.deployStartedAt }).catch(error => {
      edges.runner.warning(
        `The functions' logs could not be read: ${error instanceof Error ? error.message : String(error)}`
      )
      return []
    })
    report.functionLogs = events.length
      ? formatLogs(events)
      : `No log events from ${names.join(', ')} since the deploy: the request may not have reached a function.`
  }
}

/** GETs smoke-test-url or the stage's URL, plus smoke-test-path, until it answers as expected or time runs out. */
function probeStage(ctx: RunContext): Promise<SmokeResult> {
  const { inputs, edges } = ctx
  const base = inputs.smokeTestUrl ?? ctx.report.url
  const path = inputs.smokeTestPath
  if (!base || !path) throw new Error('no smoke test target: the smoke test step decides whether one runs')
  return smokeTest({
    base,
    path,
    timeoutMs: inputs.smokeTestTimeoutSeconds * 1000,
    expect: inputs.smokeTestExpect,
    log: edges.runner.info,
    clock: edges.clock
  })
}

/**
 * After a failed smoke test: back to the deployment the stage served before this run (Serverless v3
 * keeps it in its bucket; serverless rollback --timestamp redeploys its template), a check that the
 * rolled-back stage answers, and the step fails either way.
 */
export async function rollBackIfFailed(ctx: RunContext): Promise<void> {
  const { inputs, report } = ctx
  const smoke = ctx.smoke
  if (!smoke || smoke.passed) return
  const identity = known(ctx, 'identity')
  report.rolledBack = 'false'
  if (!inputs.rollbackOnFailure) {
    report.rollback = 'not asked for (rollback-on-failure: false): the stage keeps the failing deployment'
  } else if (!ctx.previous) {
    report.rollback = `nothing to roll back to: this was the first deploy of stage ${identity.stage}`
  } else if (
    (await liveDeployment(identity.stackName, stackAccess(ctx)))?.timestamp === ctx.previous.timestamp
  ) {
    report.rollback =
      'nothing to roll back: this run deployed nothing new, and the stage serves what it served before'
  } else {
    const result = await serverless(
      ctx,
      ['rollback', '--timestamp', ctx.previous.timestamp],
      forwardedArgs('rollback', inputs.args)
    )
    if (result.exitCode !== 0) {
      report.rollback = `failed: ${serverlessError(result.output) ?? `exit code ${result.exitCode}`}`
    } else {
      report.rolledBack = 'true'
      const again = await probeStage(ctx)
      report.rollback = `rolled back to the deployment of ${new Date(Number(ctx.previous.timestamp)).toISOString()} (${ctx.previous.directory}); ${again.passed ? `it answers: HTTP ${again.status}` : `it does not answer either (${again.status !== undefined ? `HTTP ${again.status}` : again.error})`}`
    }
  }
  ctx.outputs.publish(report)
  throw new UserError(
    [
      smokeFailure(smoke, inputs.smokeTestExpect),
      report.functionLogs ? `The functions' logs since the deploy:\n${report.functionLogs}` : undefined,
      `Rollback: ${report.rollback}.`
    ]
      .filter(Boolean)
      .join('\n'),
    {
      title:
        report.rolledBack === 'true' ? 'Smoke test failed and the stage was rolled back' : 'Smoke test failed'
    }
  )
}
