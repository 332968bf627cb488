import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { isServiceUrl, marker, previewBody, pullRequestOf, upsertComment } from '../../src/comment.js'
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

  it('leaves alone a comment another user wrote with the marker, and writes its own', async () => {
    const hijack = marker('api', 'pr-9')
    const seeded = await startGitHubApi({
      token: TOKEN,
      comments: [
        {
          owner: 'octo-org',
          repo: 'api',
          number: 7,
          body: `${hijack}\nclick [here](https://evil.example)`,
          user: { login: 'mallory' }
        }
      ]
    })
    try {
      const result = await upsertComment({
        token: TOKEN,
        apiUrl: seeded.url,
        pullRequest,
        marker: hijack,
        body: 'the preview'
      })
      expect(result).toMatchObject({ created: true })
      const comments = seeded.comments('octo-org', 'api', 7)
      expect(comments.map(comment => [comment.user.login, comment.body])).toEqual([
        ['mallory', `${hijack}\nclick [here](https://evil.example)`],
        ['github-actions[bot]', `${hijack}\nthe preview`]
      ])
      // The next run updates its own comment, still not mallory's.
      await upsertComment({ token: TOKEN, apiUrl: seeded.url, pullRequest, marker: hijack, body: 'updated' })
      expect(seeded.comments('octo-org', 'api', 7).map(comment => comment.body)).toEqual([
        `${hijack}\nclick [here](https://evil.example)`,
        `${hijack}\nupdated`
      ])
    } finally {
      await seeded.stop()
    }
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
    expect(deployed).toContain('### 🚀 Preview of <code>api</code> deployed')
    expect(deployed).toContain('| URL | https://x.execute-api.eu-west-1.amazonaws.com |')
    expect(deployed).toContain('| Stage | <code>pr\\-7</code> |')
    expect(deployed).toContain('| Commit | <code>abc1234</code> |')
    expect(deployed).toContain('| Smoke test | ✅ GET /health\\: HTTP 200 |')
    const removed = previewBody({ service: 'api', stage: 'pr-7', command: 'remove', removed: true })
    expect(removed).toContain('### 🗑️ Preview of <code>api</code> removed')
    expect(removed).not.toContain('| URL |')
  })

  it('leaves a URL out that is not one line of https, and makes every other value inert Markdown', () => {
    const body = previewBody({
      service: 'api-->\n[click](https://evil.example) @octo-org/admins `x`',
      stage: 'pr-7',
      command: 'deploy',
      url: 'https://x.example\n| Injected | [row](https://evil.example) |',
      failed: 'boom <img src=x onerror=alert(1)> | [link](javascript:alert(1))\nsecond line',
      smoke: '![tracker](https://evil.example/pixel.png)'
    })
    // One table row per field, and no line the values added.
    expect(body.split('\n').filter(line => line.startsWith('|'))).toHaveLength(5)
    expect(body).not.toContain('| URL |')
    expect(body).not.toMatch(/-->|<img|\]\(|@octo|`x`/)
    expect(body).toContain('&lt;img src\\=x onerror\\=alert\\(1\\)&gt;')
    expect(body).not.toContain('second line')
  })
})

describe('isServiceUrl', () => {
  it.each([
    ['https://abc.execute-api.eu-west-1.amazonaws.com', true],
    ['https://api.example.com/prod/', true],
    ['http://abc.execute-api.eu-west-1.amazonaws.com', false],
    ['https://x.example\n[link](https://evil)', false],
    ['https://x.example/a b', false],
    ['javascript:alert(1)', false],
    ['https://x.example/<script>', false],
    ['', false]
  ])('%j is %s', (url, expected) => {
    expect(isServiceUrl(url)).toBe(expected)
  })
})

describe('marker', () => {
  it('lets only name characters into the hidden comment', () => {
    expect(marker('api', 'pr-7')).toBe('<!-- serverless-python-deploy preview: api/pr-7 -->')
    expect(marker('api -->\n# x', 'pr-7')).toBe('<!-- serverless-python-deploy preview: api_--____x/pr-7 -->')
  })
})
