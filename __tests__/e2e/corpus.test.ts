import { jest } from '@jest/globals'
import {
  CloudFormationClient,
  CreateStackCommand,
  GetTemplateCommand,
  type Stack
} from '@aws-sdk/client-cloudformation'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { zipEntries } from '../support/fixture.js'
import { VENV } from '../support/hermetic.mjs'
import { findStack, startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import { rehearse, type Rehearsal } from '../support/rehearse.js'
import { NODE24, runAction, type ActionRun } from '../support/runner.js'
import { linkTree } from '../support/warm.mjs'

/**
 * Issue 7, "Serverless decides": a corpus of real-world-shaped services (__tests__/fixtures/corpus),
 * each deployed, read by info and removed through dist/index.js against moto. Serverless resolves
 * every variable; the action's outputs must be what moto holds, and the stack must be in the region
 * Serverless chose and in no other.
 *
 * The services run in two lanes at once, like two self-hosted runners, each with its own runner home
 * and caches: one for the services without package.json (the action provides serverless from the
 * lane's warm tool cache, proved against its lockfile on every run), one for those that install their
 * own (yarn, pnpm, npm).
 * Each lane deploys, reads and removes one service after the other, and records what moto holds right
 * after each command; the tests, one per command, judge those records.
 */

jest.setTimeout(900_000)

const execFileAsync = promisify(execFile)
const ACCOUNT = '123456789012'

/** The regions a stack is looked for in besides its own: every wrong guess lands in one of these. */
const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-south-1'
]

let moto: Moto

function cloudFormation(region: string): CloudFormationClient {
  return new CloudFormationClient({
    region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
}

const stackIn = (name: string, region: string) => findStack(moto, name, region)

/** The regions other than `except` that hold a stack of that name. */
async function regionsWith(name: string, except?: string): Promise<string[]> {
  const found = await Promise.all(
    REGIONS.filter(region => region !== except).map(async region =>
      (await stackIn(name, region)) ? region : undefined
    )
  )
  return found.filter((region): region is string => region !== undefined)
}

function output(stack: Stack | undefined, key: string): string | undefined {
  return stack?.Outputs?.find(o => o.OutputKey === key)?.OutputValue
}

/** Any other AWS call against moto, through boto3 in the moto venv (the project has only a few SDK v3 clients). */
async function boto<T>(
  service: string,
  region: string,
  operation: string,
  params: Record<string, unknown> = {}
): Promise<T> {
  const script = [
    'import boto3, json, sys',
    'a = json.loads(sys.argv[1])',
    "c = boto3.client(a['service'], region_name=a['region'], endpoint_url=a['endpoint'], aws_access_key_id='testing', aws_secret_access_key='testing')",
    "r = getattr(c, a['operation'])(**a['params']) or {}",
    "r.pop('ResponseMetadata', None)",
    'print(json.dumps(r, default=str))'
  ].join('\n')
  const { stdout } = await execFileAsync(path.join(VENV, 'bin', 'python'), [
    '-c',
    script,
    JSON.stringify({ service, region, operation, params, endpoint: moto.endpoint })
  ])
  return JSON.parse(stdout) as T
}

interface FunctionConfiguration {
  FunctionName: string
  MemorySize: number
  Environment?: { Variables?: Record<string, string> }
}

function lambdaFunction(name: string, region: string): Promise<FunctionConfiguration> {
  return boto<FunctionConfiguration>('lambda', region, 'get_function_configuration', { FunctionName: name })
}

async function lambdaNames(region: string): Promise<string[]> {
  const listed = await boto<{ Functions: { FunctionName: string }[] }>('lambda', region, 'list_functions')
  return listed.Functions.map(fn => fn.FunctionName).sort()
}

/** The names in a zip that `serverless deploy` uploaded to the stack's deployment bucket. */
async function uploadedZip(stack: Stack | undefined, region: string, file: string): Promise<string[]> {
  const bucket = output(stack, 'ServerlessDeploymentBucketName')
  const listed = await boto<{ Contents?: { Key: string }[] }>('s3', region, 'list_objects_v2', {
    Bucket: bucket
  })
  const key = listed.Contents?.map(o => o.Key).find(k => k.endsWith(`/${file}`))
  if (!key) throw new Error(`No ${file} in ${bucket}: ${JSON.stringify(listed.Contents?.map(o => o.Key))}`)
  const local = path.join(mkdtempSync(path.join(os.tmpdir(), 'uploaded-')), file)
  await boto('s3', region, 'download_file', { Bucket: bucket, Key: key, Filename: local })
  const entries = zipEntries(local)
  rmSync(path.dirname(local), { recursive: true, force: true })
  return entries
}

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>
}

/** The template CloudFormation holds for the stack: what Serverless deployed. */
async function deployedTemplate(stackName: string, region: string): Promise<Template> {
  const client = cloudFormation(region)
  try {
    const body = (await client.send(new GetTemplateCommand({ StackName: stackName }))).TemplateBody
    return JSON.parse(body ?? '{}') as Template
  } finally {
    client.destroy()
  }
}

interface Identity {
  service: string
  stage: string
  region: string
  stackName: string
}

interface Lane {
  name: string
  /** The runner home its runs share, with the caches (XDG_CACHE_HOME) under it. */
  home: string
  env: Record<string, string>
}

interface Case {
  fixture: string
  /** What the fixture is there for; the four wrong cases say which one they guard. */
  guards: string
  lane: 'provided' | 'own'
  /** The action's inputs besides command and working-directory: stage and aws-region only where a workflow gives them. */
  inputs: Record<string, string>
  /** What Serverless decides, worked out by hand from the fixture. */
  expected: Identity
  urlOutput: 'HttpApiUrl' | 'ServiceEndpoint'
  /** The serverless-version output. */
  framework: string
  /** Whether a deploy asks `serverless print` before packaging: the build's values are not all literal. */
  printsBeforePackage: boolean
  /** Stack names a wrong guess would have used: none may exist in any region. */
  wrongStackNames?: string[]
  /** AWS state the service reads while Serverless resolves it, created before the deploy. */
  seed?: () => Promise<void>
  /** What else the deploy must have produced in moto, checked right after it (before the remove). */
  check?: (run: ActionRun, stack: Stack | undefined, lane: Lane) => Promise<void>
}

const SSM_VALUES = {
  '/payments/dev/stripe-account': 'acct_1Nv0FGQ9RKHgCVdK',
  '/payments/dev/allowed-origin': 'https://shop.example.com'
}
let platformQueueUrl: string | undefined

/** The shared platform stack the ingest service reads with ${cf:}, as the infrastructure repository would deploy it. */
async function createPlatformStack(region: string, queueName: string): Promise<Stack | undefined> {
  const template = {
    Resources: { IngestQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: queueName } } },
    Outputs: {
      IngestQueueUrl: { Value: { Ref: 'IngestQueue' } },
      IngestQueueArn: { Value: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] } }
    }
  }
  const client = cloudFormation(region)
  try {
    await client.send(
      new CreateStackCommand({ StackName: 'platform-shared-dev', TemplateBody: JSON.stringify(template) })
    )
  } finally {
    client.destroy()
  }
  return stackIn('platform-shared-dev', region)
}

/**
 * The layer zips serverless-python-requirements keeps in its static cache, with the bytecode each
 * holds, and the bytecode in the slimmed folder it zipped them from.
 */
interface PluginLayerCache {
  zip: string
  zipBytecode: number
  folderBytecode: number
}
let layerCache: PluginLayerCache[] | undefined

function pluginLayerCache(lane: Lane): PluginLayerCache[] {
  // The plugin builds in a cache of each build's own (python-build/<build key>), in the runner's temp folder.
  const builds = path.join(lane.home, 'temp', 'serverless-python-deploy', 'python-build')
  const bytecode = (names: string[]) => names.filter(name => name.endsWith('.pyc')).length
  return readdirSync(builds)
    .map(build => path.join(builds, build, 'serverless-python-requirements'))
    .flatMap(dir => readdirSync(dir).map(name => path.join(dir, name)))
    .filter(name => name.endsWith('_slspyc.zip'))
    .map(file => [path.dirname(file), path.basename(file)] as const)
    .map(([dir, name]) => ({
      zip: name,
      zipBytecode: bytecode(zipEntries(path.join(dir, name))),
      folderBytecode: bytecode(
        readdirSync(path.join(dir, name.replace(/\.zip$/, '')), { recursive: true }).map(String)
      )
    }))
}

const ALL_CASES: Case[] = [
  {
    fixture: 'reports-api',
    guards:
      'wrong case A: provider.region from ${file(./config.yml):region} lands in eu-west-2, not us-east-1 (no package.json, runtime from the file too)',
    lane: 'provided',
    // Its API answers /reports, not /health: the workflow says which path proves it (the check calls it too).
    inputs: { 'smoke-test-path': '/reports' },
    expected: { service: 'reports-api', stage: 'dev', region: 'eu-west-2', stackName: 'reports-api-dev' },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: true,
    check: async () => {
      const fn = await lambdaFunction('reports-api-dev-api', 'eu-west-2')
      expect(fn.MemorySize).toBe(512)
      expect(fn.Environment?.Variables?.REPORTS_BUCKET_PREFIX).toBe('finance-reports')
    }
  },
  {
    fixture: 'team-http-api',
    guards:
      'wrong case B: provider.stackName ${self:custom.config.prefix}-${sls:stage} with custom.config from ${file()} is team-http-api-dev (yarn classic lockfile)',
    lane: 'own',
    inputs: {},
    expected: { service: 'http-api', stage: 'dev', region: 'eu-west-1', stackName: 'team-http-api-dev' },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: false,
    wrongStackNames: ['http-api-dev'],
    check: async (run, stack) => {
      expect(run.stdout).toMatch(/\[command\]\S*corepack yarn install --frozen-lockfile/)
      expect(stack?.Tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'platform' }]))
    }
  },
  {
    fixture: 'geo-routing',
    guards:
      'wrong case D: region ${self:custom.regions.${sls:stage}} for stage prod is ap-northeast-1, not us-east-1 or the dev region',
    lane: 'provided',
    // Its API answers / only: the workflow says which path proves it.
    inputs: { stage: 'prod', 'smoke-test-path': '/' },
    expected: { service: 'geo-api', stage: 'prod', region: 'ap-northeast-1', stackName: 'geo-api-prod' },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: false,
    check: async () => {
      const fn = await lambdaFunction('geo-api-prod-api', 'ap-northeast-1')
      expect(fn.Environment?.Variables?.DEPLOY_REGION).toBe('ap-northeast-1')
    }
  },
  {
    fixture: 'stage-params',
    guards:
      '${param:} from a per-stage params: block (staging overrides region and logLevel, memory from default)',
    lane: 'provided',
    inputs: { stage: 'staging' },
    expected: {
      service: 'notifications',
      stage: 'staging',
      region: 'eu-west-3',
      stackName: 'notifications-staging'
    },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: false,
    check: async () => {
      const fn = await lambdaFunction('notifications-staging-api', 'eu-west-3')
      expect(fn.MemorySize).toBe(256)
      expect(fn.Environment?.Variables).toMatchObject({
        LOG_LEVEL: 'INFO',
        SENDER_DOMAIN: 'staging.notify.example.com'
      })
    }
  },
  {
    fixture: 'catalog',
    guards:
      'wrong case C: service: ${file(./config.yml):name} is accepted and reported as catalog-api (pnpm lockfile)',
    lane: 'own',
    inputs: { stage: 'staging' },
    expected: {
      service: 'catalog-api',
      stage: 'staging',
      region: 'ap-southeast-2',
      stackName: 'catalog-api-staging'
    },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: false,
    check: async run => {
      expect(run.stdout).toMatch(/\[command\]\S*corepack pnpm install --frozen-lockfile/)
      const fn = await lambdaFunction('catalog-api-staging-api', 'ap-southeast-2')
      expect(fn.Environment?.Variables).toMatchObject({ SERVICE_NAME: 'catalog-api', STAGE: 'staging' })
    }
  },
  {
    fixture: 'ssm-settings',
    guards: '${ssm:} parameters read from SSM in ca-central-1 (a decoy in us-east-1 must not be read)',
    lane: 'provided',
    inputs: {},
    expected: {
      service: 'payments-webhook',
      stage: 'dev',
      region: 'ca-central-1',
      stackName: 'payments-webhook-dev'
    },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: false,
    seed: async () => {
      for (const [name, value] of Object.entries(SSM_VALUES)) {
        await boto('ssm', 'ca-central-1', 'put_parameter', { Name: name, Value: value, Type: 'String' })
        await boto('ssm', 'us-east-1', 'put_parameter', { Name: name, Value: 'decoy', Type: 'String' })
      }
    },
    check: async () => {
      const fn = await lambdaFunction('payments-webhook-dev-webhook', 'ca-central-1')
      expect(fn.Environment?.Variables).toMatchObject({
        STRIPE_ACCOUNT: SSM_VALUES['/payments/dev/stripe-account'],
        ALLOWED_ORIGIN: SSM_VALUES['/payments/dev/allowed-origin']
      })
    }
  },
  {
    fixture: 'ingest-pipeline',
    guards: '${cf:} outputs of another stack, and a literal custom stackName',
    lane: 'provided',
    inputs: { stage: 'dev' },
    expected: {
      service: 'events-ingest',
      stage: 'dev',
      region: 'us-west-1',
      stackName: 'ingest-pipeline-api'
    },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: false,
    wrongStackNames: ['events-ingest-dev'],
    seed: async () => {
      const platform = await createPlatformStack('us-west-1', 'platform-ingest-dev')
      // The same stack name in the default region, with another queue: reading it would be a wrong guess.
      await createPlatformStack('us-east-1', 'decoy-ingest-dev')
      platformQueueUrl = output(platform, 'IngestQueueUrl')
      if (!platformQueueUrl?.includes('platform-ingest-dev'))
        throw new Error(`platform-shared-dev has no queue URL: ${JSON.stringify(platform?.Outputs)}`)
    },
    check: async () => {
      const fn = await lambdaFunction('events-ingest-dev-ingest', 'us-west-1')
      expect(fn.Environment?.Variables?.QUEUE_URL).toBe(platformQueueUrl)
    }
  },
  {
    fixture: 'billing-js',
    guards: 'an osls project (its own package-lock) whose serverless.js only Serverless can read',
    lane: 'own',
    inputs: {},
    expected: { service: 'billing-api', stage: 'dev', region: 'ap-south-1', stackName: 'billing-api-dev' },
    urlOutput: 'HttpApiUrl',
    framework: 'osls 3.77.1',
    printsBeforePackage: true,
    check: async run => {
      expect(run.stdout).toContain('[command]/usr/bin/npm ci --ignore-scripts --no-audit --no-fund')
      expect(await lambdaNames('ap-south-1')).toEqual(
        expect.arrayContaining([
          'billing-api-dev-invoices',
          'billing-api-dev-payments',
          'billing-api-dev-refunds'
        ])
      )
    }
  },
  {
    fixture: 'orders-rest',
    guards: 'several functions with REST http events (API Gateway v1): url is ServiceEndpoint',
    lane: 'provided',
    inputs: { stage: 'test', 'aws-region': 'eu-west-1' },
    expected: { service: 'orders-rest', stage: 'test', region: 'eu-west-1', stackName: 'orders-rest-test' },
    urlOutput: 'ServiceEndpoint',
    framework: '3.40.0',
    printsBeforePackage: false,
    check: async (run, stack) => {
      expect(output(stack, 'HttpApiUrl')).toBeUndefined()
      const [, apiId] =
        /^https:\/\/(\w+)\.execute-api\.eu-west-1\.amazonaws\.com\/test$/.exec(run.outputs.url) ?? []
      const apis = await boto<{ items: { id: string; name: string }[] }>(
        'apigateway',
        'eu-west-1',
        'get_rest_apis'
      )
      expect(apis.items).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: apiId, name: 'test-orders-rest' })])
      )
      expect(await lambdaNames('eu-west-1')).toEqual(
        expect.arrayContaining([
          'orders-rest-test-customers',
          'orders-rest-test-health',
          'orders-rest-test-orders'
        ])
      )
      expect((await lambdaFunction('orders-rest-test-health', 'eu-west-1')).MemorySize).toBe(128)
    }
  },
  {
    fixture: 'layered',
    guards: 'custom.pythonRequirements layer: true, slim: true, with a literal stage prod',
    lane: 'provided',
    inputs: {},
    expected: {
      service: 'pricing-engine',
      stage: 'prod',
      region: 'eu-central-1',
      stackName: 'pricing-engine-prod'
    },
    urlOutput: 'HttpApiUrl',
    framework: '3.40.0',
    printsBeforePackage: false,
    check: async (_run, stack, lane) => {
      layerCache = pluginLayerCache(lane)
      const layer = await uploadedZip(stack, 'eu-central-1', 'pythonRequirements.zip')
      expect(layer).toContain('python/fastapi/__init__.py')
      expect(layer).toContain('python/mangum/__init__.py')
      // slim: no distribution metadata.
      expect(layer.filter(entry => entry.includes('.dist-info/'))).toEqual([])
      // slim is the service's choice: the action adds no bytecode back, and says so.
      expect(layer.filter(entry => entry.endsWith('.pyc'))).toEqual([])
      const own = await uploadedZip(stack, 'eu-central-1', 'pricing-engine.zip')
      expect(own).toContain('pricing.py')
      expect(own.filter(entry => /^(fastapi|mangum)\//.test(entry))).toEqual([])
      // moto does not pass a function's Layers on from CloudFormation: the deployed template says it.
      const template = await deployedTemplate('pricing-engine-prod', 'eu-central-1')
      expect(template.Resources.PythonRequirementsLambdaLayer?.Type).toBe('AWS::Lambda::LayerVersion')
      expect(template.Resources.QuoteLambdaFunction?.Properties?.Layers).toEqual([
        { Ref: 'PythonRequirementsLambdaLayer' }
      ])
      const layers = await boto<{ Layers: { LatestMatchingVersion: { LayerVersionArn: string } }[] }>(
        'lambda',
        'eu-central-1',
        'list_layers'
      )
      expect(layers.Layers.map(l => l.LatestMatchingVersion.LayerVersionArn)).toEqual([
        expect.stringMatching(/^arn:aws:lambda:eu-central-1:123456789012:layer:[^:]+:\d+$/)
      ])
    }
  }
]

/** CORPUS=reports-api,catalog runs only those (while working on one); unset, all of them. */
const CASES = process.env.CORPUS
  ? ALL_CASES.filter(c => process.env.CORPUS?.split(',').includes(c.fixture))
  : ALL_CASES

type Command = 'deploy' | 'info' | 'remove'

/** One command's run, and what moto held right after it. */
interface Observation {
  run: ActionRun
  /** The stack of the output stack-name in the output region. */
  reported?: Stack
  /** The stack of the expected name in the expected region. */
  stack?: Stack
  /** The other regions that hold a stack of the expected name. */
  elsewhere: string[]
  /** For each wrong guess's stack name, the regions that hold one. */
  wrongGuesses: Record<string, string[]>
  /** What the case's own checks threw (deploy only). */
  checkFailure?: unknown
}

const observations = new Map<string, Record<Command, Promise<Observation>>>()
const lanes: Lane[] = []
const laneEnds: Promise<unknown>[] = []
const timings: string[] = []

const credentials = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }

async function action(c: Case, service: Rehearsal, lane: Lane, command: Command): Promise<ActionRun> {
  const started = Date.now()
  const run = await runAction({
    inputs: { command, 'working-directory': service.dir, ...c.inputs },
    env: {
      ...credentials,
      ...pipEnv(),
      ...lane.env,
      AWS_ENDPOINT_URL: moto.endpoint,
      // This machine's npm registry serves no signatures, which corepack checks before it runs yarn or pnpm.
      COREPACK_INTEGRITY_KEYS: '0'
    },
    node: NODE24,
    home: lane.home
  })
  timings.push(
    `${lane.name}: ${c.fixture} ${command} ${Math.round((Date.now() - started) / 1000)}s (exit ${run.exitCode})`
  )
  if (run.exitCode !== 0)
    console.log(
      `${c.fixture} ${command} exited ${run.exitCode}:\n${run.stdout.slice(-6000)}\n${run.stderr.slice(-2000)}`
    )
  return run
}

async function observe(c: Case, service: Rehearsal, lane: Lane, command: Command): Promise<Observation> {
  const run = await action(c, service, lane, command)
  const { region, 'stack-name': stackName } = run.outputs
  const observation: Observation = {
    run,
    reported: region && stackName ? await stackIn(stackName, region) : undefined,
    stack: await stackIn(c.expected.stackName, c.expected.region),
    elsewhere: await regionsWith(c.expected.stackName, c.expected.region),
    wrongGuesses: Object.fromEntries(
      await Promise.all((c.wrongStackNames ?? []).map(async name => [name, await regionsWith(name)]))
    )
  }
  if (command === 'deploy' && run.exitCode === 0) {
    try {
      await c.check?.(run, observation.stack, lane)
    } catch (error) {
      observation.checkFailure = error
    }
  }
  return observation
}

/** Runs the lane's services one after the other: deploy, info and remove each, whatever the one before did. */
function startLane(lane: Lane, cases: Case[]): void {
  let previous: Promise<unknown> = Promise.resolve()
  for (const c of cases) {
    const prepared = previous.then(async () => {
      const service = rehearse(c.fixture, { stage: c.expected.stage })
      await c.seed?.()
      return service
    })
    const deploy = prepared.then(service => observe(c, service, lane, 'deploy'))
    const info = deploy.then(
      () => prepared.then(service => observe(c, service, lane, 'info')),
      () => prepared.then(service => observe(c, service, lane, 'info'))
    )
    const remove = info.then(
      () => prepared.then(service => observe(c, service, lane, 'remove')),
      () => prepared.then(service => observe(c, service, lane, 'remove'))
    )
    previous = remove
      .catch(() => undefined)
      .then(() => prepared)
      .then(service => rmSync(service.root, { recursive: true, force: true }))
      .catch(() => undefined)
    // The tests report each failure; none is left unhandled meanwhile.
    for (const step of [deploy, info, remove]) step.catch(() => undefined)
    observations.set(c.fixture, { deploy, info, remove })
  }
  laneEnds.push(previous)
}

function newLane(name: string): Lane {
  const home = mkdtempSync(path.join(os.tmpdir(), `runner-${name}-`))
  // A warm runner: its tool cache holds the framework the action provides (proved before it is used).
  const warm = process.env.SPD_WARM && path.join(process.env.SPD_WARM, 'tool-cache')
  if (warm && existsSync(warm)) linkTree(warm, path.join(home, 'tool-cache'))
  return { name, home, env: { XDG_CACHE_HOME: path.join(home, 'cache') } }
}

const identityOutputs = (identity: Identity) => ({
  service: identity.service,
  stage: identity.stage,
  region: identity.region,
  'stack-name': identity.stackName
})

beforeAll(async () => {
  moto = await startMoto()
  for (const name of ['provided', 'own'] as const) {
    const lane = newLane(name)
    lanes.push(lane)
    startLane(
      lane,
      CASES.filter(c => c.lane === name)
    )
  }
})

afterAll(async () => {
  await Promise.all(laneEnds)
  await moto?.stop()
  for (const lane of lanes) rmSync(lane.home, { recursive: true, force: true })
  console.log(`corpus timings:\n${timings.join('\n')}`)
})

describe.each(CASES)('$fixture: $guards', c => {
  const observed = (command: Command) => {
    const found = observations.get(c.fixture)
    if (!found) throw new Error(`${c.fixture} was not started`)
    return found[command]
  }

  it(`deploy: outputs are what moto holds, and the stack is in ${c.expected.region} and no other region`, async () => {
    const { run, reported, elsewhere, wrongGuesses, checkFailure } = await observed('deploy')
    expect(run.exitCode).toBe(0)
    expect(reported?.StackStatus).toMatch(/^(CREATE|UPDATE)_COMPLETE$/)
    const url = output(reported, c.urlOutput)
    // moto does not model HTTP APIs in CloudFormation: their id reads None in the URL it builds.
    expect(url).toMatch(new RegExp(`^https://\\w+\\.execute-api\\.${c.expected.region}\\.amazonaws\\.com`))
    expect(run.outputs).toMatchObject({
      ...identityOutputs(c.expected),
      url,
      'python-version': expect.stringMatching(/^3\.11\.\d+$/),
      'serverless-version': c.framework,
      'aws-account-id': ACCOUNT
    })
    expect(elsewhere).toEqual([])
    expect(wrongGuesses).toEqual(Object.fromEntries((c.wrongStackNames ?? []).map(name => [name, []])))
    if (c.printsBeforePackage) expect(run.stdout).toContain('print --format json')
    else expect(run.stdout).not.toContain('print --format json')
    if (checkFailure) throw checkFailure
  })

  it('info: asks Serverless, and reports the same service, stack and url', async () => {
    const { run } = await observed('info')
    const deployed = await observed('deploy').catch(() => undefined)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('print --format json')
    expect(run.outputs).toMatchObject(identityOutputs(c.expected))
    expect(run.outputs.url).toBeTruthy()
    expect(run.outputs.url).toBe(deployed?.run.outputs.url)
  })

  it(`remove: deletes the stack from ${c.expected.region}, and it is in no region afterwards`, async () => {
    const { run, stack, elsewhere } = await observed('remove')
    expect(run.exitCode).toBe(0)
    expect(run.outputs).toMatchObject(identityOutputs(c.expected))
    expect(run.outputs.url ?? '').toBe('')
    expect(stack).toBeUndefined()
    expect(elsewhere).toEqual([])
  })
})

// Only skipped when CORPUS leaves the layered service out.
const withLayered = CASES.some(c => c.fixture === 'layered') ? describe : describe.skip

withLayered(
  'layered: serverless-python-requirements keeps its slim layer zip in a static cache, linked from .serverless',
  () => {
    it("the action's bytecode step does not write into that cache through the link", async () => {
      await observations.get('layered')?.deploy
      expect(layerCache?.length).toBeGreaterThan(0)
      for (const entry of layerCache ?? []) {
        // slim: the plugin zipped a folder without bytecode; whatever bytecode the zip holds, it did not write.
        expect(entry.folderBytecode).toBe(0)
        expect(entry).toEqual({ ...entry, zipBytecode: 0 })
      }
    })
  }
)
