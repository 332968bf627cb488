import { jest } from '@jest/globals'
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DescribeStackResourcesCommand
} from '@aws-sdk/client-cloudformation'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { copyFixture } from '../support/fixture.js'
import { startGitHubApi, type GitHubApi } from '../support/github-api.js'
import { findStack, holdings, MOTO_KEYS, startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import { errorLines, NODE24, parseError, runAction, type ActionRun } from '../support/runner.js'

jest.setTimeout(600_000)

/**
 * command: plan through dist/index.js against moto, with real serverless 3.x: what a deploy would
 * change, from a change set that is never executed. moto reports a change set's changes coarsely (an
 * Add, Modify or Remove per logical ID); the rendering of real responses (replacements, property
 * values, pages) is tested on recorded ones in __tests__/unit/plan.
 */

const REGION = 'us-east-1'
const STAGE = 'test'
const STACK = `fixture-api-${STAGE}`
const TOKEN = 'ghs_plan_token'

let moto: Moto
let github: GitHubApi
let service: string
let home: string | undefined
const scratch = mkdtempSync(path.join(os.tmpdir(), 'plan-'))
const eventPath = path.join(scratch, 'event.json')
const yml = () => path.join(service, 'serverless.yml')
let original: string

async function action(inputs: Record<string, string>): Promise<ActionRun> {
  const run = await runAction({
    inputs: {
      'working-directory': service,
      stage: STAGE,
      'aws-region': REGION,
      'smoke-test-path': '',
      ...inputs
    },
    env: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: moto.endpoint,
      ...pipEnv(),
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_API_URL: github.url,
      'INPUT_GITHUB-TOKEN': TOKEN
    },
    node: NODE24,
    home
  })
  home = run.home
  if (run.exitCode !== 0 && !inputs.protect) console.log(run.stdout.slice(-4000))
  return run
}

const readPlan = (run: ActionRun) =>
  JSON.parse(readFileSync(run.outputs.plan, 'utf8')) as {
    counts: Record<string, number>
    destructive: boolean
    resources: { logicalId: string; type: string; action: string; risk?: string; destructive: boolean }[]
    functions: {
      name: string
      code: string
      config: { property: string; before?: string; after?: string }[]
    }[]
  }

/** The stack's resources, as moto holds them. */
async function resources(): Promise<string[]> {
  const cfn = new CloudFormationClient({ region: REGION, endpoint: moto.endpoint, credentials: MOTO_KEYS })
  try {
    const found = await cfn.send(new DescribeStackResourcesCommand({ StackName: STACK }))
    return (found.StackResources ?? []).map(r => r.LogicalResourceId ?? '').sort()
  } finally {
    cfn.destroy()
  }
}

const TABLE = `resources:\n  Resources:\n    UsersTable:\n      Type: AWS::DynamoDB::Table\n      Properties:\n        BillingMode: PAY_PER_REQUEST\n        AttributeDefinitions:\n          - AttributeName: id\n            AttributeType: S\n        KeySchema:\n          - AttributeName: id\n            KeyType: HASH\n`

beforeAll(async () => {
  moto = await startMoto()
  github = await startGitHubApi({ token: TOKEN })
  service = copyFixture('service')
  original = readFileSync(yml(), 'utf8')
  writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 12, head: { sha: 'abc1234def' } } }))
})

afterAll(async () => {
  await moto?.stop()
  await github?.stop()
  rmSync(scratch, { recursive: true, force: true })
})

describe('command: plan against moto', () => {
  it('lists what a stage that was never deployed would create, and leaves no stack and no change set', async () => {
    const run = await action({ command: 'plan', 'comment-on-pr': 'true' })
    expect(run.exitCode).toBe(0)
    const plan = readPlan(run)
    expect(plan.counts.add).toBeGreaterThan(3)
    expect(plan.counts.remove).toBe(0)
    expect(Number(run.outputs.changes)).toBe(plan.counts.add)
    expect(run.outputs.destructive).toBe('false')
    expect(plan.resources.map(r => r.logicalId)).toEqual(
      expect.arrayContaining(['ServerlessDeploymentBucket', 'ApiLambdaFunction', 'HttpApi'])
    )
    // A CREATE change set leaves a REVIEW_IN_PROGRESS stack: it was deleted, with the change set.
    expect((await holdings(moto, [REGION])).stacks).toEqual([])
    expect(run.summary).toContain(`### Plan: <code>fixture\\-api</code>`)
    const comments = github.comments('octo-org', 'fastapi-service', 12)
    expect(comments).toHaveLength(1)
    expect(comments[0].body).toContain('### 📋 What a deploy would change in <code>fixture\\-api</code>')
  })

  it('after a deploy, sees the handler’s new code and memory, and updates its comment in place', async () => {
    // A plan of the new stage that was cut short leaves its REVIEW_IN_PROGRESS stack: the deploy clears it.
    const cfn = new CloudFormationClient({ region: REGION, endpoint: moto.endpoint, credentials: MOTO_KEYS })
    try {
      await cfn.send(
        new CreateChangeSetCommand({
          StackName: STACK,
          ChangeSetName: `${STACK}-plan-cut-short`,
          ChangeSetType: 'CREATE',
          TemplateBody: JSON.stringify({
            Resources: { Nothing: { Type: 'AWS::CloudFormation::WaitConditionHandle' } }
          })
        })
      )
    } finally {
      cfn.destroy()
    }
    expect(await findStack(moto, STACK, REGION)).toMatchObject({ StackStatus: 'REVIEW_IN_PROGRESS' })
    const deployed = await action({ command: 'deploy' })
    expect(deployed.exitCode).toBe(0)
    expect(deployed.stdout.split('\n').filter(line => line.includes('REVIEW_IN_PROGRESS'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::notice::Stack ${STACK} is REVIEW_IN_PROGRESS: a change set for its first deploy was created and never executed .* Deleting it before deploying\\.$`
        )
      )
    ])
    // Serverless creates the stack with its bucket, then updates it with the service
    expect(await findStack(moto, STACK, REGION)).toMatchObject({ StackStatus: 'UPDATE_COMPLETE' })
    expect(await resources()).toEqual(expect.arrayContaining(['ApiLambdaFunction', 'IamRoleLambdaExecution']))
    writeFileSync(
      path.join(service, 'handler.py'),
      `${readFileSync(path.join(service, 'handler.py'), 'utf8')}\n# changed\n`
    )
    writeFileSync(
      yml(),
      original.replace('  deploymentMethod: direct', '  deploymentMethod: direct\n  memorySize: 512')
    )
    const run = await action({ command: 'plan', 'comment-on-pr': 'true' })
    expect(run.exitCode).toBe(0)
    const plan = readPlan(run)
    const api = plan.functions.find(fn => fn.name === `fixture-api-${STAGE}-api`)
    expect(api?.code).toBe('changed')
    expect(api?.config).toEqual(
      expect.arrayContaining([expect.objectContaining({ property: 'memorySize', after: '512' })])
    )
    expect(plan.resources.find(r => r.logicalId === 'ApiLambdaFunction')?.action).toBe('modify')
    const comments = github.comments('octo-org', 'fastapi-service', 12)
    expect(comments).toHaveLength(1)
    expect(comments[0].body).toContain('changed')
  })

  it('sees a new DynamoDB table as an add, and its removal as data loss', async () => {
    writeFileSync(yml(), `${original}\n${TABLE}`)
    const adding = await action({ command: 'plan' })
    expect(adding.exitCode).toBe(0)
    expect(readPlan(adding).resources.find(r => r.logicalId === 'UsersTable')).toMatchObject({
      action: 'add',
      type: 'AWS::DynamoDB::Table'
    })
    expect((await action({ command: 'deploy' })).exitCode).toBe(0)
    expect(await resources()).toContain('UsersTable')
    writeFileSync(yml(), original)
    const removing = await action({ command: 'plan' })
    expect(removing.exitCode).toBe(0)
    expect(removing.outputs.destructive).toBe('true')
    expect(readPlan(removing).resources.find(r => r.logicalId === 'UsersTable')).toMatchObject({
      action: 'remove',
      risk: 'data loss',
      destructive: true
    })
  })

  it('with protect: stateful, stops the deploy that would remove the table, and the stack keeps it', async () => {
    const before = await resources()
    const run = await action({ command: 'deploy', protect: 'stateful' })
    expect(run.exitCode).toBe(1)
    const errors = errorLines(run).map(parseError)
    expect(errors).toHaveLength(1)
    expect(errors[0].properties.title).toBe('Plan replaces or removes a protected resource')
    expect(errors[0].message).toMatch(
      /^The deploy would remove UsersTable \(AWS::DynamoDB::Table; protected by stateful\)\. Nothing was deployed\./
    )
    expect(run.stdout).not.toContain('deploy --package')
    expect(await resources()).toEqual(before)
    expect((await findStack(moto, STACK, REGION))?.StackStatus).toMatch(/COMPLETE$/)
  })

  it('with protect: stateful, fails the plan, so a required check blocks the merge', async () => {
    const run = await action({ command: 'plan', protect: 'stateful' })
    expect(run.exitCode).toBe(1)
    expect(run.outputs.destructive).toBe('true')
    expect(errorLines(run)).toHaveLength(1)
  })
})
