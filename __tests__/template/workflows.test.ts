// The template's workflows (deploy.yml, preview.yml): who gets which permission, when they deploy or remove,
// how runs of one stage are serialised, what their shell steps do, and that the guide's bootstrap commands
// (docs/README.md) create exactly the deploy roles those jobs can assume, checked against the trust policies
// CloudFormation (moto) creates from iam/github-deploy-role.yml. actionlint.test.ts lints both files.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { startMoto, type Moto } from '../support/moto.js'
import { admitsToken } from '../iam/policy-evaluator.js'
import { createGitHubOidcProvider, createStack, templateText, type CreatedStack } from '../iam/stack.js'
import { TEMPLATE_DIR, applyTemplate, removeDir } from './helpers.js'

const ACTION = 'serverless-python-deploy/action@v1'

interface Step {
  id?: string
  name?: string
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, string | boolean>
}
interface Job {
  name?: string
  if?: string
  needs?: string | string[]
  'runs-on': string
  permissions?: Record<string, string>
  concurrency?: { group: string; 'cancel-in-progress': boolean }
  environment?: { name: string; url?: string }
  env?: Record<string, string>
  steps: Step[]
}
interface Workflow {
  on: Record<string, Record<string, unknown> | null>
  permissions?: Record<string, string>
  jobs: Record<string, Job>
}

const workflowText = (name: string): string =>
  readFileSync(join(TEMPLATE_DIR, '.github', 'workflows', name), 'utf8')
const workflow = (name: string): Workflow => parseYaml(workflowText(name)) as Workflow
const deploy = workflow('deploy.yml')
const preview = workflow('preview.yml')
const actionStep = (job: Job): Step | undefined => job.steps.find(s => s.uses === ACTION)

describe('both workflows', () => {
  const all = { 'deploy.yml': deploy, 'preview.yml': preview }

  it.each(Object.entries(all))('%s: only the job that runs the action may get an OIDC token', (_name, w) => {
    expect(w.permissions?.['id-token']).toBeUndefined()
    const withToken = Object.entries(w.jobs).filter(([, job]) => job.permissions?.['id-token'] === 'write')
    const withAction = Object.entries(w.jobs).filter(([, job]) => actionStep(job))
    expect(withToken.map(([id]) => id)).toEqual(withAction.map(([id]) => id))
    // deploy.yml deploys; preview.yml deploys the preview and plans prod.
    expect(withToken.map(([id]) => id)).toEqual(_name === 'deploy.yml' ? ['deploy'] : ['preview', 'plan'])
    // the tests never run with a token: no test job declares one, and none inherits one
    for (const [id, job] of Object.entries(w.jobs))
      if (job.steps.some(s => s.run?.includes('pytest')))
        expect([id, job.permissions?.['id-token']]).toEqual([id, undefined])
  })

  it.each(Object.entries(all))('%s: grants write access only where the action needs it', (_name, w) => {
    const writes = Object.entries(w.jobs).flatMap(([id, job]) =>
      Object.entries(job.permissions ?? {})
        .filter(([, level]) => level === 'write')
        .map(([scope]) => `${id}: ${scope}`)
    )
    const runners = Object.keys(w.jobs).filter(id => actionStep(w.jobs[id]))
    expect(writes.every(w => runners.some(id => w.startsWith(`${id}: `)))).toBe(true)
    for (const level of Object.values(w.permissions ?? {})) expect(level).toBe('read')
  })

  it.each(Object.entries(all))('%s: runs the tests before it deploys', (_name, w) => {
    const deployer = Object.values(w.jobs).find(job => actionStep(job)) as Job
    const needs = [deployer.needs ?? []].flat()
    expect(needs).toHaveLength(1)
    const test = w.jobs[needs[0]]
    expect(test.steps.map(s => s.run)).toEqual(
      expect.arrayContaining([
        'python -m pip install -r requirements.txt -r requirements-dev.txt',
        'python -m pytest'
      ])
    )
    // a deploy waits for tests that passed; only a removal runs with the tests skipped
    expect(deployer.if).toMatch(/needs\.test\.result == 'success'/)
    expect(deployer.if).toMatch(/needs\.test\.result == 'skipped' && [^)]*'(remove|closed)'/)
  })

  it('never uses pull_request_target', () => {
    for (const name of ['deploy.yml', 'preview.yml']) {
      expect(Object.keys(workflow(name).on)).not.toContain('pull_request_target')
      expect(workflowText(name)).not.toMatch(/^\s*pull_request_target\s*:/m)
    }
  })
})

describe('deploy.yml', () => {
  const job = deploy.jobs.deploy
  const step = actionStep(job) as Step

  it('deploys on push to main, and deploys or removes a chosen stage by hand', () => {
    expect(Object.keys(deploy.on)).toEqual(['push', 'workflow_dispatch'])
    expect(deploy.on.push).toEqual({ branches: ['main'] })
    const inputs = (deploy.on.workflow_dispatch as { inputs: Record<string, Record<string, unknown>> }).inputs
    expect(inputs.command).toMatchObject({ type: 'choice', options: ['deploy', 'remove'], default: 'deploy' })
    expect(inputs.stage).toMatchObject({ type: 'choice', default: 'dev' })
    expect(inputs.stage.options).toEqual(expect.arrayContaining(['dev', 'prod']))
  })

  it('reads the code and nothing else, except the deploy job, which may also get an OIDC token', () => {
    expect(deploy.permissions).toEqual({ contents: 'read' })
    expect(deploy.jobs.test.permissions).toBeUndefined()
    expect(job.permissions).toEqual({ 'id-token': 'write', contents: 'read' })
  })

  it('runs one deploy per stage at a time, never cancelling one in progress', () => {
    const stage = "${{ inputs.stage || 'dev' }}"
    expect(job.concurrency).toEqual({ group: `deploy-${stage}`, 'cancel-in-progress': false })
    expect(job.environment).toEqual({ name: stage, url: '${{ steps.deploy.outputs.url }}' })
    expect(step.id).toBe('deploy')
    expect(step.with).toMatchObject({
      command: "${{ inputs.command || 'deploy' }}",
      stage,
      'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}',
      'smoke-test-path': '/health'
    })
  })

  it('skips the tests only for a removal', () => {
    expect(deploy.jobs.test.if).toBe("${{ github.event_name == 'push' || inputs.command == 'deploy' }}")
  })
})

describe('preview.yml', () => {
  const job = preview.jobs.preview
  const step = actionStep(job) as Step
  const sameRepository = 'github.event.pull_request.head.repo.full_name == github.repository'

  it('runs on pull requests only, including when they close', () => {
    expect(preview.on).toEqual({ pull_request: { types: ['opened', 'synchronize', 'reopened', 'closed'] } })
  })

  it('grants nothing by default; the deploying job gets id-token, contents: read and pull-requests', () => {
    expect(preview.permissions).toEqual({})
    expect(preview.jobs.fork.permissions).toBeUndefined()
    expect(preview.jobs.test.permissions).toEqual({ contents: 'read' })
    expect(job.permissions).toEqual({ 'id-token': 'write', contents: 'read', 'pull-requests': 'write' })
  })

  it('skips forks in one job that says so, and runs the others only for branches of the repository', () => {
    expect(preview.jobs.fork.if).toBe(
      '${{ github.event.pull_request.head.repo.full_name != github.repository }}'
    )
    expect(preview.jobs.test.if?.replace(/\s+/g, ' ')).toContain(sameRepository)
    expect(job.if?.replace(/\s+/g, ' ')).toContain(sameRepository)
    expect(preview.jobs.test.if).toContain("github.event.action != 'closed'")
  })

  it('deploys stage pr-<number> in environment preview, with the pull request comment', () => {
    expect(job.environment).toEqual({ name: 'preview', url: '${{ steps.preview.outputs.url }}' })
    expect(step.id).toBe('preview')
    expect(step.with).toEqual({
      command: '${{ steps.command.outputs.command }}',
      stage: 'pr-${{ github.event.pull_request.number }}',
      'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}',
      'comment-on-pr': true,
      'smoke-test-path': '/health'
    })
    // the previews share the prefix-mode boundary (Stage=pr-* gives pr-_), which serverless.yml reads
    expect(job.env).toEqual({ PERMISSIONS_BOUNDARY_STAGE: 'pr-_' })
  })

  it('serialises the runs of a pull request without cancelling a deploy or removal in progress', () => {
    expect(job.concurrency).toEqual({
      group: 'preview-${{ github.event.pull_request.number }}',
      'cancel-in-progress': false
    })
    // superseded tests may go: they change nothing
    expect(preview.jobs.test.concurrency).toEqual({
      group: 'preview-test-${{ github.event.pull_request.number }}',
      'cancel-in-progress': true
    })
  })

  describe('its shell steps, run with bash as GitHub runs them', () => {
    let dir: string
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'preview-steps-'))
    })
    afterAll(() => removeDir(dir))

    /** Runs a step's script like GitHub's `bash --noprofile --norc -eo pipefail {0}`, with a fake gh. */
    function runStep(script: string, env: Record<string, string>, ghState?: string) {
      const bin = join(dir, 'bin')
      spawnSync('mkdir', ['-p', bin])
      const gh = join(bin, 'gh')
      // the fake answers `gh api repos/OWNER/REPO/pulls/N --jq .state` and records how it was called
      writeFileSync(gh, `#!/bin/sh\necho "$*" >> '${join(dir, 'gh-calls')}'\necho '${ghState ?? ''}'\n`)
      chmodSync(gh, 0o755)
      const file = join(dir, 'step.sh')
      writeFileSync(file, script)
      const output = join(dir, 'output')
      const summary = join(dir, 'summary')
      writeFileSync(output, '')
      writeFileSync(summary, '')
      writeFileSync(join(dir, 'gh-calls'), '')
      const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
        encoding: 'utf8',
        env: {
          PATH: `${bin}${delimiter}${process.env.PATH}`,
          GITHUB_OUTPUT: output,
          GITHUB_STEP_SUMMARY: summary,
          GITHUB_REPOSITORY: 'octo-org/octo-app',
          ...env
        }
      })
      return {
        status: result.status,
        stdout: result.stdout,
        output: readFileSync(output, 'utf8'),
        summary: readFileSync(summary, 'utf8'),
        gh: readFileSync(join(dir, 'gh-calls'), 'utf8')
      }
    }

    const commandStep = job.steps.find(s => s.id === 'command') as Step

    it.each([
      ['open', 'deploy'],
      ['closed', 'remove']
    ])('a pull request that is %s when the run starts gets %s', (state, command) => {
      expect(commandStep.env).toEqual({
        GH_TOKEN: '${{ github.token }}',
        PULL_REQUEST: '${{ github.event.pull_request.number }}'
      })
      const result = runStep(commandStep.run as string, { GH_TOKEN: 'token', PULL_REQUEST: '12' }, state)
      expect(result.status).toBe(0)
      expect(result.output).toBe(`command=${command}\n`)
      expect(result.gh).toBe('api repos/octo-org/octo-app/pulls/12 --jq .state\n')
    })

    it('a failed look-up of the pull request fails the step instead of guessing', () => {
      const result = runStep(
        (commandStep.run as string).replace('gh api', 'false && gh api'),
        { GH_TOKEN: 'token', PULL_REQUEST: '12' },
        'open'
      )
      expect(result.status).not.toBe(0)
      expect(result.output).toBe('')
    })

    it('the fork job leaves a notice and a summary line instead of failing', () => {
      const [say] = preview.jobs.fork.steps
      expect(say.env).toEqual({ HEAD_REPOSITORY: '${{ github.event.pull_request.head.repo.full_name }}' })
      const result = runStep(say.run as string, { HEAD_REPOSITORY: 'forker/octo-app' })
      expect(result.status).toBe(0)
      expect(result.stdout).toMatch(
        /^::notice title=No preview for a fork::This pull request comes from forker\/octo-app\. .*no OIDC token/m
      )
      expect(result.summary).toMatch(/^### No preview: .*forker\/octo-app/)
      // a fork deleted since: GitHub sends no head repository
      expect(runStep(say.run as string, { HEAD_REPOSITORY: '' }).stdout).toContain(
        'comes from a deleted fork'
      )
    })
  })
})

// ---------------------------------------------------------------------------------------------------
// The guide's bootstrap commands and the workflows' jobs agree (issue 8)

interface Command {
  stackName: string
  region: string
  overrides: Record<string, string>
}

/** Every `aws cloudformation deploy` command of a Markdown text, with its --parameter-overrides. */
function deployCommands(text: string): Command[] {
  const commands: Command[] = []
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    if (!line.startsWith('aws cloudformation deploy')) return
    const joined: string[] = []
    for (let j = i; j < lines.length; j++) {
      joined.push(lines[j].replace(/\\$/, ''))
      if (!lines[j].endsWith('\\')) break
    }
    // the shell's quoting: 'Stage=pr-*' keeps the * from the shell
    const words = joined
      .join(' ')
      .split(/\s+/)
      .filter(Boolean)
      .map(w => w.replace(/^'(.*)'$/, '$1'))
    const option = (name: string) => words[words.indexOf(name) + 1]
    const overrides = Object.fromEntries(
      words
        .slice(words.indexOf('--parameter-overrides') + 1)
        .filter(w => w.includes('='))
        .map(w => w.split('=', 2) as [string, string])
    )
    commands.push({ stackName: option('--stack-name'), region: option('--region'), overrides })
  })
  return commands
}

describe("docs/README.md's bootstrap commands create the roles the workflows' jobs assume", () => {
  const project = mkdtempSync(join(tmpdir(), 'template-guide-'))
  const options = applyTemplate(project)
  const guide = readFileSync(join(project, 'docs', 'README.md'), 'utf8')
  const serverless = parseYaml(readFileSync(join(project, 'serverless.yml'), 'utf8')) as {
    service: string
    provider: { region: string }
  }
  const commands = deployCommands(guide)
  const byEnvironment = Object.fromEntries(commands.map(c => [c.overrides.GitHubEnvironment, c]))
  const bootstrap = parseYaml(templateText) as { Parameters: Record<string, { AllowedPattern?: string }> }

  const stages = (deploy.on.workflow_dispatch as { inputs: { stage: { options: string[] } } }).inputs.stage
    .options
  /** Each deploying job, as [what, the environment it declares, the stage it deploys]. */
  const jobs: [string, string, string][] = [
    ...stages.map((stage): [string, string, string] => [`deploy.yml (${stage})`, stage, stage]),
    ['preview.yml (pull request 12)', 'preview', 'pr-12']
  ]

  afterAll(() => removeDir(project))

  it('gives one command per environment a job declares, for this service and region', () => {
    expect(options.serviceName).toBe(serverless.service)
    expect(Object.keys(byEnvironment).sort()).toEqual([...new Set(jobs.map(([, env]) => env))].sort())
    expect(new Set(commands.map(c => c.stackName)).size).toBe(commands.length)
    for (const command of commands) {
      expect(command.region).toBe(serverless.provider.region)
      expect(command.overrides).toMatchObject({
        GitHubRepository: 'OWNER/REPO',
        GitHubOwnerId: 'OWNER_ID',
        GitHubRepositoryId: 'REPO_ID',
        ServiceName: serverless.service
      })
      expect(command.overrides.GitHubBranch).toBeUndefined()
      // every value fits its parameter (the IDs once OWNER_ID and REPO_ID are replaced)
      for (const [key, value] of Object.entries({
        ...command.overrides,
        GitHubOwnerId: '1',
        GitHubRepositoryId: '2'
      })) {
        const pattern = bootstrap.Parameters[key]?.AllowedPattern
        expect([key, bootstrap.Parameters[key] !== undefined]).toEqual([key, true])
        if (pattern) expect([key, value, new RegExp(pattern).test(value)]).toEqual([key, value, true])
      }
    }
    // the account's one GitHub OIDC provider: the first command creates it, the others reuse it
    expect(commands.map(c => c.overrides.CreateOidcProvider)).toEqual([
      undefined,
      ...commands.slice(1).map(() => 'false')
    ])
  })

  it.each(jobs)(
    "%s: its stage is inside the Stage of its environment's command",
    (_what, environment, stage) => {
      const pattern = byEnvironment[environment].overrides.Stage
      const inside = pattern.endsWith('-*') ? stage.startsWith(pattern.slice(0, -1)) : stage === pattern
      expect([pattern, stage, inside]).toEqual([pattern, stage, true])
    }
  )

  it('preview.yml names the boundary the prefix-mode command creates (its * as _)', () => {
    const prefix = byEnvironment.preview.overrides.Stage
    expect(prefix).toBe('pr-*')
    expect(preview.jobs.preview.env?.PERMISSIONS_BOUNDARY_STAGE).toBe(prefix.replace('*', '_'))
    expect((actionStep(preview.jobs.preview) as Step).with?.stage).toBe(
      `${prefix.slice(0, -1)}\${{ github.event.pull_request.number }}`
    )
  })

  describe('created in moto, each role admits its own job and no other', () => {
    let moto: Moto | undefined
    const stacks: Record<string, CreatedStack> = {}
    const OWNER = 'octo-org'
    const REPO = 'octo-app'
    const OWNER_ID = '1001'
    const REPO_ID = '2002'

    beforeAll(async () => {
      moto = await startMoto()
      await createGitHubOidcProvider(moto)
      for (const command of commands) {
        const parameters = {
          ...command.overrides,
          GitHubRepository: `${OWNER}/${REPO}`,
          GitHubOwnerId: OWNER_ID,
          GitHubRepositoryId: REPO_ID,
          CreateOidcProvider: 'false'
        }
        stacks[command.overrides.GitHubEnvironment] = await createStack(moto, command.stackName, parameters)
      }
    }, 120_000)

    afterAll(async () => {
      await moto?.stop()
    })

    it.each(jobs)('%s', (_what, environment) => {
      const admitted = (stack: CreatedStack, context: string) =>
        [`repo:${OWNER}/${REPO}:${context}`, `repo:${OWNER}@${OWNER_ID}/${REPO}@${REPO_ID}:${context}`].map(
          sub =>
            admitsToken(stack.trust, stack.roleArn, { sub, aud: 'sts.amazonaws.com', repository_id: REPO_ID })
        )
      for (const [env, stack] of Object.entries(stacks)) {
        const expected = env === environment ? 'Allowed' : 'ImplicitlyDenied'
        expect([env, admitted(stack, `environment:${environment}`)]).toEqual([env, [expected, expected]])
      }
      // a job without its environment (a pull request's own token) gets no role at all
      for (const [env, stack] of Object.entries(stacks))
        expect([env, admitted(stack, 'pull_request')]).toEqual([
          env,
          ['ImplicitlyDenied', 'ImplicitlyDenied']
        ])
    })

    it("the previews' boundary is the one preview.yml names", () => {
      const { service, provider } = serverless
      expect(stacks.preview.boundaryArn).toMatch(
        new RegExp(
          `:policy/${service}-${preview.jobs.preview.env?.PERMISSIONS_BOUNDARY_STAGE}-${provider.region}-lambda-boundary$`
        )
      )
      expect(stacks.dev.boundaryArn).toMatch(
        new RegExp(`:policy/${service}-dev-${provider.region}-lambda-boundary$`)
      )
    })
  })
})
