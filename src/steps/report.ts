import { STATE as CACHE_STATE } from '../cache.js'
import { marker, noPlanBody, planBody, previewBody, pullRequestOf, upsertComment } from '../comment.js'
import { known, stackAccess, tell, type RunContext } from '../context.js'
import { exportCredentials } from '../credentials.js'
import { failed, serverless } from '../serverless.js'
import { describeStack } from '../stack.js'
import { missingStack } from './stack-state.js'

/** Telling what happened: `serverless info`, the pull request comment, the cache plan, the credentials. */

export async function showInfo(ctx: RunContext): Promise<void> {
  const identity = known(ctx, 'identity')
  if (!(await describeStack(identity.stackName, stackAccess(ctx)))) throw await missingStack(ctx)
  const result = await serverless(ctx, ['info'], ctx.inputs.args)
  if (result.exitCode !== 0) failed(ctx, 'info', result)
}

/** The sticky pull-request comment: after every deploy or remove of a preview, passed or failed. */
export async function commentOnPullRequest(ctx: RunContext): Promise<void> {
  const { inputs, report, edges } = ctx
  if (!inputs.commentOnPr || !ctx.traits.comments || !report.service || !report.stage) return
  const env = edges.env
  const pullRequest = pullRequestOf(env)
  if (!pullRequest) {
    edges.runner.info('comment-on-pr is set, but this run is not for a pull request: no comment.')
    return
  }
  if (!inputs.githubToken) {
    edges.runner.warning('comment-on-pr is set, but github-token is empty: no comment.')
    return
  }
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com'
  const body =
    ctx.traits.comments === 'plan'
      ? ctx.plan
        ? planBody(ctx.plan, report.error)
        : noPlanBody(report.service, report.stage, report.error)
      : previewBody({
          service: report.service,
          stage: report.stage,
          command: inputs.command,
          url: report.url,
          commit: pullRequest.headSha ?? env.GITHUB_SHA,
          smoke: report.smoke,
          removed: ctx.traits.serverless === 'remove' && !report.error,
          failed: report.error,
          runUrl: env.GITHUB_RUN_ID
            ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
            : undefined
        })
  const result = await upsertComment({
    token: inputs.githubToken,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    pullRequest,
    marker: marker(report.service, report.stage),
    body
  })
  if ('refused' in result) {
    edges.runner.warning(
      `The pull request comment was not written (${result.refused}). Give the job permissions: pull-requests: write (and issues: write for GHES), or set comment-on-pr: false.`,
      { title: 'No pull request comment' }
    )
    return
  }
  tell(ctx, { commentUrl: result.url })
  edges.runner.info(
    `${result.created ? 'Commented' : 'Updated the comment'} on pull request #${pullRequest.number}: ${result.url}`
  )
}

/** What runs whether the command passed or failed: the cache plan, the comment, exported credentials. */
export async function afterwards(ctx: RunContext): Promise<void> {
  // Only a run that succeeded hands its caches to the post step: a failed step may have left one
  // half-written (and continue-on-error would still run the post step).
  if (!ctx.report.error) ctx.edges.runner.saveState(CACHE_STATE, JSON.stringify({ save: ctx.caches.plan }))
  await ctx.phases
    .time('pull request comment', () => commentOnPullRequest(ctx))
    .catch(error =>
      ctx.edges.runner.warning(
        `The pull request comment was not written: ${error instanceof Error ? error.message : String(error)}`
      )
    )
  if (ctx.inputs.exportCredentials && ctx.credentials?.exclusive)
    exportCredentials(ctx.credentials, ctx.report.region, ctx.edges.runner.exportVariable)
}
