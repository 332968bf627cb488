import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { marker, previewBody, pullRequestOf, upsertComment } from '../../src/comment.js'
import { startGitHubApi, type GitHubApi } from '../support/github-api.js'

const TOKEN = 'ghs_test_token'
const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-comment-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('pullRequestOf', () => {
  it('reads the number and head commit of a pull_request event, and nothing for other events', () => {
    const event = path.join(dir, 'event.json')
    writeFileSync(event, JSON.stringify({ pull_request: { number: 42, head: { sha: 'abcdef1234567' } } }))
    const env = {
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: 'octo-org/api',
      GITHUB_EVENT_NAME: 'pull_request'
    }
    expect(pullRequestOf(env)).toEqual({
      owner: 'octo-org',
      repo: 'api',
      number: 42,
      headSha: 'abcdef1234567'
    })
    expect(pullRequestOf({ ...env, GITHUB_EVENT_NAME: 'push' })).toBeUndefined()
    expect(pullRequestOf({ ...env, GITHUB_EVENT_PATH: path.join(dir, 'missing.json') })).toBeUndefined()
  })
})

describe('upsertComment against a loopback GitHub REST API', () => {
  let api: GitHubApi
  const pullRequest = { owner: 'octo-org', repo: 'api', number: 7, headSha: 'abc1234def' }
  const mark = marker('api', 'pr-7')

  beforeAll(async () => {
    // Someone else's comments first, more than a page of them: the marker is found wherever it is.
    api = await startGitHubApi({
      token: TOKEN,
      comments: Array.from({ length: 120 }, (_, i) => ({
        owner: 'octo-org',
        repo: 'api',
        number: 7,
        body: `review ${i}`
      }))
    })
  })
  afterAll(async () => api?.stop())

  it('creates the comment once, then updates the same one', async () => {
    const first = await upsertComment({
      token: TOKEN,
      apiUrl: api.url,
      pullRequest,
      marker: mark,
      body: 'first'
    })
    expect(first).toMatchObject({ created: true, url: expect.stringContaining('/pull/7') })
    const second = await upsertComment({
      token: TOKEN,
      apiUrl: api.url,
      pullRequest,
      marker: mark,
      body: 'second'
    })
    expect(second).toEqual({ created: false, url: (first as { url: string }).url })
    const ours = api.comments('octo-org', 'api', 7).filter(comment => comment.body.includes(mark))
    expect(ours.map(comment => comment.body)).toEqual([`${mark}\nsecond`])
  })

  it('keeps one comment per service and stage', async () => {
    await upsertComment({
      token: TOKEN,
      apiUrl: api.url,
      pullRequest,
      marker: marker('worker', 'pr-7'),
      body: 'x'
    })
    expect(
      api
        .comments('octo-org', 'api', 7)
        .filter(comment => comment.body.startsWith('<!-- serverless-python-deploy'))
    ).toHaveLength(2)
  })

  it('turns a token without pull-requests: write into a refusal, not an exception', async () => {
    const readOnly = await startGitHubApi({ token: TOKEN, readOnly: true })
    try {
      const result = await upsertComment({
        token: TOKEN,
        apiUrl: readOnly.url,
        pullRequest,
        marker: mark,
        body: 'x'
      })
      expect(result).toEqual({
        refused: expect.stringMatching(/^HTTP 403: Resource not accessible by integration/)
      })
    } finally {
      await readOnly.stop()
    }
  })
})

describe('previewBody', () => {
  it('carries the URL, stage, commit and smoke test, and says when the preview is removed', () => {
    const deployed = previewBody({
      service: 'api',
      stage: 'pr-7',
      command: 'deploy',
      url: 'https://x.execute-api.eu-west-1.amazonaws.com',
      commit: 'abc1234def',
      smoke: '✅ GET /health: HTTP 200'
    })
    expect(deployed).toContain('### 🚀 Preview of `api` deployed')
    expect(deployed).toContain('| URL | https://x.execute-api.eu-west-1.amazonaws.com |')
    expect(deployed).toContain('| Commit | `abc1234` |')
    expect(deployed).toContain('| Smoke test | ✅ GET /health: HTTP 200 |')
    const removed = previewBody({ service: 'api', stage: 'pr-7', command: 'remove', removed: true })
    expect(removed).toContain('### 🗑️ Preview of `api` removed')
    expect(removed).not.toContain('| URL |')
  })
})
