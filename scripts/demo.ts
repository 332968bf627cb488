/**
 * `npm run demo [-- <service folder>]`: runs dist/index.js as the runner would against a moto server
 * this script starts. It deploys the example (the devcontainer template's starter service, applied with
 * its defaults) or the given service, prints the outputs and the job summary, removes the stack, stops
 * moto, and exits non-zero on any failure.
 *
 * The service is copied and rehearsed against moto: the serverless-localstack plugin points serverless
 * at it, and `deploymentMethod: direct` because moto does not update stack outputs through change sets.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { PLUGIN_VERSIONS } from '../src/defaults.js'
import globalSetup from '../__tests__/support/global-setup.mjs'
import { startMoto, type Moto } from '../__tests__/support/moto.js'
import { localPipIndexEnv } from '../__tests__/support/pip.js'
import { NODE24, ROOT, runAction, type ActionRun } from '../__tests__/support/runner.js'
import { applyTemplate } from '../__tests__/template/helpers.js'

const STAGE = 'demo'

function prepareService(target: string | undefined): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'demo-')), 'service')
  if (!target) {
    applyTemplate(dir)
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

/** The serverless-localstack plugin, kept outside the service so its own dependencies stay untouched. */
function localstackPlugin(): string {
  const prefix = path.join(ROOT, '.cache', 'demo')
  const plugin = path.join(prefix, 'node_modules', 'serverless-localstack')
  if (!existsSync(plugin)) {
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
      {
        stdio: 'inherit'
      }
    )
  }
  return plugin
}

function rehearse(dir: string, plugin: string): void {
  const file = ['serverless.yml', 'serverless.yaml'].map(name => path.join(dir, name)).find(existsSync)
  if (!file) return // the action itself reports the missing serverless.yml
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'))
  const plugins = doc.get('plugins')
  if (!YAML.isSeq(plugins)) doc.set('plugins', [plugin])
  else if (
    !plugins.items.some(item => String(YAML.isScalar(item) ? item.value : item) === 'serverless-localstack')
  )
    plugins.add(plugin)
  doc.setIn(['provider', 'deploymentMethod'], 'direct')
  doc.setIn(['custom', 'localstack'], { stages: [STAGE], autostart: false })
  writeFileSync(file, doc.toString())
}

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title}: exit code ${run.exitCode}`)
  const errors = run.stdout
    .split('\n')
    .filter(line => line.startsWith('::error'))
    .map(line =>
      line
        .replace(/^::error[^:]*::/, '')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%')
    )
  for (const error of errors) console.log(`Error: ${error}`)
  console.log('Outputs:', JSON.stringify(run.outputs, null, 2))
  if (run.summary) console.log(`Job summary:\n${run.summary}`)
}

async function main(): Promise<number> {
  globalSetup()
  const service = prepareService(process.argv[2])
  rehearse(service, localstackPlugin())
  let moto: Moto | undefined
  try {
    moto = await startMoto()
    console.log(`moto server on ${moto.endpoint}`)
    const common = {
      env: {
        ...localPipIndexEnv(),
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: 'demo',
        AWS_SECRET_ACCESS_KEY: 'demo'
      },
      node: existsSync(NODE24) ? NODE24 : undefined
    }
    const inputs = { 'working-directory': service, stage: STAGE }
    const deployed = await runAction({ ...common, inputs: { ...inputs, command: 'deploy' } })
    if (deployed.exitCode !== 0) console.log(deployed.stdout.split('\n').slice(-40).join('\n'))
    show('deploy', deployed)
    if (deployed.exitCode !== 0) return 1
    const removed = await runAction({
      ...common,
      home: deployed.home,
      inputs: { ...inputs, command: 'remove' }
    })
    show('remove', removed)
    return removed.exitCode
  } finally {
    await moto?.stop()
  }
}

main().then(
  code => process.exit(code),
  error => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
)
