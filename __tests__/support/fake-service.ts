import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import type { AwsCall, AwsScript, ProcessCall, ProcessScript } from './fake-edges.js'

/**
 * A service and the tools around it, played in process for the specification of each command: npm
 * lays out a serverless 3 package, Python answers its probe and writes the zips it is asked to,
 * serverless packages, deploys, prints, removes and rolls back against an in-memory CloudFormation,
 * which STS and CloudFormation answer from. What each does is what the real one does as far as the
 * action can see it: the files it leaves, the exit code, the stack.
 */

export const SERVICE_YML = `service: api
frameworkVersion: '3'
provider:
  name: aws
  runtime: python3.11
  region: eu-west-1
functions:
  api:
    handler: main.handler
    events:
      - httpApi: '*'
plugins:
  - serverless-python-requirements
`

export interface Stack {
  status: string
  outputs: Record<string, string>
  template: Record<string, unknown>
  /** The deployments the bucket holds, oldest first (each deploy adds one). */
  deployments: string[]
}

export interface FakeService {
  workspace: string
  /** The service folder (the working directory). */
  dir: string
  env: Record<string, string>
  processes: ProcessScript
  aws: AwsScript
  /** CloudFormation's stacks by `region/name`. */
  stacks: Map<string, Stack>
  /**
   * Makes the next call of a tool fail with this output: serverless' `package`, `deploy`…, `npm`; or
   * answers the next artifact check with it (`verify_artifact`, `lambda_check`: a JSON report).
   */
  fail: (what: string, output: string) => void
  remove: () => void
}

export interface ServiceOptions {
  yml?: string
  /** Other files of the repository, relative to the service folder. */
  files?: Record<string, string>
  account?: string
  /** A package.json with a lockfile that pins serverless 3.40.0, as a service with its own framework has. */
  ownFramework?: boolean
  /** More packages npm lays out in node_modules: location → package.json. */
  installs?: Record<string, Record<string, unknown>>
}

/** What the played serverless reads of serverless.yml. */
interface Doc {
  service: string
  provider?: { stage?: string; region?: string } & Record<string, unknown>
  functions?: Record<string, Record<string, unknown>>
}

const PROBE_PYTHON = { executable: '/usr/bin/python3.11', version: '3.11.7', machine: 'x86_64' }

export function fakeService(options: ServiceOptions = {}): FakeService {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'fake-service-'))
  const dir = path.join(workspace, 'svc')
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'serverless.yml'), options.yml ?? SERVICE_YML)
  if (options.ownFramework !== false) {
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ devDependencies: { serverless: '3.40.0', 'serverless-python-requirements': '6.1.2' } })
    )
    writeFileSync(
      path.join(dir, 'package-lock.json'),
      JSON.stringify({
        lockfileVersion: 3,
        packages: { '': {}, 'node_modules/serverless': { version: '3.40.0' } }
      })
    )
  }
  for (const [name, text] of Object.entries(options.files ?? {})) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    writeFileSync(path.join(dir, name), text)
  }
  const account = options.account ?? '123456789012'
  const stacks = new Map<string, Stack>()
  const changeSets = new Map<
    string,
    { template: { Resources?: Record<string, { Type: string }> }; type: string }
  >()
  const failures = new Map<string, string>()
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: path.join(workspace, 'home'),
    RUNNER_TEMP: path.join(workspace, 'runner', 'temp'),
    RUNNER_TOOL_CACHE: path.join(workspace, 'runner', 'tool-cache'),
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: 'octo-org/api',
    GITHUB_RUN_ID: '7',
    AWS_ACCESS_KEY_ID: 'AKIATEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    'INPUT_WORKING-DIRECTORY': 'svc',
    'INPUT_GITHUB-TOKEN': 'ghs_token'
  }

  const config = () => YAML.parse(readFileSync(path.join(dir, 'serverless.yml'), 'utf8')) as Doc
  const option = (args: string[], name: string) => {
    const at = args.indexOf(`--${name}`)
    return at >= 0 ? args[at + 1] : undefined
  }
  const identity = (args: string[]) => {
    const doc = config()
    const stage = option(args, 'stage') ?? doc.provider?.stage ?? 'dev'
    const region = option(args, 'region') ?? doc.provider?.region ?? 'us-east-1'
    return { service: String(doc.service), stage, region, stack: `${doc.service}-${stage}` }
  }
  const failed = (what: string) => {
    const output = failures.get(what)
    if (output === undefined) return undefined
    failures.delete(what)
    return { exitCode: 1, stdout: output }
  }

  function serverless(args: string[]): { exitCode?: number; stdout?: string } {
    const command = args[0]
    const failure = failed(command)
    if (failure) return failure
    const who = identity(args)
    const key = `${who.region}/${who.stack}`
    if (command === 'print') return { stdout: JSON.stringify(config()) }
    if (command === 'package') {
      const out = path.join(dir, '.serverless')
      rmSync(out, { recursive: true, force: true })
      mkdirSync(out)
      const doc = config()
      const functions = Object.fromEntries(
        Object.entries(doc.functions ?? {}).map(([name, fn]) => [
          name,
          { ...fn, name: `${who.service}-${who.stage}-${name}` }
        ])
      )
      writeFileSync(
        path.join(out, 'serverless-state.json'),
        JSON.stringify({
          service: {
            service: who.service,
            provider: { ...doc.provider, stage: who.stage, region: who.region },
            functions
          },
          package: {
            artifactDirectoryName: `serverless/${who.service}/${who.stage}/1700000000000-2023-11-14T22:13:20.000Z`,
            artifact: `${who.service}.zip`
          }
        })
      )
      writeFileSync(
        path.join(out, 'cloudformation-template-update-stack.json'),
        JSON.stringify({
          Resources: {
            ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket' },
            ApiLambdaFunction: {
              Type: 'AWS::Lambda::Function',
              Properties: { Runtime: 'python3.11', MemorySize: 1024 }
            }
          }
        })
      )
      writeFileSync(path.join(out, `${who.service}.zip`), 'PK fake zip')
      return {}
    }
    if (command === 'deploy') {
      // As Serverless v3 does after `deploy --package` (aws:common:cleanupTempDir).
      rmSync(path.join(dir, '.serverless'), { recursive: true, force: true })
      const before = stacks.get(key)
      const deployment = `serverless/${who.service}/${who.stage}/${1700000000000 + (before?.deployments.length ?? 0)}-2023-11-14T22:13:20.000Z`
      stacks.set(key, {
        status: before ? 'UPDATE_COMPLETE' : 'CREATE_COMPLETE',
        outputs: { HttpApiUrl: `https://abc123.execute-api.${who.region}.amazonaws.com` },
        template: {
          Resources: {
            ApiLambdaFunction: { Properties: { Code: { S3Key: `${deployment}/${who.service}.zip` } } }
          }
        },
        deployments: [...(before?.deployments ?? []), deployment]
      })
      return {}
    }
    if (command === 'remove') {
      stacks.delete(key)
      return {}
    }
    if (command === 'info' || command === 'rollback') return {}
    return { exitCode: 1, stdout: `Error:\nServerless command "${command}" not found.` }
  }

  const processes: ProcessScript = call => {
    const entry = call.args.findIndex(arg => arg.endsWith('bin/serverless.js'))
    if (entry >= 0) return serverless(call.args.slice(entry + 1))
    const name = path.basename(call.tool)
    if (name === 'npm') return npm(call)
    if (/^python/.test(name) || call.tool === PROBE_PYTHON.executable) return python(call)
    return undefined
  }

  function npm(call: ProcessCall) {
    const failure = failed('npm')
    if (failure) return failure
    const root = call.args.includes('--prefix')
      ? (option(call.args, 'prefix') as string)
      : (call.cwd as string)
    const modules = path.join(root, 'node_modules')
    for (const name of ['serverless', 'osls']) {
      if (name === 'osls' && !call.args.some(arg => arg.startsWith('osls@'))) continue
      if (name === 'serverless' && call.args.some(arg => arg.startsWith('osls@'))) continue
      mkdirSync(path.join(modules, name, 'bin'), { recursive: true })
      writeFileSync(
        path.join(modules, name, 'package.json'),
        JSON.stringify({
          name,
          version: name === 'osls' ? '3.77.1' : '3.40.0',
          bin: { serverless: 'bin/serverless.js' }
        })
      )
      writeFileSync(path.join(modules, name, 'bin', 'serverless.js'), '')
    }
    for (const [location, manifest] of Object.entries(options.installs ?? {})) {
      mkdirSync(path.join(root, location), { recursive: true })
      writeFileSync(path.join(root, location, 'package.json'), JSON.stringify(manifest))
    }
    return {}
  }

  function python(call: ProcessCall & { options: { input?: string } }) {
    if (call.args[0] === '-c') return { stdout: JSON.stringify(PROBE_PYTHON) }
    const script = call.args.find(arg => arg.endsWith('.py')) ?? ''
    if (script.endsWith('verify_artifact.py')) {
      const failure = failed('verify_artifact')
      if (failure) return { stdout: failure.stdout }
      const spec = JSON.parse(call.options.input ?? '{}') as { functions: { artifact: string }[] }
      const zips = [...new Set(spec.functions.map(fn => fn.artifact))]
      return {
        stdout: JSON.stringify({
          problems: [],
          notes: [],
          packages: [
            { name: 'fastapi', version: '0.115.0', tags: ['py3-none-any'], zip: path.basename(zips[0] ?? '') }
          ],
          zips: zips.map(zip => ({
            zip: path.basename(zip),
            path: zip,
            entries: 3,
            bytes: 11,
            unzipped: 11
          })),
          seconds: 0.01
        })
      }
    }
    if (script.endsWith('lambda_check.py')) {
      const failure = failed('lambda_check')
      if (failure) return { stdout: failure.stdout }
      const spec = JSON.parse(call.options.input ?? '{}') as {
        functions: { key: string; name: string; events: { kind: string; path: string }[] }[]
      }
      return {
        stdout: JSON.stringify({
          passed: true,
          functions: spec.functions.map(fn => ({
            key: fn.key,
            name: fn.name,
            passed: true,
            imported: true,
            importSeconds: 0.25,
            invocations: fn.events.map(event => ({
              ...event,
              method: 'GET',
              status: 200,
              seconds: 0.01,
              passed: true
            }))
          }))
        })
      }
    }
    if (script.endsWith('unpack.py')) return {}
    if (script.endsWith('bytecode.py')) {
      const [source, target] = call.args.slice(call.args.indexOf(script) + 1)
      cpSync(source, target)
      return { stdout: JSON.stringify({ compiled: 3, compressed: 0, distributions: {} }) }
    }
    return undefined
  }

  const aws: AwsScript = (call: AwsCall) => {
    if (call.service === 'sts' && call.command === 'GetCallerIdentity') return { Account: account }
    if (call.service !== 'cloudformation') return undefined
    const name = String(call.input.StackName)
    const stack = stacks.get(`${call.region}/${name}`)
    const missing = () => {
      throw Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' })
    }
    if (call.command === 'DescribeStacks') {
      if (!stack) missing()
      return {
        Stacks: [
          {
            StackName: name,
            StackStatus: stack?.status,
            Outputs: Object.entries(stack?.outputs ?? {}).map(([OutputKey, OutputValue]) => ({
              OutputKey,
              OutputValue
            }))
          }
        ]
      }
    }
    if (call.command === 'GetTemplate')
      return stack ? { TemplateBody: JSON.stringify(stack.template) } : missing()
    if (call.command === 'DescribeStackEvents') return { StackEvents: [] }
    // Change sets as moto reports them: an Add or Modify per logical ID of the template, nothing else.
    if (call.command === 'CreateChangeSet') {
      changeSets.set(String(call.input.ChangeSetName), {
        template: JSON.parse(String(call.input.TemplateBody)) as {
          Resources?: Record<string, { Type: string }>
        },
        type: String(call.input.ChangeSetType)
      })
      if (call.input.ChangeSetType === 'CREATE')
        stacks.set(`${call.region}/${name}`, {
          status: 'REVIEW_IN_PROGRESS',
          outputs: {},
          template: {},
          deployments: []
        })
      return {
        Id: `arn:aws:cloudformation:${call.region}:${account}:changeSet/${String(call.input.ChangeSetName)}/1`
      }
    }
    if (call.command === 'DescribeChangeSet') {
      const set = changeSets.get(String(call.input.ChangeSetName))
      return {
        Status: 'CREATE_COMPLETE',
        Changes: Object.entries(set?.template.Resources ?? {}).map(([logicalId, resource]) => ({
          Type: 'Resource',
          ResourceChange: {
            Action: set?.type === 'CREATE' ? 'Add' : 'Modify',
            LogicalResourceId: logicalId,
            ResourceType: resource.Type
          }
        }))
      }
    }
    if (call.command === 'DeleteChangeSet') {
      changeSets.delete(String(call.input.ChangeSetName))
      return {}
    }
    if (call.command === 'DeleteStack') {
      stacks.delete(`${call.region}/${name}`)
      return {}
    }
    return undefined
  }

  return {
    workspace,
    dir,
    env,
    processes,
    aws,
    stacks,
    fail: (what, output) => void failures.set(what, output),
    remove: () => rmSync(workspace, { recursive: true, force: true })
  }
}
