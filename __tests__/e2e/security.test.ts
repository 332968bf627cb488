import { jest } from '@jest/globals'
import { CloudFormationClient, ListStacksCommand } from '@aws-sdk/client-cloudformation'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { execFile, execFileSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import YAML from 'yaml'
import { copyFixture, FIXTURES } from '../support/fixture.js'
import { VENV } from '../support/hermetic.mjs'
import { findStack, startMoto, type Moto } from '../support/moto.js'
import { startFaultProxy, startIssuer, type FaultProxy, type Issuer } from '../support/oidc.js'
import { pipEnv } from '../support/pip.js'
import { NODE24, runAction, type ActionRun, errorLines } from '../support/runner.js'

/**
 * Issues 8 and 17, security, through dist/index.js against moto:
 * - only the assumed role deploys, whatever else the environment offers (profiles, stage keys, a
 *   container credentials endpoint, a web identity token);
 * - allowed-account-ids refuses before anything is installed or created;
 * - nothing the action masks is written anywhere, serverless never sees the runner's tokens, the
 *   inputs or competing credentials, and npm sees no AWS credentials at all;
 * - a dependency's install script runs only when package.json's allowScripts approves it, and then
 *   sees what npm sees; the one not approved is named in a notice;
 * - Python, even code a `.pth` file runs in every interpreter, sees no runner token and no input;
 * - `package` resolves `${ssm:}` with the assumed role.
 *
 * moto puts what assumed-role credentials create into the role's account (111111111111), and what
 * any other keys create into its default account (123456789012). The environment names a profile and
 * stage keys of the default account, so a deploy that used them would land there.
 */

jest.setTimeout(600_000)

const execFileAsync = promisify(execFile)

const ROLE_ACCOUNT = '111111111111'
const DEFAULT_ACCOUNT = '123456789012'
const ROLE = `arn:aws:iam::${ROLE_ACCOUNT}:role/github-deploy-security`
const STAGE = 'dev'
const REGION = 'us-east-1'
const STACK = `fixture-api-${STAGE}`
const SSM_NAME = `/fixture-api/${STAGE}/greeting`
const SSM_VALUE = 'hello-from-the-role-account'
const GITHUB_TOKEN = `ghs_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`
const RUNTIME_TOKEN = `runtime-token-${Math.random().toString(36).slice(2)}`

/** What the plugin and the npm lifecycle script record, in the service folder (left out of the artifact). */
const SERVERLESS_RECORD = '.recorded-serverless-env.jsonl'
const NPM_RECORD = '.recorded-npm-env.json'
/** What an install-recorder dependency's script records, in its own folder (fixtures/install-recorder). */
const INSTALL_RECORD = '.recorded-install-env.json'
/** Local `file:` dependencies with an install script: one approved in allowScripts, one not. */
const APPROVED = 'recorder-approved'
const UNAPPROVED = 'recorder-unapproved'
/** Where the service keeps them (left out of the artifact). */
const LOCAL_DEPS = 'local-deps'
/** The Python the action chooses for the fixture's python3.11 runtime. */
const PYTHON_MINOR = '3.11'

/** The runner's own tokens and the action's inputs: no child process may see them. */
const RUNNER_VARIABLES = [
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL'
]
/**
 * Every other way Serverless v3 picks credentials (lib/plugins/aws/provider.js getCredentials), and
 * the other sources of the AWS SDK's default chain it uses (the shared files, a container's endpoint,
 * a web identity token).
 */
const COMPETING = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_DEV_PROFILE',
  'AWS_DEV_ACCESS_KEY_ID',
  'AWS_DEV_SECRET_ACCESS_KEY',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN'
]
/** AWS credentials in any form. */
const AWS_CREDENTIAL =
  /^AWS_(.+_)?(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|PROFILE)$|^AWS_DEFAULT_PROFILE$/
/** Every source of AWS credentials the SDKs read from the environment. */
const AWS_CREDENTIAL_SOURCE =
  /^AWS_(.+_)?(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|PROFILE)$|^AWS_DEFAULT_PROFILE$|^AWS_(SHARED_CREDENTIALS_FILE|CONFIG_FILE|WEB_IDENTITY_TOKEN_FILE|ROLE_ARN)$|^AWS_CONTAINER_/
/** What no child but serverless' may see, and serverless' neither: the runner's and GitHub's tokens, the inputs, the command files. */
const RUNNER_ONLY =
  /^(ACTIONS_.*|INPUT_.*|GITHUB_TOKEN|GH_TOKEN|GITHUB_(ENV|PATH|OUTPUT|STATE|STEP_SUMMARY))$/
/** The names in a recording that a child other than serverless must not see. */
function forbiddenForTools(names: string[]): string[] {
  return names.filter(name => RUNNER_ONLY.test(name) || AWS_CREDENTIAL_SOURCE.test(name))
}
const EXPORTED_CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']

interface Keys {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** Keys moto knows nothing about: it takes them for the default account. */
const DEFAULT_KEYS: Keys = { accessKeyId: 'testing', secretAccessKey: 'testing' }

let moto: Moto
let issuer: Issuer
let proxy: FaultProxy
/** Credentials of the role's account, from an AssumeRole on moto. */
let roleKeys: Keys
let service: string
let home: string
const temps: string[] = []

/**
 * The runner's environment: OIDC through the loopback issuer, STS through a proxy that records the
 * credentials it hands out, the runner's tokens, and a profile and stage keys of the default account
 * (static keys in a shared credentials file in the runner's HOME).
 */
function runnerEnv(): Record<string, string> {
  return {
    ...pipEnv(),
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ENDPOINT_URL_STS: proxy.endpoint,
    ACTIONS_ID_TOKEN_REQUEST_URL: issuer.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken,
    ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
    ACTIONS_RUNTIME_URL: 'http://127.0.0.1:9/runtime/',
    ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/results/',
    ACTIONS_CACHE_URL: 'http://127.0.0.1:9/cache/',
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, '.aws', 'credentials'),
    AWS_CONFIG_FILE: path.join(home, '.aws', 'config'),
    AWS_PROFILE: 'static-default',
    AWS_DEFAULT_PROFILE: 'static-default',
    AWS_DEV_PROFILE: 'static-default',
    AWS_DEV_ACCESS_KEY_ID: 'AKIASTAGEDEFAULT0000',
    AWS_DEV_SECRET_ACCESS_KEY: 'stage-keys-of-the-default-account',
    // A container's credentials endpoint (nothing listens there) and a web identity token of another
    // role, as an ECS task or an EKS pod running the runner would have them.
    AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/creds',
    AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-authorization-of-the-default-account',
    AWS_WEB_IDENTITY_TOKEN_FILE: path.join(home, 'web-identity-token'),
    AWS_ROLE_ARN: `arn:aws:iam::${DEFAULT_ACCOUNT}:role/ambient-web-identity`,
    // GitHub's token as workflows commonly pass it to every step.
    GITHUB_TOKEN,
    GH_TOKEN: GITHUB_TOKEN
  }
}

async function action(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  expectedExitCode = 0
): Promise<ActionRun> {
  const run = await runAction({
    inputs: {
      'working-directory': service,
      stage: STAGE,
      'aws-region': REGION,
      'role-to-assume': ROLE,
      'github-token': GITHUB_TOKEN,
      cache: 'false',
      ...inputs
    },
    env: { ...runnerEnv(), ...env },
    node: NODE24,
    home
  })
  if (run.exitCode !== expectedExitCode) console.log(run.stdout.slice(-4000), run.stderr.slice(-2000))
  return run
}

function cloudFormation(keys: Keys): CloudFormationClient {
  return new CloudFormationClient({ region: REGION, endpoint: moto.endpoint, credentials: keys })
}

/** The stack of that name in the account the keys belong to; undefined when there is none. */
const stackIn = (keys: Keys, name: string) => findStack(moto, name, REGION, keys)

async function stackNames(keys: Keys): Promise<string[]> {
  const client = cloudFormation(keys)
  try {
    const listed = await client.send(new ListStacksCommand({}))
    return (listed.StackSummaries ?? [])
      .filter(stack => stack.StackStatus !== 'DELETE_COMPLETE')
      .map(stack => stack.StackName ?? '')
  } finally {
    client.destroy()
  }
}

async function accountOf(keys: Keys): Promise<string | undefined> {
  const sts = new STSClient({ region: REGION, endpoint: moto.endpoint, credentials: keys })
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Account
  } finally {
    sts.destroy()
  }
}

/** Any other AWS call against moto, through boto3 in the moto venv (the project has only a few SDK v3 clients). */
async function boto<T>(
  keys: Keys,
  service: string,
  operation: string,
  params: Record<string, unknown> = {}
): Promise<T> {
  const script = [
    'import boto3, json, sys',
    'a = json.loads(sys.stdin.read())',
    "k = a['keys']",
    "c = boto3.client(a['service'], region_name=a['region'], endpoint_url=a['endpoint'], aws_access_key_id=k['accessKeyId'], aws_secret_access_key=k['secretAccessKey'], aws_session_token=k.get('sessionToken'))",
    "r = getattr(c, a['operation'])(**a['params']) or {}",
    "r.pop('ResponseMetadata', None)",
    'print(json.dumps(r, default=str))'
  ].join('\n')
  const child = execFileAsync(path.join(VENV, 'bin', 'python'), ['-c', script])
  child.child.stdin?.end(
    JSON.stringify({ keys, service, operation, params, region: REGION, endpoint: moto.endpoint })
  )
  const { stdout } = await child
  return JSON.parse(stdout) as T
}

async function bucketNames(keys: Keys): Promise<string[]> {
  const listed = await boto<{ Buckets?: { Name: string }[] }>(keys, 's3', 'list_buckets')
  return (listed.Buckets ?? []).map(bucket => bucket.Name)
}

/** The values the action asked the runner to mask (@actions/core escapes %, CR and LF in them). */
function maskedValues(run: ActionRun): string[] {
  return run.stdout
    .split('\n')
    .filter(line => line.startsWith('::add-mask::'))
    .map(line =>
      line.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
    )
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const file = path.join(dir, name)
    const stat = lstatSync(file)
    if (stat.isSymbolicLink()) return []
    return stat.isDirectory() ? filesUnder(file) : [file]
  })
}

function occurrences(text: string, needle: string): number {
  let count = 0
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) count++
  return count
}

/** The zips' entries that hold any of the needles, read with Python's zipfile (the entries are compressed). */
async function zipHits(zips: string[], needles: string[]): Promise<string[]> {
  if (!zips.length) return []
  const script = [
    'import json, sys, zipfile',
    'a = json.loads(sys.stdin.read())',
    "needles = [n.encode() for n in a['needles']]",
    'hits = []',
    "for z in a['zips']:",
    '    with zipfile.ZipFile(z) as f:',
    '        for name in f.namelist():',
    '            data = f.read(name)',
    "            hits += [z + '!' + name for n in needles if n in data]",
    'print(json.dumps(hits))'
  ].join('\n')
  const child = execFileAsync('python3', ['-c', script], { maxBuffer: 64 * 1024 * 1024 })
  child.child.stdin?.end(JSON.stringify({ zips, needles }))
  return JSON.parse((await child).stdout) as string[]
}

/** Files under `dirs` (the runner's command files left out: they are judged on their own) that hold a needle. */
async function filesHolding(dirs: string[], skip: string[], needles: string[]): Promise<string[]> {
  const files = dirs.flatMap(filesUnder).filter(file => !skip.includes(file))
  const hits: string[] = []
  const bytes = needles.map(needle => Buffer.from(needle))
  for (const file of files.filter(f => !f.endsWith('.zip'))) {
    const content = readFileSync(file)
    if (bytes.some(needle => content.includes(needle))) hits.push(file)
  }
  return [
    ...hits,
    ...(await zipHits(
      files.filter(f => f.endsWith('.zip')),
      needles
    ))
  ]
}

interface Recorded {
  hook: string
  command: string
  names: string[]
}

function serverlessRecords(): Recorded[] {
  const file = path.join(service, SERVERLESS_RECORD)
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as Recorded)
}

/**
 * The service copy: the env-recorder plugin beside it (named by relative path, as Serverless resolves
 * local plugins from the service folder), a root preinstall script that records npm's environment,
 * and two local `file:` dependencies whose install scripts record theirs, one approved in allowScripts.
 */
function prepareService(): void {
  service = copyFixture('service')
  temps.push(path.dirname(service))
  cpSync(path.join(FIXTURES, 'env-recorder'), path.join(service, 'env-recorder'), { recursive: true })
  const file = path.join(service, 'serverless.yml')
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'))
  ;(doc.get('plugins', true) as YAML.YAMLSeq).add(doc.createNode('./env-recorder'))
  for (const pattern of ['!.recorded-*', '!env-recorder/**', `!${LOCAL_DEPS}/**`])
    (doc.getIn(['package', 'patterns'], true) as YAML.YAMLSeq).add(doc.createNode(pattern))
  writeFileSync(file, doc.toString())
  const manifestFile = path.join(service, 'package.json')
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, Record<string, unknown>>
  manifest.scripts = {
    preinstall: `node -e "require('fs').writeFileSync('${NPM_RECORD}', JSON.stringify(Object.keys(process.env).sort()))"`
  }
  manifest.allowScripts = { [APPROVED]: true }
  // As `npm install --save-dev ./local-deps/<name>` writes them: a link to the folder in the lockfile.
  const lockFile = path.join(service, 'package-lock.json')
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as {
    packages: Record<string, Record<string, unknown> & { devDependencies?: Record<string, string> }>
  }
  for (const name of [APPROVED, UNAPPROVED]) {
    const folder = `${LOCAL_DEPS}/${name}`
    cpSync(path.join(FIXTURES, 'install-recorder'), path.join(service, folder), { recursive: true })
    const depFile = path.join(service, folder, 'package.json')
    writeFileSync(depFile, JSON.stringify({ ...JSON.parse(readFileSync(depFile, 'utf8')), name }, null, 2))
    manifest.devDependencies[name] = `file:${folder}`
    ;(lock.packages[''].devDependencies ??= {})[name] = `file:${folder}`
    lock.packages[folder] = { name, version: '1.0.0', dev: true, hasInstallScript: true }
    lock.packages[`node_modules/${name}`] = { resolved: folder, link: true }
  }
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`)
  writeFileSync(lockFile, `${JSON.stringify(lock, null, 2)}\n`)
}

/** What a local dependency's install script recorded; undefined when it did not run. */
function installRecord(name: string): { package: string; event: string; names: string[] } | undefined {
  const file = path.join(service, LOCAL_DEPS, name, INSTALL_RECORD)
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { package: string; event: string; names: string[] })
    : undefined
}

/** Where a `.pth` file in Python's user site records each interpreter's environment (names only). */
let pythonRecord: string
/** The Python the action will choose (the first python3.11 on PATH), as the test found it with the runner's HOME. */
let chosenPython: { executable: string; userSite: string; enabled: boolean }

function pythonRecords(): { argv: string[]; names: string[] }[] {
  if (!existsSync(pythonRecord)) return []
  return readFileSync(pythonRecord, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as { argv: string[]; names: string[] })
}

/**
 * A `.pth` file in the user site of the Python the action chooses: Python runs an `import` line of one
 * at every start (site.py), unless the user site is off (-s, -I, PYTHONNOUSERSITE). The runner's HOME
 * is this test's, so the user site is too.
 */
function plantPth(): void {
  const script =
    'import json, site, sys; print(json.dumps({"executable": sys.executable, "userSite": site.getusersitepackages(), "enabled": bool(site.ENABLE_USER_SITE)}))'
  chosenPython = JSON.parse(
    execFileSync(`python${PYTHON_MINOR}`, ['-c', script], {
      env: { ...process.env, HOME: home },
      encoding: 'utf8'
    })
  ) as typeof chosenPython
  pythonRecord = path.join(home, '.recorded-python-env.jsonl')
  mkdirSync(chosenPython.userSite, { recursive: true })
  writeFileSync(
    path.join(chosenPython.userSite, 'zz-record.pth'),
    `import json, os, sys; open(${JSON.stringify(pythonRecord)}, 'a').write(json.dumps({'argv': getattr(sys, 'orig_argv', []), 'names': sorted(os.environ)}) + '\\n')\n`
  )
}

/** The runner's HOME, with a shared credentials file whose profiles hold static keys of the default account. */
function prepareHome(): void {
  home = mkdtempSync(path.join(os.tmpdir(), 'runner-security-'))
  temps.push(home)
  mkdirSync(path.join(home, '.aws'))
  writeFileSync(
    path.join(home, '.aws', 'credentials'),
    [
      '[default]',
      'aws_access_key_id = AKIADEFAULTPROFILE00',
      'aws_secret_access_key = default-profile-of-the-default-account',
      '[static-default]',
      'aws_access_key_id = AKIASTATICDEFAULT000',
      'aws_secret_access_key = static-profile-of-the-default-account',
      ''
    ].join('\n')
  )
  writeFileSync(
    path.join(home, '.aws', 'config'),
    ['[default]', `region = ${REGION}`, '[profile static-default]', `region = ${REGION}`, ''].join('\n')
  )
  writeFileSync(path.join(home, 'web-identity-token'), 'web-identity-token-of-another-role')
  plantPth()
}

beforeAll(async () => {
  moto = await startMoto()
  issuer = await startIssuer()
  proxy = await startFaultProxy(moto.endpoint, 'Throttling', 0)
  const sts = new STSClient({ region: REGION, endpoint: moto.endpoint, credentials: DEFAULT_KEYS })
  try {
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ROLE_ACCOUNT}:role/security-test-reader`,
        RoleSessionName: 'security-test'
      })
    )
    roleKeys = {
      accessKeyId: assumed.Credentials?.AccessKeyId ?? '',
      secretAccessKey: assumed.Credentials?.SecretAccessKey ?? '',
      sessionToken: assumed.Credentials?.SessionToken
    }
  } finally {
    sts.destroy()
  }
  prepareHome()
  prepareService()
})

afterAll(async () => {
  await proxy?.close()
  await issuer?.close()
  await moto?.stop()
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

describe('the accounts the checks below read', () => {
  it('maps the assumed-role keys to the role account and the plain keys to the default account', async () => {
    expect(await accountOf(roleKeys)).toBe(ROLE_ACCOUNT)
    expect(await accountOf(DEFAULT_KEYS)).toBe(DEFAULT_ACCOUNT)
    expect(await accountOf({ accessKeyId: 'AKIASTATICDEFAULT000', secretAccessKey: 'x' })).toBe(
      DEFAULT_ACCOUNT
    )
  })
})

// First in the file, on a fresh moto: nothing exists in either account yet.
describe('allowed-account-ids without the role account', () => {
  let refused: ActionRun

  beforeAll(async () => {
    refused = await action({ command: 'deploy', 'allowed-account-ids': DEFAULT_ACCOUNT }, {}, 1)
  })

  it('fails with one error naming the account and the fix, before npm or serverless runs', () => {
    expect(refused.exitCode).toBe(1)
    expect(errorLines(refused)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::error title=Account not allowed::Input 'allowed-account-ids' is '${DEFAULT_ACCOUNT}', but the credentials from the role ${ROLE.replace(/[/.]/g, '\\$&')} belong to account ${ROLE_ACCOUNT}\\. Nothing was deployed or deleted\\. Use a role in one of the allowed accounts, or add ${ROLE_ACCOUNT} to allowed-account-ids\\.$`
        )
      )
    ])
    expect(refused.stdout).not.toContain('serverless.js')
    expect(refused.stdout).not.toContain('[command]')
    expect(existsSync(path.join(service, SERVERLESS_RECORD))).toBe(false)
    expect(existsSync(path.join(service, NPM_RECORD))).toBe(false)
    expect(refused.outputs['aws-account-id'] ?? '').toBe('')
  })

  it('leaves no stack and no bucket in either account', async () => {
    expect(await stackNames(roleKeys)).toEqual([])
    expect(await stackNames(DEFAULT_KEYS)).toEqual([])
    expect(await bucketNames(roleKeys)).toEqual([])
    expect(await bucketNames(DEFAULT_KEYS)).toEqual([])
  })
})

describe('deploy with role-to-assume while a profile and stage keys of another account are configured', () => {
  let deployed: ActionRun
  /** What STS and the issuer handed out to this run (the refusal above had its own). */
  let handedOut: string[]

  beforeAll(async () => {
    const [secretsBefore, tokensBefore] = [proxy.secrets.length, issuer.tokens.length]
    // Ambient keys too (of the default account), and the credentials exported for later steps.
    deployed = await action(
      { command: 'deploy', 'export-credentials': 'true' },
      { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }
    )
    handedOut = [...proxy.secrets.slice(secretsBefore), ...issuer.tokens.slice(tokensBefore)]
  })

  it('deploys into the role account only, and reports that account', async () => {
    const stack = await stackIn(roleKeys, STACK)
    // One picture of where everything went, so that a failure shows which account got what.
    expect({
      exitCode: deployed.exitCode,
      accountOutput: deployed.outputs['aws-account-id'],
      roleAccount: {
        stack: stack?.StackStatus,
        buckets: (await bucketNames(roleKeys)).filter(name => name.startsWith(`${STACK}-`)).length
      },
      defaultAccount: { stacks: await stackNames(DEFAULT_KEYS), buckets: await bucketNames(DEFAULT_KEYS) }
    }).toEqual({
      exitCode: 0,
      accountOutput: ROLE_ACCOUNT,
      // Serverless creates the stack with its bucket, then updates it with the functions.
      roleAccount: { stack: expect.stringMatching(/^(CREATE|UPDATE)_COMPLETE$/), buckets: 1 },
      defaultAccount: { stacks: [], buckets: [] }
    })
    expect(deployed.stdout).toContain(`Assumed ${ROLE} in account ${ROLE_ACCOUNT}`)
    expect(stack?.Outputs?.find(o => o.OutputKey === 'HttpApiUrl')?.OutputValue).toBe(deployed.outputs.url)
  })

  it('serverless saw none of the runner tokens, inputs or competing credentials, only the role', () => {
    const records = serverlessRecords()
    // Both serverless runs of a deploy: the package step and the deploy of that package.
    expect(records.map(r => `${r.hook} ${r.command}`)).toEqual([
      'initialize package',
      'before:package:initialize package',
      'initialize deploy'
    ])
    for (const record of records) {
      expect(record.names).toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN']))
      expect(record.names.filter(name => RUNNER_VARIABLES.includes(name))).toEqual([])
      expect(record.names.filter(name => RUNNER_ONLY.test(name))).toEqual([])
      expect(record.names.filter(name => COMPETING.includes(name))).toEqual([])
    }
  })

  it('npm saw no AWS credentials, no runner tokens and no inputs', () => {
    // The service's own preinstall script ran, on its own, after the install (which runs none).
    expect(deployed.stdout).toMatch(/\[command\]\S*npm run preinstall --ignore-scripts/)
    const file = path.join(service, NPM_RECORD)
    expect(existsSync(file)).toBe(true)
    const names = JSON.parse(readFileSync(file, 'utf8')) as string[]
    expect(names).toContain('npm_lifecycle_event')
    expect(names).toContain('PATH')
    // Package managers get what they are listed for (child-env.ts), and nothing of AWS at all.
    expect(names.filter(name => name.startsWith('AWS_'))).toEqual([])
    expect(names.filter(name => AWS_CREDENTIAL.test(name))).toEqual([])
    expect(forbiddenForTools(names)).toEqual([])
  })

  it("runs the install script package.json approves, which sees what npm sees and nothing of AWS or the runner's", () => {
    expect(deployed.stdout).toMatch(new RegExp(`\\[command\\]\\S*npm rebuild ${APPROVED}$`, 'm'))
    const record = installRecord(APPROVED)
    expect(record).toEqual({ package: APPROVED, event: 'install', names: expect.arrayContaining(['PATH']) })
    expect(forbiddenForTools(record?.names ?? [])).toEqual([])
    expect(record?.names.filter(name => name.startsWith('AWS_'))).toEqual([])
  })

  it('runs no install script package.json does not approve, and names it in one notice', () => {
    expect(installRecord(UNAPPROVED)).toBeUndefined()
    const naming = deployed.stdout
      .split('\n')
      .filter(line => line.startsWith('::notice') && line.includes(UNAPPROVED))
    expect(naming).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::notice title=Install scripts not run::Install scripts not run, .*: (.*, )?${UNAPPROVED}@1\\.0\\.0 \\(install\\)(,|\\.)`
        )
      )
    ])
    expect(naming[0]).not.toContain(APPROVED)
  })

  it('Python, with a .pth in its user site that runs in every interpreter, sees no runner token, input or credential', () => {
    // The recorder sits where the chosen Python reads it, and the user site is on there.
    expect(deployed.outputs['python-version']).toMatch(
      new RegExp(`^${PYTHON_MINOR.replace('.', '\\.')}\\.\\d+$`)
    )
    expect(deployed.stdout).toContain(`(path): ${chosenPython.executable}`)
    expect(chosenPython.enabled).toBe(true)
    const records = pythonRecords()
    // The action's own Python (its probes) and what serverless starts (pip, through the action's shim).
    expect(records.some(record => !record.names.includes('SLS_TELEMETRY_DISABLED'))).toBe(true)
    expect(records.some(record => record.names.includes('SLS_TELEMETRY_DISABLED'))).toBe(true)
    for (const record of records)
      expect({ argv: record.argv, forbidden: forbiddenForTools(record.names) }).toEqual({
        argv: record.argv,
        forbidden: []
      })
    // And the recorder records: a Python started with the runner's HOME and a variable to miss.
    const before = records.length
    execFileSync(chosenPython.executable, ['-c', 'pass'], {
      env: { PATH: process.env.PATH, HOME: home, ACTIONS_RUNTIME_TOKEN: 'x' }
    })
    const after = pythonRecords()
    expect(after).toHaveLength(before + 1)
    expect(forbiddenForTools(after[before].names)).toEqual(['ACTIONS_RUNTIME_TOKEN'])
  })

  it('exports the assumed credentials, and only them, when export-credentials is true', () => {
    expect(Object.keys(deployed.exported).sort()).toEqual(
      [...EXPORTED_CREDENTIALS, 'AWS_DEFAULT_REGION', 'AWS_REGION'].sort()
    )
    for (const name of EXPORTED_CREDENTIALS) expect(handedOut).toContain(deployed.exported[name])
  })

  it('writes no masked value, OIDC token or github-token anywhere', async () => {
    const masked = maskedValues(deployed)
    // The OIDC token and the three assumed credentials, masked before anything could print them.
    expect(handedOut).toHaveLength(4)
    for (const secret of handedOut) expect(masked).toContain(secret)
    // Everything any run of this file was handed (the refusal's too), the github-token input, and the
    // runner's own tokens.
    const secrets = [
      ...new Set([
        ...masked,
        ...proxy.secrets,
        ...issuer.tokens,
        GITHUB_TOKEN,
        RUNTIME_TOKEN,
        issuer.requestToken
      ])
    ]

    const logs = `${deployed.stdout}\n${deployed.stderr}`
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    const read = (file: string) => readFileSync(file, 'utf8')
    const places: Record<string, string> = {
      logs,
      outputs: read(deployed.files.output),
      summary: read(deployed.files.summary),
      state: read(deployed.files.state),
      path: read(deployed.files.path)
    }
    for (const [place, text] of Object.entries(places))
      expect({ place, leaked: secrets.filter(secret => text.includes(secret)) }).toEqual({
        place,
        leaked: []
      })

    // GITHUB_ENV holds the exported credentials, each once, and nothing else secret.
    const env = read(deployed.files.env)
    for (const secret of secrets) {
      const exported = EXPORTED_CREDENTIALS.filter(name => deployed.exported[name] === secret).length
      expect({ secret: secret.slice(0, 4), count: occurrences(env, secret) }).toEqual({
        secret: secret.slice(0, 4),
        count: exported
      })
    }

    // Every file of the service folder and the runner's home, node_modules and the artifact's entries included.
    const hits = await filesHolding([service, home], Object.values(deployed.files), secrets)
    expect(hits).toEqual([])
  })
})

describe('package with role-to-assume', () => {
  let packaged: ActionRun

  beforeAll(async () => {
    // The parameter exists only in the role account: only the role's credentials resolve it.
    await boto(roleKeys, 'ssm', 'put_parameter', { Name: SSM_NAME, Value: SSM_VALUE, Type: 'String' })
    const file = path.join(service, 'serverless.yml')
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'))
    doc.setIn(['provider', 'environment', 'GREETING'], `\${ssm:${SSM_NAME}}`)
    writeFileSync(file, doc.toString())
    rmSync(path.join(service, SERVERLESS_RECORD), { force: true })
    packaged = await action({ command: 'package' })
  })

  it('the parameter is in the role account and not in the default account', async () => {
    const found = await boto<{ Parameter: { Value: string } }>(roleKeys, 'ssm', 'get_parameter', {
      Name: SSM_NAME
    })
    expect(found.Parameter.Value).toBe(SSM_VALUE)
    await expect(boto(DEFAULT_KEYS, 'ssm', 'get_parameter', { Name: SSM_NAME })).rejects.toThrow(
      /ParameterNotFound/
    )
  })

  it('resolves ${ssm:} with the assumed role, and serverless saw no competing credentials', () => {
    expect(packaged.exitCode).toBe(0)
    expect(packaged.outputs['aws-account-id']).toBe(ROLE_ACCOUNT)
    const template = JSON.parse(
      readFileSync(path.join(service, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8')
    ) as { Resources: Record<string, { Type: string; Properties: { Environment?: unknown } }> }
    const lambda = Object.values(template.Resources).find(r => r.Type === 'AWS::Lambda::Function')
    expect(lambda?.Properties.Environment).toEqual({ Variables: { GREETING: SSM_VALUE } })
    const records = serverlessRecords()
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) expect(record.names.filter(name => COMPETING.includes(name))).toEqual([])
  })
})
