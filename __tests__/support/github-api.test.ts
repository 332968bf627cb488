import { getOctokit } from '@actions/github'
import { startGitHubApi, type CommentSeed, type GitHubApi } from './github-api.js'

const TOKEN = 'ghs_loopbacktoken0123456789'
const target = { owner: 'octo-org', repo: 'fastapi-service', issue_number: 7 }

// The rejection octokit raises for an HTTP error (a RequestError), reduced to what the tests read.
interface HttpFailure {
  status: number
  response?: { data?: unknown; headers?: Record<string, string | undefined> }
}

async function failure(call: Promise<unknown>): Promise<HttpFailure> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught
  )
  if (error === undefined) throw new Error('expected the call to fail')
  return error as HttpFailure
}

describe('with 105 comments on the pull request', () => {
  let api: GitHubApi
  const seeds: CommentSeed[] = [
    ...Array.from({ length: 105 }, (_, index) => ({
      owner: 'octo-org',
      repo: 'fastapi-service',
      number: 7,
      body: `comment ${index + 1}`
    })),
    { owner: 'octo-org', repo: 'fastapi-service', number: 8, body: 'another pull request' }
  ]

  beforeAll(async () => {
    api = await startGitHubApi({ token: TOKEN, comments: seeds })
  })
  afterAll(async () => {
    await api?.stop()
  })

  test('octokit.paginate walks the Link header through every page', async () => {
    const octokit = getOctokit(TOKEN, { baseUrl: api.url })
    const from = api.requests.length
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...target, per_page: 100 })

    expect(comments.map(comment => comment.body)).toEqual(seeds.slice(0, 105).map(seed => seed.body))
    expect(comments[0]).toMatchObject({
      id: expect.any(Number),
      html_url: expect.stringMatching(
        /^https:\/\/github\.com\/octo-org\/fastapi-service\/pull\/7#issuecomment-\d+$/
      ),
      user: { login: 'octocat', type: 'User' },
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z'
    })
    // The second page comes from the URL in the Link header, which uses the repository id, as GitHub's does.
    expect(
      api.requests.slice(from).map(request => [request.method, request.path, request.query.page])
    ).toEqual([
      ['GET', '/repos/octo-org/fastapi-service/issues/7/comments', undefined],
      ['GET', expect.stringMatching(/^\/repositories\/\d+\/issues\/7\/comments$/), '2']
    ])
    expect(
      api.requests.slice(from).every(request => request.status === 200 && request.scheme === 'token')
    ).toBe(true)
  })

  test('pages default to 30 and carry prev/next/last/first links', async () => {
    const first = await fetch(`${api.url}/repos/octo-org/fastapi-service/issues/7/comments`, {
      headers: { authorization: `Bearer ${TOKEN}` }
    })
    expect(first.status).toBe(200)
    expect((await first.json()) as unknown[]).toHaveLength(30)
    const link = first.headers.get('link') ?? ''
    expect(link).toMatch(
      /<http:\/\/127\.0\.0\.1:\d+\/repositories\/\d+\/issues\/7\/comments\?per_page=30&page=2>; rel="next"/
    )
    expect(link).toMatch(/page=4>; rel="last"$/)

    const last = await fetch(`${api.url}/repos/octo-org/fastapi-service/issues/7/comments?page=4`, {
      headers: { authorization: `Bearer ${TOKEN}` }
    })
    const body = (await last.json()) as { body: string }[]
    expect(body.map(comment => comment.body)).toEqual(
      Array.from({ length: 15 }, (_, index) => `comment ${91 + index}`)
    )
    expect(last.headers.get('link')).toMatch(/page=3>; rel="prev", <[^>]+page=1>; rel="first"$/)

    // A single page gets no Link header.
    const single = await fetch(`${api.url}/repos/octo-org/fastapi-service/issues/8/comments`, {
      headers: { authorization: `token ${TOKEN}` }
    })
    expect(single.headers.get('link')).toBeNull()
    expect((await single.json()) as unknown[]).toHaveLength(1)
  })
})

test('creates and then updates a comment as github-actions[bot]', async () => {
  const api = await startGitHubApi({ token: TOKEN })
  try {
    const octokit = getOctokit(TOKEN, { baseUrl: api.url })
    const created = await octokit.rest.issues.createComment({ ...target, body: '<!-- sticky -->\nfirst' })
    expect(created.status).toBe(201)
    expect(created.data).toMatchObject({
      body: '<!-- sticky -->\nfirst',
      user: { login: 'github-actions[bot]', type: 'Bot' },
      html_url: `https://github.com/octo-org/fastapi-service/pull/7#issuecomment-${created.data.id}`
    })
    expect(created.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)

    const updated = await octokit.rest.issues.updateComment({
      owner: target.owner,
      repo: target.repo,
      comment_id: created.data.id,
      body: '<!-- sticky -->\nsecond'
    })
    expect(updated.status).toBe(200)
    expect(updated.data).toMatchObject({ id: created.data.id, body: '<!-- sticky -->\nsecond' })
    expect(updated.data.updated_at >= created.data.created_at).toBe(true)

    expect(api.comments('octo-org', 'fastapi-service', 7)).toEqual([
      expect.objectContaining({ id: created.data.id, body: '<!-- sticky -->\nsecond' })
    ])
    expect(api.requests.map(request => [request.method, request.path, request.status, request.body])).toEqual(
      [
        [
          'POST',
          '/repos/octo-org/fastapi-service/issues/7/comments',
          201,
          { body: '<!-- sticky -->\nfirst' }
        ],
        [
          'PATCH',
          `/repos/octo-org/fastapi-service/issues/comments/${created.data.id}`,
          200,
          { body: '<!-- sticky -->\nsecond' }
        ]
      ]
    )

    // A comment id from another repository is not found there.
    const elsewhere = await failure(
      octokit.rest.issues.updateComment({
        owner: 'octo-org',
        repo: 'other',
        comment_id: created.data.id,
        body: 'x'
      })
    )
    expect(elsewhere.status).toBe(404)
  } finally {
    await api.stop()
  }
})

test('a wrong token gets 401 Bad credentials', async () => {
  const api = await startGitHubApi({ token: TOKEN })
  try {
    const octokit = getOctokit('ghs_wrong', { baseUrl: api.url })
    const error = await failure(octokit.rest.issues.listComments(target))
    expect(error.status).toBe(401)
    expect(error.response?.data).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
      status: '401'
    })
    const anonymous = await fetch(`${api.url}/repos/octo-org/fastapi-service/issues/7/comments`)
    expect(anonymous.status).toBe(401)
  } finally {
    await api.stop()
  }
})

test('a read-only token can list but gets 403 on writes, as GitHub answers it', async () => {
  const api = await startGitHubApi({
    token: TOKEN,
    readOnly: true,
    comments: [
      {
        owner: 'octo-org',
        repo: 'fastapi-service',
        number: 7,
        body: 'existing',
        user: { login: 'github-actions[bot]', type: 'Bot' }
      }
    ]
  })
  try {
    const octokit = getOctokit(TOKEN, { baseUrl: api.url })
    const listed = await octokit.rest.issues.listComments(target)
    expect(listed.data.map(comment => [comment.body, comment.user?.login])).toEqual([
      ['existing', 'github-actions[bot]']
    ])

    const create = await failure(octokit.rest.issues.createComment({ ...target, body: 'new' }))
    expect(create.status).toBe(403)
    expect(create.response?.data).toEqual({
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
      status: '403'
    })
    expect(create.response?.headers?.['x-accepted-github-permissions']).toBe(
      'issues=write; pull_requests=write'
    )

    const update = await failure(
      octokit.rest.issues.updateComment({
        owner: target.owner,
        repo: target.repo,
        comment_id: listed.data[0].id,
        body: 'changed'
      })
    )
    expect(update.status).toBe(403)
    expect(api.comments('octo-org', 'fastapi-service', 7).map(comment => comment.body)).toEqual(['existing'])
  } finally {
    await api.stop()
  }
})
