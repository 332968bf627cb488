/**
 * A loopback stand-in for the slice of GitHub's REST API that a sticky pull-request comment uses:
 * list, create and update issue comments. Pull requests are issues to this API, so the same routes
 * serve both. Drive it with `getOctokit(token, { baseUrl: api.url })`, or give a child process
 * GITHUB_API_URL=api.url (note @actions/github reads GITHUB_API_URL when it is first imported).
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface CommentUser {
  login: string
  id: number
  type: 'User' | 'Bot' | 'Organization'
}

/** An issue comment as GitHub's REST API returns it (the fields a client is likely to read). */
export interface Comment {
  id: number
  node_id: string
  url: string
  html_url: string
  issue_url: string
  body: string
  user: CommentUser
  created_at: string
  updated_at: string
  author_association: string
}

export interface CommentSeed {
  owner: string
  repo: string
  /** The issue or pull request number. */
  number: number
  body: string
  /** Defaults to another human, so seeded comments aren't mistaken for the action's own. */
  user?: { login: string; type?: CommentUser['type'] }
  created_at?: string
}

export interface ApiRequest {
  method: string
  /** The URL path without the query. */
  path: string
  query: Record<string, string>
  /** The parsed JSON body of writes. */
  body?: unknown
  /** The Authorization header's scheme ('token' or 'Bearer') when one was sent. */
  scheme?: string
  status: number
}

export interface GitHubApiOptions {
  token: string
  /** Writes answer 403 "Resource not accessible by integration", as for a token without write scopes. */
  readOnly?: boolean
  comments?: CommentSeed[]
  /** Who the token acts as; GITHUB_TOKEN acts as github-actions[bot]. */
  user?: { login: string; type?: CommentUser['type'] }
}

export interface GitHubApi {
  /** The API base URL, without a trailing slash, like https://api.github.com. */
  url: string
  comments(owner: string, repo: string, number: number): Comment[]
  requests: ApiRequest[]
  stop(): Promise<void>
}

const DOCS = 'https://docs.github.com/rest/issues/comments'
const BOT: CommentUser = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' }
const DEFAULT_PER_PAGE = 30
const MAX_PER_PAGE = 100

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl: string,
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
  }
}

// GitHub timestamps have second precision: 2024-05-01T12:00:00Z.
function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function userFor(login: string, type: CommentUser['type'] = 'User'): CommentUser {
  if (login === BOT.login) return BOT
  // A stable id per login, in the range of real user ids.
  let id = 1000
  for (const char of login) id = (id * 31 + char.charCodeAt(0)) % 90_000_000
  return { login, id: id + 1000, type }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk)
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw new ApiError(400, 'Problems parsing JSON', 'https://docs.github.com/rest')
  }
}

function bodyText(payload: unknown, documentationUrl: string): string {
  const body =
    typeof payload === 'object' && payload !== null ? (payload as { body?: unknown }).body : undefined
  if (typeof body !== 'string')
    throw new ApiError(422, 'Invalid request.\n\n"body" wasn\'t supplied.', documentationUrl)
  return body
}

export async function startGitHubApi(options: GitHubApiOptions): Promise<GitHubApi> {
  const actor = options.user ? userFor(options.user.login, options.user.type ?? 'User') : BOT
  const requests: ApiRequest[] = []
  // Comments per issue, oldest first, keyed `owner/repo#number` (case-insensitive, as GitHub is).
  const threads = new Map<string, Comment[]>()
  // GitHub's Link headers point at /repositories/{id}/..., so repositories get ids.
  const repoIds = new Map<string, number>()
  const repoById = new Map<number, { owner: string; repo: string }>()
  let nextCommentId = 2_000_000_001
  let base = ''

  function repoId(owner: string, repo: string): number {
    const name = `${owner}/${repo}`.toLowerCase()
    let id = repoIds.get(name)
    if (id === undefined) {
      id = 700_000_001 + repoIds.size
      repoIds.set(name, id)
      repoById.set(id, { owner, repo })
    }
    return id
  }

  function thread(owner: string, repo: string, number: number): Comment[] {
    repoId(owner, repo)
    const name = `${owner}/${repo}#${number}`.toLowerCase()
    let comments = threads.get(name)
    if (!comments) threads.set(name, (comments = []))
    return comments
  }

  function newComment(
    owner: string,
    repo: string,
    number: number,
    body: string,
    user: CommentUser,
    createdAt: string
  ): Comment {
    const id = nextCommentId++
    return {
      id,
      node_id: `IC_kwDO${Buffer.from(String(id)).toString('base64url')}`,
      url: `${base}/repos/${owner}/${repo}/issues/comments/${id}`,
      html_url: `https://github.com/${owner}/${repo}/pull/${number}#issuecomment-${id}`,
      issue_url: `${base}/repos/${owner}/${repo}/issues/${number}`,
      body,
      user,
      created_at: createdAt,
      updated_at: createdAt,
      author_association: user.type === 'Bot' ? 'NONE' : 'MEMBER'
    }
  }

  function listComments(
    url: URL,
    owner: string,
    repo: string,
    number: number
  ): { body: Comment[]; link?: string } {
    const all = thread(owner, repo, number)
    const perPage = Math.min(
      Math.max(Number(url.searchParams.get('per_page')) || DEFAULT_PER_PAGE, 1),
      MAX_PER_PAGE
    )
    const page = Math.max(Number(url.searchParams.get('page')) || 1, 1)
    const lastPage = Math.max(Math.ceil(all.length / perPage), 1)
    // GitHub sends Link only when there is more than one page, in the order prev, next, last, first.
    let link: string | undefined
    if (lastPage > 1) {
      const pageUrl = (target: number) => {
        const next = new URL(`${base}/repositories/${repoId(owner, repo)}/issues/${number}/comments`)
        next.searchParams.set('per_page', String(perPage))
        next.searchParams.set('page', String(target))
        return `<${next.href}>`
      }
      const parts: string[] = []
      if (page > 1) parts.push(`${pageUrl(Math.min(page - 1, lastPage))}; rel="prev"`)
      if (page < lastPage) parts.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(lastPage)}; rel="last"`)
      if (page > 1) parts.push(`${pageUrl(1)}; rel="first"`)
      link = parts.join(', ')
    }
    return { body: all.slice((page - 1) * perPage, page * perPage).map(copy), link }
  }

  function findComment(owner: string, repo: string, id: number): Comment | undefined {
    const prefix = `${owner}/${repo}#`.toLowerCase()
    for (const [name, comments] of threads) {
      if (!name.startsWith(prefix)) continue
      const found = comments.find(comment => comment.id === id)
      if (found) return found
    }
    return undefined
  }

  function checkWrite(documentationUrl: string): void {
    // What GitHub answers a GITHUB_TOKEN without issues/pull-requests: write.
    if (options.readOnly)
      throw new ApiError(403, 'Resource not accessible by integration', documentationUrl, {
        'x-accepted-github-permissions': 'issues=write; pull_requests=write'
      })
  }

  async function route(
    req: IncomingMessage,
    url: URL,
    record: ApiRequest
  ): Promise<[number, unknown, string?]> {
    const auth = /^(token|bearer) (.+)$/i.exec(req.headers.authorization ?? '')
    if (auth) record.scheme = auth[1]
    if (!auth || auth[2] !== options.token)
      throw new ApiError(401, 'Bad credentials', 'https://docs.github.com/rest')

    // /repos/{owner}/{repo}/... or /repositories/{id}/... (the form GitHub's Link headers use).
    const byName = /^\/repos\/([^/]+)\/([^/]+)(\/.*)$/.exec(url.pathname)
    const byId = /^\/repositories\/(\d+)(\/.*)$/.exec(url.pathname)
    const target = byName
      ? { owner: decodeURIComponent(byName[1]), repo: decodeURIComponent(byName[2]), rest: byName[3] }
      : byId && repoById.has(Number(byId[1]))
        ? { ...(repoById.get(Number(byId[1])) as { owner: string; repo: string }), rest: byId[2] }
        : undefined
    if (!target) throw new ApiError(404, 'Not Found', 'https://docs.github.com/rest')
    const { owner, repo, rest } = target

    const issueComments = /^\/issues\/(\d+)\/comments\/?$/.exec(rest)
    if (issueComments && req.method === 'GET') {
      const { body, link } = listComments(url, owner, repo, Number(issueComments[1]))
      return [200, body, link]
    }
    if (issueComments && req.method === 'POST') {
      const documentationUrl = `${DOCS}#create-an-issue-comment`
      const payload = await readJson(req)
      record.body = payload
      checkWrite(documentationUrl)
      const number = Number(issueComments[1])
      const comment = newComment(owner, repo, number, bodyText(payload, documentationUrl), actor, timestamp())
      thread(owner, repo, number).push(comment)
      return [201, copy(comment)]
    }
    const oneComment = /^\/issues\/comments\/(\d+)\/?$/.exec(rest)
    if (oneComment && req.method === 'PATCH') {
      const documentationUrl = `${DOCS}#update-an-issue-comment`
      const payload = await readJson(req)
      record.body = payload
      checkWrite(documentationUrl)
      const comment = findComment(owner, repo, Number(oneComment[1]))
      if (!comment) throw new ApiError(404, 'Not Found', documentationUrl)
      comment.body = bodyText(payload, documentationUrl)
      comment.updated_at = timestamp()
      return [200, copy(comment)]
    }
    throw new ApiError(404, 'Not Found', 'https://docs.github.com/rest')
  }

  function send(
    res: ServerResponse,
    record: ApiRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {}
  ): void {
    record.status = status
    res
      .writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-media-type': 'github.v3; format=json',
        'x-github-request-id': randomUUID().toUpperCase(),
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-resource': 'core',
        ...headers
      })
      .end(JSON.stringify(body))
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const record: ApiRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0
    }
    requests.push(record)
    route(req, url, record).then(
      ([status, body, link]) => send(res, record, status, body, link ? { link } : {}),
      (error: unknown) => {
        if (!(error instanceof ApiError)) {
          return send(res, record, 500, { message: error instanceof Error ? error.message : String(error) })
        }
        // GitHub's error shape, including the status as a string.
        send(
          res,
          record,
          error.status,
          { message: error.message, documentation_url: error.documentationUrl, status: String(error.status) },
          error.headers
        )
      }
    )
  })

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  for (const [index, seed] of (options.comments ?? []).entries()) {
    const user = seed.user ? userFor(seed.user.login, seed.user.type) : userFor('octocat')
    // Seeds without a date are spaced a minute apart in the past, oldest first.
    const createdAt = seed.created_at ?? timestamp(new Date(Date.UTC(2024, 0, 1) + index * 60_000))
    thread(seed.owner, seed.repo, seed.number).push(
      newComment(seed.owner, seed.repo, seed.number, seed.body, user, createdAt)
    )
  }

  let stopped: Promise<void> | undefined
  return {
    url: base,
    comments: (owner, repo, number) => thread(owner, repo, number).map(copy),
    requests,
    stop: () =>
      (stopped ??= new Promise<void>(resolve => {
        server.close(() => resolve())
        // undici (octokit's fetch) keeps connections alive; close them so close() can finish.
        server.closeAllConnections()
      }))
  }
}

function copy(comment: Comment): Comment {
  return { ...comment, user: { ...comment.user } }
}
