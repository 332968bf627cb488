/**
 * `npm run demo [-- <service folder>]`: the action's main job on an example, as the runner runs it,
 * against a moto server this script starts. It deploys the devcontainer template's starter service
 * (applied with its defaults) or the given service, shows the outputs and the job summary as text,
 * proves the deployment works by invoking the handler from the very zip it deployed (downloaded from
 * moto's S3) with API Gateway HTTP API events for / and /health, removes the stack, and stops moto.
 * Its temp folders and caches are private and removed at the end, passed or failed.
 *
 * The service is rehearsed against moto: the serverless-localstack plugin points serverless at it, and
 * `deploymentMethod: direct` because moto does not update stack outputs through change sets.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation'
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { liveDeployment } from '../src/rollback.js'
import { PLUGIN_VERSIONS } from '../src/defaults.js'
import { createWorld, installTools, removeTree, removeWorld, VENV } from '../__tests__/support/hermetic.mjs'
import { invokeArtifact } from '../__tests__/support/fixture.js'
import { startMoto, type Moto } from '../__tests__/support/moto.js'
import { pipEnv } from '../__tests__/support/pip.js'
import { NODE24, runAction, type ActionRun } from '../__tests__/support/runner.js'
import { summaryText } from '../__tests__/support/summary-text.js'
import { applyTemplate, PACKAGED_HERE } from '../__tests__/template/helpers.js'
import { sdkClients } from '../src/aws.js'

const STAGE = 'demo'
const REGION = 'us-east-1'
const credentials = { accessKeyId: 'demo', secretAccessKey: 'demo' }

function prepareService(target: string | undefined, scratch: string): string {
  const dir = path.join(scratch, 'service')
  if (!target) {
    applyTemplate(dir, PACKAGED_HERE)
    console.log(
      `Example: the template's starter service (template/src/fastapi-lambda, default options), applied in ${dir}`
    )
  } else {
    const source = path.resolve(target)
    if (!existsSync(source)) throw new Error(`No such folder: ${source}`)
    cpSync(source, dir, {
      recursive: true,
      filter: file => !/[/\\](node_modules|\.serverless)([/\\]|$)/.test(file)
    })
    console.log(`Service: ${source}, copied to ${dir}`)
  }
  return dir
}

/** The serverless-localstack plugin, installed beside the service so that its own lockfile stays as it is. */
function localstackPlugin(scratch: string): string {
  const prefix = path.join(scratch, 'plugins')
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      `serverless-localstack@${PLUGIN_VERSIONS['serverless-localstack']}`
    ],
    { stdio: 'ignore' }
  )
  return path.join(prefix, 'node_modules', 'serverless-localstack')
}

function rehearse(dir: string, plugin: string): void {
  const file = ['serverless.yml', 'serverless.yaml'].map(name => path.join(dir, name)).find(existsSync)
  if (!file) return // the action itself reports the missing serverless.yml
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'))
  const plugins = doc.get('plugins')
  if (!YAML.isSeq(plugins)) doc.set('plugins', [plugin])
  else plugins.add(plugin)
  doc.setIn(['provider', 'deploymentMethod'], 'direct')
  doc.setIn(['custom', 'localstack'], { stages: [STAGE], autostart: false })
  writeFileSync(file, doc.toString())
}

/** What a person reads in the log: the error annotations, whole. */
function errors(run: ActionRun): string[] {
  return run.stdout
    .split('\n')
    .filter(line => line.startsWith('::error'))
    .map(line =>
      line
        .replace(/^::error[^:]*::/, '')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%')
    )
}

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title}: exit code ${run.exitCode}`)
  for (const error of errors(run)) console.log(`Error:\n${error}\n`)
  console.log('Outputs:')
  const width = Math.max(...Object.keys(run.outputs).map(key => key.length))
  for (const [key, value] of Object.entries(run.outputs)) console.log(`  ${key.padEnd(width)}  ${value}`)
  if (run.summary) console.log(`\nJob summary:\n${summaryText(run.summary)}`)
}

/** The zip the stack runs, from the deployment bucket, invoked as API Gateway's HTTP API would. */
async function invokeDeployed(moto: Moto, run: ActionRun, scratch: string): Promise<void> {
  const stackName = run.outputs['stack-name']
  const cfn = new CloudFormationClient({ region: REGION, endpoint: moto.endpoint, credentials })
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]
  cfn.destroy()
  const bucket = stack?.Outputs?.find(o => o.OutputKey === 'ServerlessDeploymentBucketName')?.OutputValue
  const deployment = await liveDeployment(stackName, { region: REGION, credentials, clients: sdkClients })
  if (!bucket || !deployment) throw new Error(`stack ${stackName} names no deployment bucket or artifact`)
  const key = `${deployment.directory}/${run.outputs.service}.zip`
  // A signed GET, as the Lambda service would make: Serverless' bucket policy refuses anything else.
  const zip = path.join(scratch, 'deployed.zip')
  execFileSync(path.join(VENV, 'bin', 'python'), [
    '-c',
    'import boto3, sys\nboto3.client("s3", region_name=sys.argv[1], endpoint_url=sys.argv[2], aws_access_key_id="demo", aws_secret_access_key="demo").download_file(sys.argv[3], sys.argv[4], sys.argv[5])',
    REGION,
    moto.endpoint,
    bucket,
    key,
    zip
  ])
  const handler =
    /handler:\s*(\S+)/.exec(readFileSync(path.join(scratch, 'service', 'serverless.yml'), 'utf8'))?.[1] ??
    'main.handler'
  console.log(
    `\nThe deployed zip (s3://${bucket}/${key}), handler ${handler}, invoked with API Gateway HTTP API events:`
  )
  for (const answer of invokeArtifact(zip, handler, ['/', '/health'])) {
    console.log(`  GET ${answer.path.padEnd(8)} -> ${answer.statusCode} ${answer.body}`)
  }
}

async function main(): Promise<number> {
  installTools()
  const world = createWorld('spd-demo')
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'demo-'))
  let moto: Moto | undefined
  try {
    const service = prepareService(process.argv[2], scratch)
    rehearse(service, localstackPlugin(scratch))
    moto = await startMoto()
    console.log(`moto server on ${moto.endpoint}`)
    // The demo's own AWS calls (the action's liveDeployment among them) go to moto as well.
    process.env.AWS_ENDPOINT_URL = moto.endpoint
    const common = {
      env: {
        ...pipEnv(),
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: 'demo',
        AWS_SECRET_ACCESS_KEY: 'demo'
      },
      node: NODE24
    }
    const inputs = { 'working-directory': service, stage: STAGE, 'aws-region': REGION }
    const deployed = await runAction({ ...common, inputs: { ...inputs, command: 'deploy' } })
    show('deploy', deployed)
    if (deployed.exitCode !== 0) return 1
    console.log(
      `\nAbout the url: moto does not emulate API Gateway's HTTP APIs, so the stack's HttpApiUrl output reads ${deployed.outputs.url}; on AWS it is the API's own https://<id>.execute-api.<region>.amazonaws.com. The smoke test is not run against it in a rehearsal (set smoke-test-url to probe one).`
    )
    await invokeDeployed(moto, deployed, scratch)
    const removed = await runAction({
      ...common,
      home: deployed.home,
      inputs: { ...inputs, command: 'remove' }
    })
    show('remove', removed)
    return removed.exitCode
  } finally {
    await moto?.stop()
    removeTree(scratch)
    removeWorld(world)
  }
}

main().then(
  code => process.exit(code),
  error => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
)
