import { jest } from '@jest/globals'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { copyFixture } from '../support/fixture.js'
import { startMoto, type Moto } from '../support/moto.js'
import { startFaultProxy, startIssuer, type Fault, type FaultProxy, type Issuer } from '../support/oidc.js'
import { pipEnv } from '../support/pip.js'
import { errorLines, NODE24, runAction, type ActionRun } from '../support/runner.js'

jest.setTimeout(600_000)

const ROLE = 'arn:aws:iam::123456789012:role/github-deploy-fixture-api'
let moto: Moto
let issuer: Issuer
let service: string
let home: string | undefined

beforeAll(async () => {
  moto = await startMoto()
  service = copyFixture('service')
})

afterAll(async () => {
  await issuer?.close()
  await moto?.stop()
})

/** Only OIDC in reach: no AWS_ACCESS_KEY_ID (runAction drops every AWS_ variable of this process). */
async function oidcRun(
  proxy: FaultProxy,
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {}
): Promise<ActionRun> {
  const run = await runAction({
    inputs: {
      'working-directory': service,
      stage: 'dev',
      'aws-region': 'us-east-1',
      'role-to-assume': ROLE,
      ...inputs
    },
    env: {
      ...pipEnv(),
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ENDPOINT_URL_STS: proxy.endpoint,
      ACTIONS_ID_TOKEN_REQUEST_URL: issuer.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken,
      HOME: path.join(service, '..'),
      ...env
    },
    node: NODE24,
    home
  })
  home = run.home
  if (run.exitCode !== 0) console.log(run.stdout.slice(-4000), run.stderr.slice(-2000))
  return run
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const file = path.join(dir, name)
    if (name === 'node_modules') return []
    return statSync(file).isDirectory() ? filesUnder(file) : [file]
  })
}

/** Everything a run left where someone could read it; ::add-mask:: lines are the runner's masking protocol. */
function everythingWritten(run: ActionRun): string {
  const logs = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  const files = [...Object.values(run.files), ...filesUnder(service).filter(f => !f.endsWith('.zip'))]
  return [logs, ...files.map(file => readFileSync(file, 'latin1'))].join('\n')
}

describe('OIDC: deploy and remove through moto with no stored keys', () => {
  let proxy: FaultProxy
  let deployed: ActionRun

  beforeAll(async () => {
    // The first token request and the first two AssumeRoleWithWebIdentity calls fail; retries carry the run.
    issuer = await startIssuer({ failFirst: 1 })
    proxy = await startFaultProxy(moto.endpoint, 'Throttling', 2)
    deployed = await oidcRun(proxy, { command: 'deploy', audience: 'sts.amazonaws.com' })
  })

  afterAll(async () => {
    await proxy?.close()
  })

  it('deploys with the assumed role and reports its account', () => {
    expect(deployed.exitCode).toBe(0)
    expect(issuer.audiences).toEqual(['sts.amazonaws.com'])
    expect(deployed.outputs['aws-account-id']).toBe('123456789012')
    expect(deployed.outputs.url).toMatch(/^https:\/\//)
    expect(deployed.summary).toContain('123456789012')
  })

  it('retried the token endpoint and STS throttling, saying why', () => {
    expect(deployed.stdout).toMatch(
      /Getting the GitHub OIDC token failed \(token endpoint error\); retry 1 of 4/
    )
    expect(deployed.stdout).toMatch(/sts:AssumeRoleWithWebIdentity failed \(Throttling\); retry 1 of 4/)
    expect(deployed.stdout).toMatch(/sts:AssumeRoleWithWebIdentity failed \(Throttling\); retry 2 of 4/)
    expect(proxy.assumeCalls).toBe(3)
  })

  it('masks every credential and leaks none of them anywhere', () => {
    expect(proxy.secrets.length).toBeGreaterThanOrEqual(3)
    const masked = deployed.stdout.split('\n').filter(line => line.startsWith('::add-mask::'))
    for (const secret of proxy.secrets) expect(masked).toContain(`::add-mask::${secret}`)
    const written = everythingWritten(deployed)
    for (const secret of [...proxy.secrets, ...issuer.tokens]) expect(written.includes(secret)).toBe(false)
    expect(deployed.exported).toEqual({})
  })

  it('removes after a 5xx from STS, exporting the credentials only when asked', async () => {
    const faulty = await startFaultProxy(moto.endpoint, '500', 1)
    try {
      const removed = await oidcRun(faulty, { command: 'remove', 'export-credentials': 'true' })
      expect(removed.exitCode).toBe(0)
      expect(removed.stdout).toMatch(/sts:AssumeRoleWithWebIdentity failed \(InternalFailure\); retry 1 of 4/)
      expect(Object.keys(removed.exported).sort()).toEqual(
        [
          'AWS_ACCESS_KEY_ID',
          'AWS_DEFAULT_REGION',
          'AWS_REGION',
          'AWS_SECRET_ACCESS_KEY',
          'AWS_SESSION_TOKEN'
        ].sort()
      )
      expect(faulty.secrets).toContain(removed.exported.AWS_SECRET_ACCESS_KEY)
    } finally {
      await faulty.close()
    }
  })
})

describe('the three classic OIDC failures end the run before anything is installed', () => {
  const classic: [string, Fault | undefined, Record<string, string | undefined>, RegExp[]][] = [
    [
      'no id-token permission',
      undefined,
      { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined },
      [/no OIDC token/, /permissions:%0A {4}id-token: write/, /forked pull requests/]
    ],
    [
      'a trust policy that does not match',
      'AccessDenied',
      {},
      [
        /refused to let this run assume arn:aws:iam::123456789012:role\/github-deploy-fixture-api/,
        /sub: "repo:octo-org\/fastapi-service:ref:refs\/heads\/main"/,
        /job_workflow_ref: "octo-org\/fastapi-service\/.github\/workflows\/deploy.yml@refs\/heads\/main"/,
        /"token.actions.githubusercontent.com:sub": "repo:octo-org\/fastapi-service:ref:refs\/heads\/main"/
      ]
    ],
    [
      'no OIDC provider in the account',
      'NoProvider',
      {},
      [
        /has no IAM OIDC identity provider for GitHub/,
        /iam\/github-deploy-role.yml/,
        /aws cloudformation deploy/
      ]
    ]
  ]

  it.each(classic)('%s', async (_name, fault, env, messages) => {
    issuer = issuer ?? (await startIssuer())
    const proxy = await startFaultProxy(moto.endpoint, fault ?? 'Throttling', fault ? 99 : 0)
    try {
      const run = await oidcRun(proxy, { command: 'deploy' }, env)
      expect(run.exitCode).toBe(1)
      const errors = errorLines(run)
      expect(errors).toHaveLength(1)
      for (const message of messages) expect(errors[0]).toMatch(message)
      expect(run.stdout).not.toContain('[command]')
      // Refusals are final: one call, no retries.
      expect(proxy.assumeCalls).toBe(fault ? 1 : 0)
    } finally {
      await proxy.close()
    }
  })
})
