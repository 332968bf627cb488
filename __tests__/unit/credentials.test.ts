import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  ambientSource,
  exportCredentials,
  resolveCredentials,
  sessionName,
  tokenClaims
} from '../../src/credentials.js'
import { UserError } from '../../src/errors.js'
import { transientReason } from '../../src/retry.js'
import { githubToken } from '../support/oidc.js'

const secrets: string[] = []
const exported: Record<string, string> = {}
const exportVariable = (name: string, value: string) => void (exported[name] = value)
type Deps = Parameters<typeof resolveCredentials>[3]

const ROLE = 'arn:aws:iam::123456789012:role/deploy'
const settings = {
  roleToAssume: ROLE,
  audience: 'sts.amazonaws.com',
  roleDurationSeconds: 1800,
  exportCredentials: false,
  allowedAccountIds: [] as string[]
}
const oidcEnv = {
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/token',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request',
  GITHUB_REPOSITORY: 'octo-org/fastapi-service',
  GITHUB_RUN_ID: '4242',
  HOME: mkdtempSync(path.join(os.tmpdir(), 'home-'))
}

function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } })
}

/** A fake STS: answers each call from a script of errors and results, and records the inputs. */
function fakeSts(script: (Error | 'assume' | 'identity')[]) {
  const sent: { command: string; input: Record<string, unknown>; credentials?: unknown }[] = []
  const sleeps: number[] = []
  const tokens: string[] = []
  const deps: Deps = {
    getIDToken: async audience => {
      const token = githubToken(audience)
      tokens.push(token)
      return token
    },
    sts: (_region, credentials) => ({
      send: (async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ command: command.constructor.name, input: command.input, credentials })
        const next = script.shift()
        if (next instanceof Error) throw next
        if (next === 'assume')
          return {
            Credentials: {
              AccessKeyId: 'ASIAFAKE',
              SecretAccessKey: 'secret-key',
              SessionToken: 'session-token'
            }
          }
        return { Account: '123456789012' }
      }) as never,
      destroy: () => undefined
    }),
    retry: { sleep: async ms => void sleeps.push(ms), random: () => 0.5 },
    log: () => undefined,
    setSecret: value => void secrets.push(value)
  }
  return { deps, sent, sleeps, tokens }
}

afterAll(() => rmSync(oidcEnv.HOME, { recursive: true, force: true }))

beforeEach(() => {
  secrets.length = 0
  for (const key of Object.keys(exported)) delete exported[key]
})

describe('without role-to-assume', () => {
  const ambient = { ...settings, roleToAssume: undefined }

  it('uses credentials already in the environment, and asks STS whose they are', async () => {
    const { deps, sent } = fakeSts(['identity'])
    const env = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'x', HOME: oidcEnv.HOME }
    const result = await resolveCredentials(ambient, 'eu-west-1', env, deps)
    expect(result).toEqual({ env: {}, accountId: '123456789012', exclusive: false })
    expect(sent.map(s => [s.command, s.credentials])).toEqual([['GetCallerIdentityCommand', undefined]])
  })

  it('leaves a self-hosted runner to its instance role', async () => {
    const env = { HOME: oidcEnv.HOME, RUNNER_ENVIRONMENT: 'self-hosted' }
    expect(ambientSource(env)).toBe("the runner's instance role (EC2 instance metadata)")
    await expect(
      resolveCredentials(ambient, 'eu-west-1', env, fakeSts(['identity']).deps)
    ).resolves.toMatchObject({
      accountId: '123456789012'
    })
    await expect(
      resolveCredentials(
        ambient,
        'eu-west-1',
        { ...env, AWS_EC2_METADATA_DISABLED: 'true' },
        fakeSts([]).deps
      )
    ).rejects.toThrow(/^No AWS credentials/)
  })

  it('stops with one line when there are no credentials at all, before any network call', async () => {
    const { deps, sent } = fakeSts([])
    const run = resolveCredentials(ambient, 'eu-west-1', { HOME: oidcEnv.HOME }, deps)
    await expect(run).rejects.toThrow(UserError)
    await expect(run).rejects.toThrow(/^No AWS credentials: set role-to-assume/)
    expect(sent).toEqual([])
  })

  it('names the source of credentials that do not work', async () => {
    const { deps } = fakeSts([
      awsError('ExpiredToken', 400, 'The security token included in the request is expired')
    ])
    const env = { AWS_PROFILE: 'deploy', HOME: oidcEnv.HOME }
    await expect(resolveCredentials(ambient, 'eu-west-1', env, deps)).rejects.toThrow(
      /^The AWS credentials from the profile deploy \(AWS_PROFILE\) do not work: The security token included in the request is expired/
    )
  })

  it('refuses an account that allowed-account-ids does not list', async () => {
    const { deps } = fakeSts(['identity'])
    const env = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'x', HOME: oidcEnv.HOME }
    await expect(
      resolveCredentials({ ...ambient, allowedAccountIds: ['111111111111'] }, 'eu-west-1', env, deps)
    ).rejects.toThrow(
      /^Input 'allowed-account-ids' is '111111111111', but the credentials from the environment \(AWS_ACCESS_KEY_ID\) belong to account 123456789012\. Nothing was deployed/
    )
  })
})

describe('with role-to-assume', () => {
  it('needs the id-token permission, and says so with the YAML', async () => {
    const { deps, tokens } = fakeSts([])
    const run = resolveCredentials(settings, 'eu-west-1', { HOME: oidcEnv.HOME }, deps)
    await expect(run).rejects.toThrow(/permissions:\n {4}id-token: write/)
    expect(tokens).toEqual([])
  })

  it('assumes the role with the token, masks everything and hands the credentials to the environment only', async () => {
    const { deps, sent, tokens } = fakeSts(['assume', 'identity'])
    const result = await resolveCredentials(settings, 'eu-west-1', oidcEnv, deps)
    expect(sent.map(s => s.command)).toEqual(['AssumeRoleWithWebIdentityCommand', 'GetCallerIdentityCommand'])
    expect(sent[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'GitHubActions-octo-org-fastapi-service-4242',
      WebIdentityToken: tokens[0],
      DurationSeconds: 1800
    })
    expect(sent[1].credentials).toMatchObject({ accessKeyId: 'ASIAFAKE' })
    expect(secrets).toEqual([tokens[0], 'ASIAFAKE', 'secret-key', 'session-token'])
    expect(result.accountId).toBe('123456789012')
    // Serverless decides the region; the credentials say nothing about it.
    expect(result.env).toEqual({
      AWS_ACCESS_KEY_ID: 'ASIAFAKE',
      AWS_SECRET_ACCESS_KEY: 'secret-key',
      AWS_SESSION_TOKEN: 'session-token'
    })
    expect(result.exclusive).toBe(true)
    expect(exported).toEqual({})
  })

  it('refuses an assumed role in an account allowed-account-ids does not list, after asking STS', async () => {
    const { deps, sent } = fakeSts(['assume', 'identity'])
    await expect(
      resolveCredentials(
        { ...settings, allowedAccountIds: ['111111111111', '222222222222'] },
        'eu-west-1',
        oidcEnv,
        deps
      )
    ).rejects.toThrow(
      /belong to account 123456789012\. Nothing was deployed or deleted\..*add 123456789012 to allowed-account-ids/
    )
    expect(sent.map(s => s.command)).toEqual(['AssumeRoleWithWebIdentityCommand', 'GetCallerIdentityCommand'])
  })

  it('exports them, with the region, only when asked', async () => {
    const { deps } = fakeSts(['assume', 'identity'])
    const result = await resolveCredentials(settings, 'eu-west-1', oidcEnv, deps)
    expect(exported).toEqual({})
    exportCredentials(result, 'eu-west-2', exportVariable)
    expect(exported).toEqual({ ...result.env, AWS_REGION: 'eu-west-2', AWS_DEFAULT_REGION: 'eu-west-2' })
  })

  it('retries throttling and 5xx without waiting for real', async () => {
    const { deps, sent, sleeps } = fakeSts([
      awsError('Throttling', 400),
      awsError('InternalFailure', 500),
      'assume',
      'identity'
    ])
    await resolveCredentials(settings, 'eu-west-1', oidcEnv, deps)
    expect(sent).toHaveLength(4)
    expect(sleeps).toEqual([500, 1000])
  })

  it('does not retry AccessDenied, and explains it with the token claims and the condition that admits them', async () => {
    const { deps, sent } = fakeSts([
      awsError('AccessDenied', 403, 'Not authorized to perform sts:AssumeRoleWithWebIdentity')
    ])
    const error = (await resolveCredentials(settings, 'eu-west-1', oidcEnv, deps).catch(e => e)) as Error
    expect(error).toBeInstanceOf(UserError)
    expect(sent).toHaveLength(1)
    expect(error.message).toContain(`refused to let this run assume ${ROLE}`)
    expect(error.message).toContain('sub: "repo:octo-org/fastapi-service:ref:refs/heads/main"')
    expect(error.message).toContain('"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"')
  })

  it('points at the bootstrap template when the account has no OIDC provider', async () => {
    const { deps } = fakeSts([
      awsError(
        'InvalidIdentityTokenException',
        400,
        'No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com'
      )
    ])
    await expect(resolveCredentials(settings, 'eu-west-1', oidcEnv, deps)).rejects.toThrow(
      /iam\/github-deploy-role\.yml/
    )
  })
})

describe('helpers', () => {
  it('derives an STS-legal session name', () => {
    expect(sessionName('octo-org/my repo!', '1')).toBe('GitHubActions-octo-org-my-repo--1')
    const long = sessionName(`octo-org/${'x'.repeat(100)}`, '99')
    expect(long).toHaveLength(64)
    expect(long).toMatch(/^[\w+=,.@-]{2,64}$/)
  })

  it('reads claims without verifying, and survives garbage', () => {
    expect(tokenClaims(githubToken('aud-x')).aud).toBe('aud-x')
    expect(tokenClaims('not-a-jwt')).toEqual({})
  })

  it('classifies transient and final errors', () => {
    expect(transientReason(awsError('Throttling', 400))).toBe('Throttling')
    expect(transientReason(awsError('Whatever', 503))).toBe('HTTP 503')
    expect(transientReason(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      'ECONNRESET'
    )
    expect(transientReason(new Error('Failed to get ID Token. \n Error Code : 500\n Error Message: x'))).toBe(
      'token endpoint error'
    )
    expect(transientReason(awsError('AccessDenied', 403))).toBeUndefined()
    expect(transientReason(awsError('ValidationError', 400))).toBeUndefined()
  })
})
