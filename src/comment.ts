import { getOctokit } from '@actions/github'
import { readFileSync } from 'node:fs'
import { clip, code, escapeMarkdown } from './markdown.js'
import type { Plan } from './plan/model.js'
import { renderPlanMarkdown } from './plan/render.js'

/**
 * One sticky comment per service and stage on a pull request: created by the first preview deploy,
 * updated in place by later pushes (found by a hidden marker), and edited to say so when the preview
 * is removed.
 */

export interface PullRequest {
  owner: string
  repo: string
  number: number
  /** The commit the pull request's head points at (not the merge commit GITHUB_SHA names). */
  headSha?: string
}

/** The pull request this run is for, from the event payload; undefined for other events. */
export function pullRequestOf(env: Readonly<Record<string, string | undefined>>): PullRequest | undefined {
  if (!env.GITHUB_EVENT_PATH || !env.GITHUB_REPOSITORY) return undefined
  if (!/^pull_request/.test(env.GITHUB_EVENT_NAME ?? '')) return undefined
  let payload: { pull_request?: { number?: number; head?: { sha?: string } } }
  try {
    payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as typeof payload
  } catch {
    return undefined
  }
  const number = payload.pull_request?.number
  if (!number) return undefined
  const [owner, repo] = env.GITHUB_REPOSITORY.split('/')
  return { owner, repo, number, headSha: payload.pull_request?.head?.sha }
}

/** The hidden marker of a service's and stage's comment; only name characters reach it, so nothing closes it early. */
export function marker(service: string, stage: string): string {
  const name = (text: string) => text.replace(/[^\w.-]/g, '_')
  return `<!-- serverless-python-deploy preview: ${name(service)}/${name(stage)} -->`
}

export interface CommentOptions {
  token: string
  /** GITHUB_API_URL: GHES has its own. */
  apiUrl: string
  pullRequest: PullRequest
  marker: string
  body: string
}

export type CommentResult = { url: string; created: boolean } | { refused: string }

/** Who the token writes as: its user, or (an installation token, which may not ask) undefined. */
async function identity(octokit: ReturnType<typeof getOctokit>): Promise<string | undefined> {
  try {
    return (await octokit.rest.users.getAuthenticated()).data.login
  } catch {
    return undefined
  }
}

/**
 * Whether a comment is the token's own: by its login when the token can say who it is; else (the
 * workflow's GITHUB_TOKEN, which writes as github-actions[bot], or another app's installation token)
 * by a bot account, which no person can post as.
 */
function writtenBy(user: { login?: string; type?: string } | undefined, author: string | undefined): boolean {
  if (!user) return false
  return author ? user.login === author : user.type === 'Bot'
}

export async function upsertComment(options: CommentOptions): Promise<CommentResult> {
  const octokit = getOctokit(options.token, { baseUrl: options.apiUrl })
  const { owner, repo, number } = options.pullRequest
  const body = `${options.marker}\n${options.body}`
  try {
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: number,
      per_page: 100
    })
    const author = await identity(octokit)
    // Only a comment this token's own identity wrote is the action's: anyone can post the marker.
    const mine = comments.find(
      comment => comment.body?.includes(options.marker) && writtenBy(comment.user ?? undefined, author)
    )
    if (mine) {
      const updated = await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body })
      return { url: updated.data.html_url, created: false }
    }
    const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body })
    return { url: created.data.html_url, created: true }
  } catch (error) {
    const status = (error as { status?: number }).status
    // A token without pull-requests: write is the workflow's choice to fix, never a reason to fail a deploy.
    if (status === 401 || status === 403 || status === 404) {
      return { refused: `HTTP ${status}: ${(error as Error).message}` }
    }
    throw error
  }
}

export interface PreviewState {
  service: string
  stage: string
  command: string
  url?: string
  commit?: string
  smoke?: string
  removed?: boolean
  failed?: string
  runUrl?: string
}

/**
 * The comment's text: what a reviewer needs, in a few lines. Every value is the pull request's to
 * choose (the service's name, the URL from its stack, errors that quote its files), so each is made
 * inert Markdown (markdown.ts); the URL is shown only as a single-line https:// URL.
 */
export function previewBody(state: PreviewState): string {
  const service = code(state.service, 80)
  const title = state.removed
    ? `🗑️ Preview of ${service} removed`
    : state.failed
      ? `❌ Preview of ${service} failed`
      : `🚀 Preview of ${service} deployed`
  const url = state.url && isServiceUrl(state.url) ? state.url : undefined
  const rows: [string, string | undefined][] = [
    ['URL', state.removed || !url ? undefined : url],
    ['Stage', code(state.stage, 40)],
    ['Commit', state.commit ? code(state.commit.slice(0, 7), 7) : undefined],
    ['Smoke test', state.removed || !state.smoke ? undefined : escapeMarkdown(clip(state.smoke, 300))],
    ['Error', state.failed ? escapeMarkdown(clip(state.failed.split('\n')[0], 300)) : undefined]
  ]
  return [
    `### ${title}`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.filter(([, value]) => value).map(([name, value]) => `| ${name} | ${value} |`),
    '',
    state.removed
      ? 'The stage and its stack were removed when the pull request closed.'
      : `Updated on every push${state.runUrl && isServiceUrl(state.runUrl) ? ` ([run](${state.runUrl}))` : ''}.`
  ].join('\n')
}

/** GitHub's limit for one comment, in characters. */
const COMMENT_LIMIT = 65_536

/**
 * The plan's comment: what merging would change in the stage, as a reviewer reads it, within GitHub's
 * limit with room for the marker (the plan's own rendering keeps the counts and every destructive
 * change when it must cut).
 */
export function planBody(plan: Plan, failed?: string): string {
  const head = [
    `### 📋 What a deploy would change in ${code(plan.service, 80)} (${code(plan.stage, 40)}, ${code(plan.region, 30)})`,
    '',
    ...(failed ? [`❌ ${escapeMarkdown(clip(failed.split('\n')[0], 300))}`, ''] : [])
  ].join('\n')
  return `${head}${renderPlanMarkdown([plan], { limit: COMMENT_LIMIT - head.length - 200 })}`
}

/** The plan's comment when the run stopped before the plan (a build or verification that failed). */
export function noPlanBody(service: string, stage: string, failed?: string): string {
  return [
    `### 📋 No plan for ${code(service, 80)} (${code(stage, 40)})`,
    '',
    `❌ ${escapeMarkdown(clip((failed ?? 'The run stopped before the plan.').split('\n')[0], 300))}`
  ].join('\n')
}

/**
 * A URL the action puts in the url output and the comment: https, one line, nothing Markdown or HTML
 * could read as more than a URL. A stack's outputs are the template's to say, and a pull request
 * writes the template.
 */
export function isServiceUrl(text: string): boolean {
  if (!/^https:\/\/[^\s<>"'`|\\()[\]{}]+$/.test(text)) return false
  try {
    return new URL(text).protocol === 'https:'
  } catch {
    return false
  }
}
