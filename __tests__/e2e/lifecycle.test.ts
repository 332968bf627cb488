import { jest } from '@jest/globals'
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand
} from '@aws-sdk/client-cloudwatch-logs'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { marker } from '../../src/comment.js'
import { liveDeployment } from '../../src/rollback.js'
import { copyFixture } from '../support/fixture.js'
import { startGitHubApi, type GitHubApi } from '../support/github-api.js'
import { startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import { NODE24, runAction, type ActionRun, errorLines } from '../support/runner.js'
import { sdkClients } from '../../src/aws.js'

jest.setTimeout(600_000)

/**
 * The deployment lifecycle through dist/index.js against moto: a smoke test that gates the deploy,
 * the functions' own logs when it fails, a rollback to the deployment the stage served before, and
 * the sticky pull-request comment through a loopback GitHub REST API.
 */

const REGION = 'eu-west-1'
const TOKEN = 'ghs_lifecycle_token'
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' }

let moto: Moto
let github: GitHubApi
let service: string
let home: string | undefined
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lifecycle-'))
const eventPath = path.join(scratch, 'event.json')

/** A loopback API standing in for the deployed stage: answers `status`, and may log like the function would. */
async function stageApi(
  status: number,
  onRequest?: () => Promise<void>
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_request, response) => {
    void (onRequest ? onRequest() : Promise.resolve()).then(() =>
      response
        .writeHead(status, { 'content-type': 'application/json' })
        .end(status >= 500 ? '{"message":"Internal Server Error"}' : '{"status":"ok"}')
    )
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

async function action(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  const run = await runAction({
    inputs: { 'working-directory': service, stage: 'pr-7', 'aws-region': REGION, ...inputs },
    env: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: moto.endpoint,
      ...pipEnv(),
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_API_URL: github.url,
      GITHUB_SHA: 'merge0000000',
      ...env
    },
    node: NODE24,
    home
  })
  home = run.home
  return run
}

const live = () => liveDeployment('fixture-api-pr-7', { region: REGION, credentials, clients: sdkClients })

beforeAll(async () => {
  moto = await startMoto()
  process.env.AWS_ENDPOINT_URL = moto.endpoint
  // Someone else commented first with the action's marker: the action must leave it alone, not edit it.
  github = await startGitHubApi({
    token: TOKEN,
    comments: [
      {
        owner: 'octo-org',
        repo: 'fastapi-service',
        number: 7,
        body: HIJACK,
        user: { login: 'mallory' }
      }
    ]
  })
  service = copyFixture('service', { node: 'none' })
  // A service without package.json: the action provides serverless 3.x and the plugins.
  // serverless-localstack points serverless at moto only for the stages it lists.
  const yml = path.join(service, 'serverless.yml')
  writeFileSync(yml, readFileSync(yml, 'utf8').replace('stages: [dev, test]', 'stages: [pr-7, first]'))
  writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7, head: { sha: 'head1234567' } } }))
})

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL
  await github?.stop()
  await moto?.stop()
  rmSync(scratch, { recursive: true, force: true })
})

const HIJACK = `${marker('fixture-api', 'pr-7')}\nDeployed! Log in at [the preview](https://evil.example) @octo-org/admins`

/** The action's comments on the pull request: mallory's (the first) stays as it was in every case. */
function ours(): ReturnType<GitHubApi['comments']> {
  const all = github.comments('octo-org', 'fastapi-service', 7)
  expect(all[0]).toMatchObject({ body: HIJACK, user: { login: 'mallory' } })
  return all.slice(1)
}

/** A comment's text as GitHub shows it: Markdown's backslash escapes and the zero-width spaces gone. */
const rendered = (body: string) => body.replace(/\\(.)/g, '$1').replace(/\u200B/g, '')

describe('a preview deploy gated by its smoke test, with one sticky comment', () => {
  let first: ActionRun
  let firstDeployment: string | undefined

  it('deploys A, passes the smoke test against smoke-test-url, and comments once', async () => {
    const api = await stageApi(200)
    try {
      first = await action({ 'smoke-test-url': api.url, 'comment-on-pr': 'true', 'github-token': TOKEN })
    } finally {
      await api.close()
    }
    if (first.exitCode !== 0) console.log(first.stdout.slice(-4000))
    expect(first.exitCode).toBe(0)
    expect(first.outputs).toMatchObject({
      'smoke-test-status': '200',
      'comment-url': expect.stringContaining('/pull/7#issuecomment-')
    })
    expect(first.outputs['rolled-back']).toBeUndefined()
    firstDeployment = (await live())?.timestamp
    expect(firstDeployment).toMatch(/^\d{13}$/)
    const comments = ours()
    expect(comments).toHaveLength(1)
    expect(comments[0].user.login).toBe('github-actions[bot]')
    // Values are inert Markdown in the comment (markdown.ts): read back as a reader sees them.
    expect(comments[0].body).toContain('🚀 Preview of <code>fixture\\-api</code> deployed')
    const shown = rendered(comments[0].body)
    expect(shown).toContain('| Stage | <code>pr-7</code> |')
    expect(shown).toContain('| Commit | <code>head123</code> |')
    expect(shown).toMatch(/\| Smoke test \| ✅ GET http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/)
    expect(first.summary).toContain('Smoke test')
  })

  it('deploys B whose smoke test fails: shows the function’s own error, rolls back to A, and fails', async () => {
    appendFileSync(
      path.join(service, 'handler.py'),
      '\n\n@app.get("/b")\ndef b():\n    return {"version": "b"}\n'
    )
    // The stage answers 500, and its function logs a traceback as it does so.
    const logs = new CloudWatchLogsClient({ region: REGION, endpoint: moto.endpoint, credentials })
    let logged = false
    const api = await stageApi(500, async () => {
      if (logged) return
      logged = true
      const group = '/aws/lambda/fixture-api-pr-7-api'
      await logs
        .send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 'b' }))
        .catch(() => undefined)
      await logs.send(
        new PutLogEventsCommand({
          logGroupName: group,
          logStreamName: 'b',
          logEvents: [
            { timestamp: Date.now(), message: 'Traceback (most recent call last):' },
            {
              timestamp: Date.now() + 1,
              message: "ModuleNotFoundError: No module named 'pydantic_core._pydantic_core'"
            }
          ]
        })
      )
    })
    let second: ActionRun
    try {
      second = await action({
        'smoke-test-url': api.url,
        'smoke-test-timeout': '4',
        'comment-on-pr': 'true',
        'github-token': TOKEN
      })
    } finally {
      await api.close()
      logs.destroy()
    }
    expect(second.exitCode).toBe(1)
    const [error] = errorLines(second)
    expect(errorLines(second)).toHaveLength(1)
    expect(error).toMatch(
      /^::error title=Smoke test failed and the stage was rolled back::The smoke test failed: GET http:\/\/127\.0\.0\.1:\d+\/health answered HTTP 500/
    )
    expect(error).toContain('Internal Server Error')
    expect(error).toContain("ModuleNotFoundError: No module named 'pydantic_core._pydantic_core'")
    expect(error).toMatch(/Rollback: rolled back to the deployment of \d{4}-\d\d-\d\dT/)
    expect(second.outputs).toMatchObject({ 'rolled-back': 'true', 'smoke-test-status': '500' })
    expect(second.stdout).toContain(`rollback --timestamp ${firstDeployment}`)
    // The stage serves A again: the stack's template points at A's artifact.
    expect((await live())?.timestamp).toBe(firstDeployment)
    expect(second.summary).toContain('Function logs')
    const comments = ours()
    expect(comments).toHaveLength(1)
    expect(comments[0].body).toContain('❌ Preview of <code>fixture\\-api</code> failed')
  })

  it('removes the preview and edits the same comment to say so', async () => {
    const removed = await action({ command: 'remove', 'comment-on-pr': 'true', 'github-token': TOKEN })
    expect(removed.exitCode).toBe(0)
    const comments = ours()
    expect(comments).toHaveLength(1)
    expect(comments[0].body).toContain('🗑️ Preview of <code>fixture\\-api</code> removed')
    expect(removed.outputs['comment-url']).toBe(first.outputs['comment-url'])
  })

  it('a first deploy whose smoke test fails has nothing to roll back to, and says so', async () => {
    const api = await stageApi(503)
    let run: ActionRun
    try {
      run = await action({ stage: 'first', 'smoke-test-url': api.url, 'smoke-test-timeout': '2' })
    } finally {
      await api.close()
    }
    expect(run.exitCode).toBe(1)
    expect(errorLines(run)).toEqual([
      expect.stringMatching(
        /^::error title=Smoke test failed::.+Rollback: nothing to roll back to: this was the first deploy of stage first\./
      )
    ])
    expect(run.outputs['rolled-back']).toBe('false')
  })

  it('a token without pull-requests: write gives one warning, never a failed deploy', async () => {
    const readOnly = await startGitHubApi({ token: TOKEN, readOnly: true })
    try {
      const run = await action(
        { stage: 'first', command: 'remove', 'comment-on-pr': 'true', 'github-token': TOKEN },
        { GITHUB_API_URL: readOnly.url }
      )
      expect(run.exitCode).toBe(0)
      const warnings = run.stdout.split('\n').filter(line => line.startsWith('::warning'))
      expect(warnings).toEqual([
        expect.stringMatching(
          /^::warning title=No pull request comment::The pull request comment was not written \(HTTP 403/
        )
      ])
    } finally {
      await readOnly.stop()
    }
  })

  it('a service URL from the stack that is not one line of https: no url output, one warning, in no comment or summary', async () => {
    // The template's own output, as a pull request's serverless.yml can write it.
    appendFileSync(
      path.join(service, 'serverless.yml'),
      '\nresources:\n  Outputs:\n    HttpApiUrl:\n      Value: "https://x.example/\\n[Log in](https://evil.example) @octo-org/admins"\n'
    )
    const run = await action({
      stage: 'first',
      'smoke-test-path': '',
      'comment-on-pr': 'true',
      'github-token': TOKEN
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.url ?? '').toBe('')
    expect(run.stdout.split('\n').filter(line => line.startsWith('::warning'))).toEqual([
      expect.stringMatching(
        /^::warning title=Service URL refused::Stack fixture-api-first reports the service URL /
      )
    ])
    const comments = ours()
    const first = comments.filter(comment => comment.body.includes(marker('fixture-api', 'first')))
    expect(first).toHaveLength(1)
    expect(first[0].body).toContain('🚀 Preview of <code>fixture\\-api</code> deployed')
    for (const text of [...comments.map(comment => comment.body), run.summary])
      expect(text).not.toMatch(/evil\.example|@octo-org\/admins/)
  })
})
