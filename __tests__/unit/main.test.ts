import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { run as runAction } from '../../src/main.js'
import { fakeEdges, type FakeOptions } from '../support/fake-edges.js'
import { fakeService, type FakeService, type ServiceOptions } from '../support/fake-service.js'

/**
 * What each command does, step by step: run() with its real steps, in process, against a service and
 * tools the test plays (support/fake-service.ts). Each case reads as the command's specification:
 * the phases in order, what ran and what AWS was asked, in that order, and what the runner was told.
 * The same behaviours are proved through dist/index.js against moto in __tests__/e2e.
 */

const services: FakeService[] = []
afterAll(() => services.forEach(service => service.remove()))

function setup(
  inputs: Record<string, string>,
  service: ServiceOptions = {},
  { env: extraEnv, ...extra }: Partial<FakeOptions> = {}
) {
  const svc = fakeService(service)
  services.push(svc)
  const env = {
    ...svc.env,
    ...extraEnv,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  }
  const fake = fakeEdges({ env, workspace: svc.workspace, processes: svc.processes, aws: svc.aws, ...extra })
  return { svc, ...fake, run: () => runAction(fake.edges) }
}

const phases = (report: { phases: { name: string }[] }) => report.phases.map(phase => phase.name)
/** What ran and what AWS was asked, without the Python probes that only find an interpreter. */
const actions = (sequence: string[]) => sequence.filter(line => !/ -c …$/.test(line))

describe('command: deploy', () => {
  it('checks the account, installs, packages with the Lambda platform, adds bytecode, deploys that package and reads the URL', async () => {
    const { run, recorded, svc } = setup({ command: 'deploy', stage: 'prod', 'smoke-test-path': '' })
    const report = await run()
    expect(recorded.annotations.filter(a => a.level === 'error')).toEqual([])
    expect(phases(report)).toEqual([
      'inputs',
      'credentials',
      'node dependencies',
      // Every value packaging needs is written out literally: Serverless is not asked before it packages.
      'resolve service',
      'python',
      'serverless package',
      'artifact',
      'verify',
      // Without protect, the plan step does nothing: a deploy costs no extra time.
      'plan',
      'stack state',
      'serverless deploy',
      'stack outputs',
      'smoke test',
      'rollback',
      'pull request comment'
    ])
    expect(actions(recorded.sequence)).toEqual([
      'aws sts:GetCallerIdentity eu-west-1',
      'restore node-modules',
      'run npm ci --ignore-scripts --no-audit --no-fund',
      'restore python',
      'run serverless package --stage prod',
      'run python3.11 bytecode.py',
      // unpacked beside the static check; the runner's own architecture needs no probe
      'run python3.11 unpack.py',
      'run python3.11 verify_artifact.py',
      'run python3.11 lambda_check.py',
      'aws cloudformation:DescribeStacks eu-west-1',
      'run serverless deploy --package .serverless --stage prod',
      'aws cloudformation:DescribeStacks eu-west-1'
    ])
    expect(svc.stacks.get('eu-west-1/api-prod')?.status).toBe('CREATE_COMPLETE')
    expect(recorded.outputs).toMatchObject({
      service: 'api',
      stage: 'prod',
      region: 'eu-west-1',
      'stack-name': 'api-prod',
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      'aws-account-id': '123456789012',
      'python-version': '3.11.7',
      'serverless-version': '3.40.0'
    })
    expect(recorded.summary).toContain('✅ serverless deploy')
    expect(recorded.exitCode).toBe(0)
  })

  it('gives pip its Lambda target and the action’s Python first on PATH, and no runner token to any child', async () => {
    const { run, recorded } = setup({ command: 'deploy', 'smoke-test-path': '' }, { yml: undefined })
    await run()
    const pack = recorded.processes.find(p => p.args.includes('package'))
    expect(pack?.env).toMatchObject({
      SPD_PIP_PYTHON_VERSION: '3.11',
      SPD_PIP_LABEL: 'manylinux2014_x86_64',
      // pip compiles nothing: the artifact step compiles every module once, for the runtime's Python.
      SPD_PIP_NO_COMPILE: '1',
      // The plugin's layer link is awaited (preload/layer-link.cjs).
      NODE_OPTIONS: expect.stringContaining('layer-link.cjs'),
      AWS_ACCESS_KEY_ID: 'AKIATEST'
    })
    expect(pack?.env.PATH.split(':').slice(0, 2)).toEqual([
      expect.stringMatching(/serverless-python-deploy\/bin$/),
      expect.stringMatching(/serverless-python-deploy\/node-bin$/)
    ])
    for (const process of recorded.processes)
      expect(Object.keys(process.env).filter(key => /^(INPUT_|ACTIONS_)|GITHUB_TOKEN/.test(key))).toEqual([])
    const npm = recorded.processes.find(p => p.tool === 'npm')
    expect(Object.keys(npm?.env ?? {}).filter(key => key.startsWith('AWS_'))).toEqual([])
  })

  it('stops at the package step when serverless package fails, and deploys nothing', async () => {
    const { run, recorded, svc } = setup({ command: 'deploy' })
    svc.fail(
      'package',
      'Error:\nCannot resolve variable at "provider.environment.URL": Value not found at "env" source\n'
    )
    const report = await run()
    expect(phases(report).slice(-2)).toEqual(['serverless package', 'pull request comment'])
    expect(recorded.annotations.filter(a => a.level === 'error')).toHaveLength(1)
    expect(recorded.sequence.some(line => line.includes('deploy --package'))).toBe(false)
    expect(svc.stacks.size).toBe(0)
    expect(recorded.exitCode).toBe(1)
    // A failed run hands no cache to the post step.
    expect(recorded.state).toEqual({})
  })

  it('verifies the artifact it will upload, gives its sha256, and keeps it in .serverless after the deploy', async () => {
    const { run, recorded, svc } = setup(
      { command: 'deploy', 'smoke-test-path': '/health' },
      {},
      {
        env: { AWS_ENDPOINT_URL: 'http://localhost:5000' }
      }
    )
    await run()
    const check = recorded.processes.find(p => p.args.some(arg => arg.endsWith('lambda_check.py')))
    expect(check?.env).not.toHaveProperty('AWS_ACCESS_KEY_ID')
    const zip = path.join(svc.dir, '.serverless', 'api.zip')
    expect(existsSync(zip)).toBe(true)
    expect(recorded.outputs['artifact-sha256']).toBe(
      createHash('sha256').update(readFileSync(zip)).digest('hex')
    )
    expect(recorded.log).toContain(
      'Artifact verified: static: 1 zip, 1 packages, 0 problems (0.01 s); dynamic: api imported in 0.25 s, GET /health → 200 (httpApi); 0.0 s in all'
    )
    expect(recorded.summary).toContain('<td>fastapi</td><td>0.115.0</td><td>py3-none-any</td>')
  })

  it('refuses an artifact the static check finds wrong, before anything changes in AWS', async () => {
    const { run, recorded, svc } = setup({ command: 'deploy' })
    svc.fail(
      'verify_artifact',
      JSON.stringify({
        problems: [
          {
            kind: 'architecture',
            function: 'api-dev-api',
            zip: 'api.zip',
            file: 'pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so',
            package: 'pydantic-core',
            version: '2.27.2',
            found: 'pydantic-core 2.27.2 ships x86_64 code',
            needed: 'arm64 (aarch64) code',
            fix: 'Pin a version with a manylinux aarch64 wheel, or set provider.architecture: x86_64.'
          }
        ],
        notes: [],
        packages: [],
        zips: [],
        seconds: 0.02
      })
    )
    const report = await run()
    expect(phases(report).slice(-2)).toEqual(['verify', 'pull request comment'])
    expect(recorded.annotations.filter(a => a.level === 'error')).toEqual([
      {
        level: 'error',
        message:
          'The artifact would not run on Lambda (python3.11, x86_64); nothing was uploaded.\napi-dev-api: api.zip › pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so: pydantic-core 2.27.2 ships x86_64 code; Lambda needs arm64 (aarch64) code. Pin a version with a manylinux aarch64 wheel, or set provider.architecture: x86_64.',
        properties: { title: 'Artifact would not run on Lambda' }
      }
    ])
    expect(recorded.aws.filter(call => call.service === 'cloudformation')).toEqual([])
    expect(svc.stacks.size).toBe(0)
  })

  it('refuses a function whose handler fails when imported, with its traceback and the fix', async () => {
    const { run, recorded, svc } = setup({ command: 'deploy' })
    svc.fail(
      'lambda_check',
      JSON.stringify({
        passed: false,
        functions: [
          {
            key: 'api',
            name: 'api-dev-api',
            passed: false,
            imported: false,
            invocations: [],
            error: {
              kind: 'import',
              message: "ModuleNotFoundError: No module named 'requests'",
              traceback: ['main.py:3 in <module>: import requests'],
              fix: 'Add requests to requirements.txt.'
            }
          }
        ]
      })
    )
    await run()
    const errors = recorded.annotations.filter(a => a.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].message).toBe(
      "api-dev-api fails before it is deployed: the check imported its handler as Lambda would, with no credentials and no network; nothing was uploaded.\napi-dev-api (api): ModuleNotFoundError: No module named 'requests'\nTraceback (last frames):\n  main.py:3 in <module>: import requests\nFix: Add requests to requirements.txt."
    )
    expect(svc.stacks.size).toBe(0)
  })

  it('names the dependency whose unapproved install script a failure comes from, and how to approve it', async () => {
    const { run, recorded, svc } = setup(
      { command: 'package' },
      {
        installs: {
          'node_modules/native-zip': {
            name: 'native-zip',
            version: '1.0.0',
            scripts: { install: 'node-gyp rebuild' }
          }
        }
      }
    )
    svc.fail(
      'package',
      "Error:\nError: Cannot find module '/svc/node_modules/native-zip/build/Release/zip.node'\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1145:15)\n"
    )
    await run()
    expect(recorded.annotations.map(a => [a.level, a.properties?.title])).toEqual([
      ['notice', 'Install scripts not run'],
      ['error', 'Install script not approved']
    ])
    expect(recorded.annotations[1].message).toMatch(
      /^serverless package failed in native-zip, whose install script was not run: .+npm approve-scripts native-zip/
    )
  })

  it('checks statically only with verify: static, and not at all with verify: off', async () => {
    const only = setup({ command: 'package', verify: 'static' })
    await only.run()
    expect(only.recorded.sequence.filter(line => /verify_artifact|lambda_check|unpack/.test(line))).toEqual([
      'run python3.11 verify_artifact.py'
    ])
    const off = setup({ command: 'package', verify: 'off' })
    const report = await off.run()
    expect(off.recorded.sequence.filter(line => /verify_artifact|lambda_check|unpack/.test(line))).toEqual([])
    expect(report.verification).toBe('off (verify: off)')
    expect(off.recorded.outputs['artifact-sha256']).toMatch(/^[0-9a-f]{64}$/)
  })

  it('deletes an empty stack a plan cut short left in REVIEW_IN_PROGRESS, with a notice, then deploys', async () => {
    const { run, recorded, svc } = setup({ command: 'deploy', stage: 'prod', 'smoke-test-path': '' })
    svc.stacks.set('eu-west-1/api-prod', {
      status: 'REVIEW_IN_PROGRESS',
      outputs: {},
      template: {},
      deployments: []
    })
    await run()
    expect(recorded.annotations).toEqual([
      {
        level: 'notice',
        message:
          'Stack api-prod is REVIEW_IN_PROGRESS: a change set for its first deploy was created and never executed (a plan cut short, or one made by hand), so it holds nothing and CloudFormation cannot update it. Deleting it before deploying.'
      }
    ])
    const deploying = actions(recorded.sequence).slice(-4)
    expect(deploying).toEqual([
      'aws cloudformation:DeleteStack eu-west-1',
      'aws cloudformation:DescribeStacks eu-west-1',
      'run serverless deploy --package .serverless --stage prod',
      'aws cloudformation:DescribeStacks eu-west-1'
    ])
    expect(svc.stacks.get('eu-west-1/api-prod')?.status).toBe('CREATE_COMPLETE')
    expect(recorded.exitCode).toBe(0)
  })

  it('skips the smoke test in a rehearsal against an emulator, and says so', async () => {
    const { run, recorded } = setup(
      { command: 'deploy' },
      {},
      { env: { AWS_ENDPOINT_URL: 'http://localhost:5000' } }
    )
    const report = await run()
    expect(recorded.annotations).toEqual([])
    expect(report.smoke).toBe(
      "not run: AWS_ENDPOINT_URL is set (a rehearsal: nothing serves the emulator's API, and the artifact check called the handler instead; set smoke-test-url to probe one)"
    )
    expect(recorded.log).toContain(`Smoke test ${report.smoke}.`)
    expect(recorded.exitCode).toBe(0)
  })
})

describe('command: package', () => {
  it('asks AWS nothing without role-to-assume or allowed-account-ids, and deploys nothing', async () => {
    const { run, recorded, svc } = setup({ command: 'package' })
    const report = await run()
    expect(phases(report)).toEqual([
      'inputs',
      'credentials',
      'node dependencies',
      // Every value packaging needs is written out literally: Serverless is not asked before it packages.
      'resolve service',
      'python',
      'serverless package',
      'artifact',
      'verify',
      'pull request comment'
    ])
    expect(recorded.aws).toEqual([])
    expect(actions(recorded.sequence)).toEqual([
      'restore node-modules',
      'run npm ci --ignore-scripts --no-audit --no-fund',
      'restore python',
      'run serverless package',
      'run python3.11 bytecode.py',
      // unpacked beside the static check; the runner's own architecture needs no probe
      'run python3.11 unpack.py',
      'run python3.11 verify_artifact.py',
      'run python3.11 lambda_check.py'
    ])
    expect(svc.stacks.size).toBe(0)
    expect(recorded.outputs['artifact-size']).toMatch(/^\d+$/)
    expect(recorded.outputs.url).toBeUndefined()
  })

  it('checks the account first when allowed-account-ids is given, and refuses another one before anything runs', async () => {
    const { run, recorded } = setup({ command: 'package', 'allowed-account-ids': '210987654321' })
    await run()
    expect(recorded.sequence).toEqual([
      'aws sts:GetCallerIdentity eu-west-1',
      expect.stringMatching(
        /^error: Input 'allowed-account-ids' is '210987654321', but the credentials .+ belong to account 123456789012/
      )
    ])
    expect(recorded.processes).toEqual([])
  })
})

describe('command: plan', () => {
  it('builds as deploy does, asks CloudFormation for a change set it never executes, and leaves nothing behind', async () => {
    const { run, recorded, svc } = setup({ command: 'plan', stage: 'prod', 'smoke-test-path': '' })
    const report = await run()
    expect(recorded.annotations.filter(a => a.level === 'error')).toEqual([])
    expect(phases(report)).toEqual([
      'inputs',
      'credentials',
      'node dependencies',
      'resolve service',
      'python',
      'serverless package',
      'artifact',
      'verify',
      'plan',
      'pull request comment'
    ])
    expect(
      recorded.sequence.filter(
        line => line.startsWith('aws cloudformation') || line.startsWith('run serverless')
      )
    ).toEqual([
      'run serverless package --stage prod',
      'aws cloudformation:DescribeStacks eu-west-1',
      'aws cloudformation:CreateChangeSet eu-west-1',
      'aws cloudformation:DescribeChangeSet eu-west-1',
      'aws cloudformation:DeleteChangeSet eu-west-1',
      'aws cloudformation:DeleteStack eu-west-1'
    ])
    // A stage that has no stack: a CREATE change set, tagged as the plan's, and its stack deleted again.
    const create = recorded.aws.find(call => call.command === 'CreateChangeSet')
    expect(create?.input).toMatchObject({
      ChangeSetType: 'CREATE',
      Tags: [{ Key: 'serverless-python-deploy:plan', Value: 'true' }],
      IncludePropertyValues: true
    })
    expect(svc.stacks.size).toBe(0)
    expect(recorded.outputs).toMatchObject({
      changes: '2',
      destructive: 'false',
      plan: expect.stringMatching(/plan-api-prod\.json$/)
    })
    const plan = JSON.parse(readFileSync(recorded.outputs.plan, 'utf8'))
    expect(plan.counts).toEqual({ add: 2, modify: 0, replace: 0, remove: 0 })
    expect(recorded.summary).toContain('**2 to add, 0 to modify, 0 to replace, 0 to remove**')
    expect(recorded.summary).toContain('| add | <code>ServerlessDeploymentBucket</code> |')
  })

  it('stops a deploy whose plan would remove a protected resource, before anything changes', async () => {
    const { svc } = setup({
      command: 'deploy',
      stage: 'prod',
      protect: 'stateful',
      'smoke-test-path': ''
    })
    svc.stacks.set('eu-west-1/api-prod', {
      status: 'UPDATE_COMPLETE',
      outputs: {},
      template: { Resources: { UsersTable: { Type: 'AWS::DynamoDB::Table' } } },
      deployments: []
    })
    const aws = svc.aws
    const removal = fakeEdges({
      env: {
        ...svc.env,
        INPUT_COMMAND: 'deploy',
        INPUT_STAGE: 'prod',
        INPUT_PROTECT: 'stateful',
        'INPUT_SMOKE-TEST-PATH': ''
      },
      workspace: svc.workspace,
      processes: svc.processes,
      aws: call => {
        if (call.command === 'DescribeChangeSet')
          return {
            Status: 'CREATE_COMPLETE',
            Changes: [
              {
                Type: 'Resource',
                ResourceChange: {
                  Action: 'Remove',
                  LogicalResourceId: 'UsersTable',
                  ResourceType: 'AWS::DynamoDB::Table'
                }
              }
            ]
          }
        if (call.service === 'lambda') return { CodeSha256: 'old', Runtime: 'python3.11' }
        return aws(call)
      }
    })
    const report = await runAction(removal.edges)
    const errors = removal.recorded.annotations.filter(a => a.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].properties?.title).toBe('Plan replaces or removes a protected resource')
    expect(errors[0].message).toMatch(
      /^The deploy would remove UsersTable \(AWS::DynamoDB::Table; protected by stateful\)\. Nothing was deployed\./
    )
    expect(phases(report).slice(-2)).toEqual(['plan', 'pull request comment'])
    expect(removal.recorded.sequence.some(line => line.includes('deploy --package'))).toBe(false)
    expect(svc.stacks.get('eu-west-1/api-prod')?.status).toBe('UPDATE_COMPLETE')
    expect(removal.recorded.outputs.destructive).toBe('true')
  })
})

describe('command: info', () => {
  it('asks Serverless what it resolves, then reads the stack and runs serverless info', async () => {
    const { run, recorded, svc } = setup({ command: 'info', stage: 'prod' })
    svc.stacks.set('eu-west-1/api-prod', {
      status: 'UPDATE_COMPLETE',
      outputs: { HttpApiUrl: 'https://live.example' },
      template: {},
      deployments: []
    })
    const report = await run()
    expect(phases(report)).toEqual([
      'inputs',
      'credentials',
      'node dependencies',
      'resolve service',
      'serverless info',
      'stack outputs',
      'pull request comment'
    ])
    expect(actions(recorded.sequence)).toEqual([
      'aws sts:GetCallerIdentity eu-west-1',
      'restore node-modules',
      'run npm ci --ignore-scripts --no-audit --no-fund',
      'run serverless print --format json --stage prod',
      'aws cloudformation:DescribeStacks eu-west-1',
      'run serverless info --stage prod',
      'aws cloudformation:DescribeStacks eu-west-1'
    ])
    expect(recorded.outputs.url).toBe('https://live.example')
  })

  it('names the region a missing stack lives in', async () => {
    const { run, recorded, svc } = setup({ command: 'info', stage: 'prod' })
    svc.stacks.set('eu-west-2/api-prod', {
      status: 'CREATE_COMPLETE',
      outputs: {},
      template: {},
      deployments: []
    })
    await run()
    const errors = recorded.annotations.filter(a => a.level === 'error')
    expect(errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(
          /^Stack api-prod does not exist in eu-west-1 .+exists in eu-west-2: set aws-region/
        )
      })
    ])
    expect(recorded.sequence.some(line => line.startsWith('run serverless info'))).toBe(false)
  })
})

describe('command: remove', () => {
  it('removes the stage, and a second remove is a success with a notice', async () => {
    const { run, recorded, svc } = setup({ command: 'remove', stage: 'pr-7' })
    svc.stacks.set('eu-west-1/api-pr-7', {
      status: 'UPDATE_COMPLETE',
      outputs: {},
      template: {},
      deployments: []
    })
    const report = await run()
    expect(phases(report).slice(3)).toEqual(['resolve service', 'serverless remove', 'pull request comment'])
    expect(actions(recorded.sequence).slice(-2)).toEqual([
      'aws cloudformation:DescribeStacks eu-west-1',
      'run serverless remove --stage pr-7'
    ])
    expect(svc.stacks.size).toBe(0)
    expect(report.removed).toBe('removed')

    const again = setup({ command: 'remove', stage: 'pr-7' })
    const second = await again.run()
    expect(second.removed).toBe('already gone')
    expect(again.recorded.sequence.some(line => line.startsWith('run serverless remove'))).toBe(false)
    expect(again.recorded.annotations).toEqual([
      expect.objectContaining({ level: 'notice', properties: { title: 'Nothing to remove' } })
    ])
    expect(again.recorded.exitCode).toBe(0)
  })
})

describe('every command', () => {
  it('stops on a bad input before anything runs or AWS is asked, with one error naming the input, the value and the fix', async () => {
    const { run, recorded } = setup({ command: 'deploy', 'smoke-test-timeout': '30s' })
    const report = await run()
    expect(phases(report)).toEqual(['inputs'])
    expect(recorded.processes).toEqual([])
    expect(recorded.aws).toEqual([])
    expect(recorded.annotations).toEqual([
      {
        level: 'error',
        message: "Input 'smoke-test-timeout' is '30s': use a whole number of seconds from 1 to 900.",
        properties: {}
      }
    ])
    expect(recorded.exitCode).toBe(1)
  })
})
