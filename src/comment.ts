import { getOctokit } from '@actions/github'
import { readFileSync } from 'node:fs'

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

export function marker(service: string, stage: string): string {
  return `<!-- serverless-python-deploy preview: ${service}/${stage} -->`
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
    const mine = comments.find(comment => comment.body?.includes(options.marker))
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

/** The comment's text: what a reviewer needs, in a few lines. */
export function previewBody(state: PreviewState): string {
  const title = state.removed
    ? `🗑️ Preview of \`${state.service}\` removed`
    : state.failed
      ? `❌ Preview of \`${state.service}\` failed`
      : `🚀 Preview of \`${state.service}\` deployed`
  const rows: [string, string | undefined][] = [
    ['URL', state.removed ? undefined : state.url],
    ['Stage', `\`${state.stage}\``],
    ['Commit', state.commit ? `\`${state.commit.slice(0, 7)}\`` : undefined],
    ['Smoke test', state.removed ? undefined : state.smoke],
    ['Error', state.failed?.split('\n')[0]]
  ]
  return [
    `### ${title}`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows
      .filter(([, value]) => value)
      .map(([name, value]) => `| ${name} | ${String(value).replace(/\|/g, '\\|')} |`),
    '',
    state.removed
      ? 'The stage and its stack were removed when the pull request closed.'
      : `Updated on every push${state.runUrl ? ` ([run](${state.runUrl}))` : ''}.`
  ].join('\n')
}
