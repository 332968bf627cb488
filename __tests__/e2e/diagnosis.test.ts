import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PRE_CHECKS, RULES } from '../../src/diagnosis.js'
import { copyFixture, FIXTURES } from '../support/fixture.js'
import { VENV } from '../support/hermetic.mjs'
import { holdings, startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import {
  errorLines,
  NODE24,
  parseError,
  runAction,
  type ActionRun,
  type ErrorLine
} from '../support/runner.js'

// Real npm, pip, Serverless 3 and moto: each case takes from seconds to a minute or two.
jest.setTimeout(600_000)

/**
 * The failures Serverless, pip, Docker and AWS (as moto plays it) produce, provoked for real through
 * dist/index.js, and what the action makes of them: one error annotation with the rule's title, the
 * cause and the fix, pointing at the line to change. What cannot be provoked here is checked against
 * captured text in __tests__/unit/diagnosis.test.ts; the last test says which is which.
 */

const REGION = 'eu-west-1'
/** The rule each case provokes, for the coverage check at the end. */
const provoked = new Set<string>()

let moto: Moto
/** The fixture, installed once by the action itself (node_modules and its marker), shared by the cases. */
let base: string
let home: string
const scratch = mkdtempSync(path.join(os.tmpdir(), 'diagnosis-'))

const SERVICE_FILES = [
  'serverless.yml',
  'package.json',
  'package-lock.json',
  'requirements.txt',
  'handler.py'
]

/**
 * A copy of the fixture with one thing broken, in `<root>/svc` (the root is the workspace, so the
 * annotation's file reads svc/…). node_modules is the installed fixture's: the lockfile is the same,
 * so the action finds it up to date and installs nothing.
 */
function variant(edit: (files: Record<string, string>) => void): { root: string; dir: string } {
  const root = mkdtempSync(path.join(scratch, 'case-'))
  const dir = path.join(root, 'svc')
  mkdirSync(dir)
  const files = Object.fromEntries(
    SERVICE_FILES.map(name => [name, readFileSync(path.join(base, name), 'utf8')])
  )
  edit(files)
  // A changed lockfile would make the action reinstall into the shared node_modules: never.
  if (files['package.json'] !== readFileSync(path.join(base, 'package.json'), 'utf8'))
    throw new Error('a variant keeps the fixture’s package.json')
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  symlinkSync(path.join(base, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  return { root, dir }
}

const credentials = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }

async function action(
  root: string,
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {}
): Promise<ActionRun> {
  return runAction({
    inputs: { 'working-directory': 'svc', stage: 'test', 'aws-region': REGION, ...inputs },
    env: {
      ...credentials,
      AWS_ENDPOINT_URL: moto.endpoint,
      // No AWS SDK may ask an instance metadata service: none is here, and it is not a loopback address.
      AWS_EC2_METADATA_DISABLED: 'true',
      ...pipEnv(),
      ...env
    },
    node: NODE24,
    cwd: root,
    home
  })
}

/** The one `::error` line of a run, as the runner reads it. */
function theError(run: ActionRun): ErrorLine {
  const lines = errorLines(run)
  if (lines.length !== 1) console.log(run.stdout.slice(-6000), run.stderr.slice(-2000))
  expect(run.exitCode).toBe(1)
  expect(lines).toHaveLength(1)
  return parseError(lines[0])
}

/** A find-links folder with one wheel of `name` 1.0 for `tag`, its METADATA extended by `metadata`. */
function wheelhouse(name: string, tag: string, metadata = ''): string {
  const wheels = mkdtempSync(path.join(scratch, 'wheels-'))
  const script = String.raw`
import sys, zipfile
folder, name, tag, extra = sys.argv[1:5]
dist = f"{name}-1.0.dist-info"
with zipfile.ZipFile(f"{folder}/{name}-1.0-{tag}.whl", "w") as z:
    z.writestr(f"{name}/__init__.py", "")
    z.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{extra}")
    z.writestr(f"{dist}/WHEEL", f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {'true' if tag.startswith('py') else 'false'}\nTag: {tag}\n")
    z.writestr(f"{dist}/RECORD", "")
`
  execFileSync('python3', ['-c', script, wheels, name, tag, metadata])
  return wheels
}

/** Checks the error is the rule's, and records the rule as provoked for real. */
function expectRule(error: ErrorLine, id: string): void {
  const rule = RULES.find(r => r.id === id)
  expect(rule).toBeDefined()
  expect(error.properties.title).toBe(rule?.title)
  provoked.add(id)
}

/** What moto holds in the regions the cases use, by name: these cases compare with empty lists. */
const holdingsNow = () => holdings(moto, [REGION, 'us-east-1'])

/** Back to an empty moto, after a case that leaves (or may leave) a stack behind. */
async function resetMoto(): Promise<void> {
  await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' })
}

/** moto checks IAM policies from the next request on (0), or no longer (inf). */
async function motoAuth(count: '0' | 'inf'): Promise<void> {
  const response = await fetch(`${moto.endpoint}/moto-api/reset-auth`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: count
  })
  if (!response.ok) throw new Error(`moto reset-auth ${count}: ${response.status}`)
}

beforeAll(async () => {
  moto = await startMoto()
  home = mkdtempSync(path.join(scratch, 'home-'))
  base = copyFixture('service')
  // The control: the fixture as it is packages. Every case below differs from it in one thing only.
  const control = await runAction({
    inputs: { command: 'package', 'working-directory': base, stage: 'test' },
    env: { ...credentials, AWS_ENDPOINT_URL: moto.endpoint, AWS_EC2_METADATA_DISABLED: 'true', ...pipEnv() },
    node: NODE24,
    home
  })
  if (control.exitCode !== 0) console.log(control.stdout.slice(-4000), control.stderr.slice(-2000))
  expect(control.exitCode).toBe(0)
})

afterAll(async () => {
  await moto?.stop()
  rmSync(scratch, { recursive: true, force: true })
  if (base) rmSync(path.dirname(base), { recursive: true, force: true })
})

describe('pip', () => {
  it('a requirement that does not exist: names the package, the version, the platform and requirements.txt line', async () => {
    const { root } = variant(files => (files['requirements.txt'] = 'fastapi\nmangum==9.9.9\n'))
    const error = theError(await action(root, { command: 'package' }))
    expectRule(error, 'pip-no-distribution')
    expect(error.message).toMatch(
      /^pip could not install mangum ==9\.9\.9 for manylinux2014_x86_64, CPython 3\.11 \(requirements\.txt line 2: mangum==9\.9\.9\); the index has versions \d[\w., ]*\. Check the name and version/
    )
    expect(error.properties).toMatchObject({ file: 'svc/requirements.txt', line: '2' })
    expect(await holdingsNow()).toEqual({ stacks: [], buckets: [] })
  })

  it("a package with a wheel for x86_64 only, for arm64: the action's helper names it", async () => {
    // A wheel made here, so that the index of whatever machine runs this cannot have another.
    const wheels = wheelhouse('spdonlyx86', 'cp311-cp311-manylinux2014_x86_64')
    const { root } = variant(files => {
      files['requirements.txt'] = 'spdonlyx86==1.0\n'
      files['serverless.yml'] = files['serverless.yml'].replace(
        '  runtime: python3.11\n',
        '  runtime: python3.11\n  architecture: arm64\n'
      )
    })
    const findLinks = [wheels, pipEnv().PIP_FIND_LINKS].filter(Boolean).join(' ')
    const error = theError(await action(root, { command: 'package' }, { PIP_FIND_LINKS: findLinks }))
    expectRule(error, 'no-wheel-for-platform')
    expect(error.message).toMatch(
      /^spdonlyx86 1\.0 has no wheel for manylinux2014_aarch64 \(CPython 3\.11\): only for other platforms \(cp311-cp311-manylinux2014_x86_64\) \(requirements\.txt line 1: spdonlyx86==1\.0\)\. Lambda cannot run a build for another platform\./
    )
    expect(error.message).toMatch(/set provider\.architecture to a platform it has wheels for/)
    expect(error.properties).toMatchObject({ file: 'svc/requirements.txt', line: '1' })
  })
  it('a requirement that needs a newer Python than the runtime: names it, both versions, and the fix', async () => {
    // Pure Python, so no platform stops it first: only its Requires-Python does.
    const wheels = wheelhouse('spdneeds312', 'py3-none-any', 'Requires-Python: >=3.12\n')
    const { root } = variant(files => (files['requirements.txt'] = 'spdneeds312==1.0\n'))
    const findLinks = [wheels, pipEnv().PIP_FIND_LINKS].filter(Boolean).join(' ')
    const error = theError(await action(root, { command: 'package' }, { PIP_FIND_LINKS: findLinks }))
    expectRule(error, 'python-version-required')
    expect(error.message).toMatch(
      /^spdneeds312 requires Python >=3\.12, and the functions run on Python 3\.11/
    )
    expect(error.message).toMatch(/Pin a version of spdneeds312 that supports Python 3\.11/)
  })
})

describe('Serverless', () => {
  it('a plugin serverless.yml names that package.json does not install: points at its line', async () => {
    const { root } = variant(
      files =>
        (files['serverless.yml'] = files['serverless.yml'].replace(
          '  - serverless-localstack\n',
          '  - serverless-localstack\n  - serverless-domain-manager\n'
        ))
    )
    const run = await action(root, { command: 'package' })
    const error = theError(run)
    expectRule(error, 'plugin-missing')
    const line = readFileSync(path.join(root, 'svc', 'serverless.yml'), 'utf8')
      .split('\n')
      .indexOf('  - serverless-domain-manager')
    expect(error.message).toBe(
      `serverless.yml names the plugin serverless-domain-manager (line ${line + 1}), but it is not installed. Add it to the service's package.json (npm install --save-dev serverless-domain-manager) and commit the lockfile, or remove it from plugins:.`
    )
    expect(error.properties).toMatchObject({ file: 'svc/serverless.yml', line: String(line + 1) })
    // Serverless said it first, in its own words, in the log group.
    expect(run.stdout).toContain('Serverless plugin "serverless-domain-manager" not found.')
  })

  it("variables that cannot be resolved: Serverless' whole message, what to do about each, and the first one's line", async () => {
    const { root } = variant(
      files =>
        (files['serverless.yml'] = files['serverless.yml'].replace(
          '  deploymentMethod: direct\n',
          '  deploymentMethod: direct\n  environment:\n    WEATHER_URL: ${env:WEATHER_URL}\n    SETTINGS: ${file(./missing.yml):x}\n'
        ))
    )
    const run = await action(root, { command: 'deploy' }, { WEATHER_URL: undefined })
    const error = theError(run)
    expectRule(error, 'variables')
    expect(error.message).toBe(
      [
        'Cannot resolve serverless.yml: Variables resolution errored with:',
        '  - Cannot resolve variable at "provider.environment.WEATHER_URL": Value not found at "env" source,',
        '  - Cannot resolve variable at "provider.environment.SETTINGS": Value not found at "file" source',
        "provider.environment.WEATHER_URL reads the environment variable WEATHER_URL, which is not set: set it in the workflow (env: WEATHER_URL: ${{ vars.WEATHER_URL }}, or a secret), or give the variable a default (${env:WEATHER_URL, 'value'}).",
        'provider.environment.SETTINGS reads ./missing.yml, which does not exist in the service folder: commit it, or fix the path (it is relative to serverless.yml).'
      ].join('\n')
    )
    const lines = readFileSync(path.join(root, 'svc', 'serverless.yml'), 'utf8').split('\n')
    expect(error.properties).toMatchObject({
      file: 'svc/serverless.yml',
      line: String(lines.indexOf('    WEATHER_URL: ${env:WEATHER_URL}') + 1)
    })
    // Packaging stopped there: nothing reached moto.
    expect(run.stdout).not.toMatch(/serverless\.js deploy/)
    expect(await holdingsNow()).toEqual({ stacks: [], buckets: [] })
  })

  it("frameworkVersion that the project's own serverless does not satisfy (installed from package.json's range)", async () => {
    // No lockfile: npm installs the newest 3.x package.json allows, which ~3.38.0 does not.
    const root = mkdtempSync(path.join(scratch, 'case-'))
    const dir = path.join(root, 'svc')
    mkdirSync(dir)
    for (const name of ['handler.py', 'requirements.txt'])
      copyFileSync(path.join(base, name), path.join(dir, name))
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({
        private: true,
        devDependencies: { serverless: '^3.38.0', 'serverless-python-requirements': '6.1.2' }
      })
    )
    writeFileSync(
      path.join(dir, 'serverless.yml'),
      readFileSync(path.join(base, 'serverless.yml'), 'utf8')
        .replace("frameworkVersion: '3'", "frameworkVersion: '~3.38.0'")
        .replace('  - serverless-localstack\n', '')
    )
    const run = await action(root, { command: 'package' })
    const error = theError(run)
    expectRule(error, 'framework-version')
    expect(error.message).toMatch(
      /^serverless\.yml asks for frameworkVersion ~3\.38\.0 \(line 4\), but serverless 3\.(39|[4-9]\d)\.\d+ runs\. Pin serverless in package\.json \(and commit the lockfile\) to a version ~3\.38\.0 allows, or widen frameworkVersion/
    )
    expect(error.properties).toMatchObject({ file: 'svc/serverless.yml', line: '4' })
  })
})

describe('credentials', () => {
  const none = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }

  it('none of any kind, with command package and an ${ssm:} variable: serverless needs them, and says so', async () => {
    // serverless-localstack gives Serverless dummy credentials: a service that reads SSM for real has none.
    const { root } = variant(
      files =>
        (files['serverless.yml'] = files['serverless.yml']
          .replace('  - serverless-localstack\n', '')
          .replace(
            '  deploymentMethod: direct\n',
            '  deploymentMethod: direct\n  environment:\n    API_KEY: ${ssm:/weather/api-key}\n'
          ))
    )
    const error = theError(await action(root, { command: 'package' }, none))
    expectRule(error, 'credentials-missing')
    const line = readFileSync(path.join(root, 'svc', 'serverless.yml'), 'utf8')
      .split('\n')
      .indexOf('    API_KEY: ${ssm:/weather/api-key}')
    expect(error.message).toBe(
      `No AWS credentials reached serverless package. serverless.yml reads \${ssm:/weather/api-key} at provider.environment.API_KEY (line ${line + 1}), and Serverless resolves it from the AWS account even to package. Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.`
    )
    expect(error.properties).toMatchObject({ file: 'svc/serverless.yml', line: String(line + 1) })
  })

  it('none of any kind, with command deploy: the action stops before it installs or runs anything', async () => {
    const { root } = variant(() => undefined)
    const run = await action(root, { command: 'deploy' }, none)
    const error = theError(run)
    expect(error.properties.title).toBe('No AWS credentials')
    expect(error.message).toMatch(
      /^No AWS credentials: set role-to-assume .* or configure credentials in an earlier step/
    )
    expect(run.stdout).not.toContain('[command]')
  })

  it('a role that lacks a permission (moto checking IAM policies): the statement to add', async () => {
    const { root } = variant(() => undefined)
    // A user whose policy allows everything the deploy reads, and not cloudformation:CreateStack.
    const script = String.raw`
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName="deployer")
iam.put_user_policy(UserName="deployer", PolicyName="deploy", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "cloudformation:Describe*", "cloudformation:List*", "cloudformation:ValidateTemplate", "s3:*"], "Resource": "*"}]}))
key = iam.create_access_key(UserName="deployer")["AccessKey"]
print(json.dumps({"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}))
`
    const keys = JSON.parse(
      execFileSync(path.join(VENV, 'bin', 'python'), ['-c', script, moto.endpoint], { encoding: 'utf8' })
    ) as Record<string, string>
    let run: ActionRun
    await motoAuth('0')
    try {
      run = await action(root, { command: 'deploy' }, keys)
    } finally {
      await motoAuth('inf')
    }
    const error = theError(run)
    expectRule(error, 'not-authorized')
    expect(error.message).toMatch(
      /^AWS refused cloudformation:CreateStack to arn:aws:iam::123456789012:user\/deployer, the identity serverless deployed with\. Add this statement to the deploy role's policy:\n\{\n {2}"Effect": "Allow",\n {2}"Action": "cloudformation:CreateStack",\n {2}"Resource": "arn:aws:cloudformation:eu-west-1:\*:stack\/fixture-api-test\/\*"\n\}/
    )
    expect(await holdingsNow()).toEqual({ stacks: [], buckets: [] })
    await resetMoto()
  })
})

describe('CloudFormation (moto)', () => {
  afterEach(resetMoto)

  it('a resource moto rejects: the error, and the resource of serverless.yml it is about', async () => {
    const { root } = variant(
      files =>
        (files['serverless.yml'] +=
          '\nresources:\n  Resources:\n    OrdersQueue:\n      Type: AWS::SQS::Queue\n      Properties:\n        QueueName: orders\n        FifoQueue: true\n')
    )
    const run = await action(root, { command: 'deploy' })
    const error = theError(run)
    // moto refuses the UpdateStack call itself and records no failed resource in the stack's events,
    // so the action has no event to name; Serverless' own error is what is left.
    expectRule(error, 'deploy-refused')
    const line = readFileSync(path.join(root, 'svc', 'serverless.yml'), 'utf8')
      .split('\n')
      .indexOf('    OrdersQueue:')
    expect(error.message).toBe(
      `Stack fixture-api-test failed to deploy: Queue name must end in .fifo for FIFO queues. No resource of the stack reported the failure: CloudFormation or S3 refused the request itself. The error is about OrdersQueue (AWS::SQS::Queue), line ${line + 1} of serverless.yml. Fix what it names in serverless.yml (a resource under resources:, or the function settings that generate it) and deploy again.`
    )
    expect(error.properties).toMatchObject({ file: 'svc/serverless.yml', line: String(line + 1) })
  })

  it('a stack that lives in another region: the action names the region (a pre-check)', async () => {
    const { root } = variant(() => undefined)
    const deployed = await action(root, { command: 'deploy', 'smoke-test-path': '' })
    if (deployed.exitCode !== 0) console.log(deployed.stdout.slice(-4000))
    expect(deployed.exitCode).toBe(0)
    const error = theError(await action(root, { command: 'info', 'aws-region': 'us-east-1' }))
    expect(PRE_CHECKS.map(check => check.title)).toContain(error.properties.title)
    expect(error.properties.title).toBe('No such stack')
    expect(error.message).toBe(
      'Stack fixture-api-test does not exist in us-east-1 (account 123456789012). A stack of that name exists in eu-west-1: set aws-region (or provider.region) to it.'
    )
  })
})

describe('Docker', () => {
  it('dockerizePip on a runner without a Docker engine: points at dockerizePip', async () => {
    const { root } = variant(
      files =>
        (files['serverless.yml'] = files['serverless.yml'].replace(
          'dockerizePip: false',
          'dockerizePip: true'
        ))
    )
    // A cache of its own: serverless-python-requirements skips Docker when its cache has these requirements.
    const cache = mkdtempSync(path.join(scratch, 'cache-'))
    const error = theError(await action(root, { command: 'package' }, { XDG_CACHE_HOME: cache }))
    expectRule(error, 'docker-missing')
    const line = readFileSync(path.join(root, 'svc', 'serverless.yml'), 'utf8')
      .split('\n')
      .indexOf('    dockerizePip: true')
    expect(error.message).toBe(
      `custom.pythonRequirements.dockerizePip (line ${line + 1}) runs pip in Docker, and Docker is not available on this runner. Remove dockerizePip: the action builds Lambda-compatible wheels without Docker (it asks pip for the Lambda platform).`
    )
    expect(error.properties).toMatchObject({ file: 'svc/serverless.yml', line: String(line + 1) })
  })
})

/** Rules whose failure needs another framework than this file's Serverless 3, provoked there. */
const PROVOKED_ELSEWHERE: Record<string, string> = {
  // osls 4 with serverless-localstack 1.4.0, which calls provider.getCredentials().
  'plugin-needs-sdk-v2': 'projects.test.ts'
}

describe('every rule', () => {
  it('is provoked for real above, or checked against captured text', () => {
    const sources = JSON.parse(
      readFileSync(path.join(FIXTURES, 'diagnosis', 'sources.json'), 'utf8')
    ) as Record<string, { rule?: string }>
    const captured = new Set(Object.values(sources).map(entry => entry.rule))
    // Provoked for real in another file, which asserts the rule's title through ruleTitle('<id>').
    for (const [id, file] of Object.entries(PROVOKED_ELSEWHERE)) {
      expect(readFileSync(path.join(FIXTURES, '..', 'e2e', file), 'utf8')).toContain(`ruleTitle('${id}')`)
      provoked.add(id)
    }
    const neither = RULES.map(rule => rule.id).filter(id => !provoked.has(id) && !captured.has(id))
    expect(neither).toEqual([])
    // Captured text stands in only where nothing can be provoked, and for the one form moto does not
    // print: AWS's refusal with the resource it names.
    expect([...provoked].filter(id => captured.has(id))).toEqual(['not-authorized'])
  })
})
