import * as core from '@actions/core'
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { accessDenied, missingIdTokenPermission, missingOidcProvider, type Claims } from './diagnosis.js'
import { UserError } from './errors.js'
import type { Inputs } from './inputs.js'
import { withRetry, type RetryOptions } from './retry.js'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiration?: Date
}

export interface CredentialResult {
  /** Variables for the serverless process only; empty when the environment already has credentials. */
  env: Record<string, string>
  /** For the action's own AWS clients; undefined means the SDK's default chain. */
  credentials?: AwsCredentials
  accountId?: string
}

export interface CredentialDeps {
  getIDToken: (audience: string) => Promise<string>
  sts: (region: string, credentials?: AwsCredentials) => Pick<STSClient, 'send' | 'destroy'>
  retry: Pick<RetryOptions, 'sleep' | 'random' | 'now'>
}

type Settings = Pick<
  Inputs,
  'roleToAssume' | 'audience' | 'roleSessionName' | 'roleDurationSeconds' | 'exportCredentials'
>

const defaultDeps: CredentialDeps = {
  getIDToken: audience => core.getIDToken(audience),
  // One attempt per call: withRetry below retries, and says why.
  sts: (region, credentials) => new STSClient({ region, credentials, maxAttempts: 1 }),
  retry: {}
}

const RETRY = { attempts: 5, maxElapsedMs: 60_000, baseDelayMs: 1000, maxDelayMs: 15_000 }

/** STS session names: 2-64 characters of [\w+=,.@-]. */
export function sessionName(repository: string | undefined, runId: string | undefined): string {
  const raw = `GitHubActions-${repository ?? 'repository'}-${runId ?? 'run'}`
  return raw.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
}

/** Reads the claims without trusting them: they are shown to explain a refusal, never used to decide. */
export function tokenClaims(token: string): Claims {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Claims
  } catch {
    return {}
  }
}

function hasAmbientCredentials(env: NodeJS.ProcessEnv): boolean {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return true
  if (env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE) return true
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return true
  // A self-hosted runner on EC2 may have an instance role, which only a network call would reveal.
  if (env.RUNNER_ENVIRONMENT === 'self-hosted' && env.AWS_EC2_METADATA_DISABLED !== 'true') return true
  const aws = path.join(env.HOME || os.homedir(), '.aws')
  return [
    env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(aws, 'credentials'),
    env.AWS_CONFIG_FILE ?? path.join(aws, 'config')
  ].some(existsSync)
}

function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? ''
}

/** Throttling, 5xx and dropped connections are worth another try; refusals and bad input are not. */
export function transientReason(error: unknown): string | undefined {
  const e = error as {
    name?: string
    code?: string
    $metadata?: { httpStatusCode?: number }
    statusCode?: number
    message?: string
  }
  const name = errorName(error)
  if (
    /Throttl|RequestLimitExceeded|TooManyRequests|IDPCommunicationError|ServiceUnavailable|InternalFailure/.test(
      name
    )
  )
    return name
  const status = e?.$metadata?.httpStatusCode ?? e?.statusCode
  if (status && status >= 500) return `HTTP ${status}`
  if (
    /ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE|EAI_AGAIN|socket hang up/.test(
      `${e?.code ?? ''} ${e?.message ?? ''}`
    )
  )
    return e?.code ?? 'connection reset'
  // core.getIDToken wraps the token endpoint's failures in a plain Error naming the status code.
  if (/Failed to get ID Token[\s\S]*(5\d\d|Error Code : 5)/.test(e?.message ?? ''))
    return 'token endpoint error'
  return undefined
}

export async function resolveCredentials(
  settings: Settings,
  region: string,
  env: NodeJS.ProcessEnv = process.env,
  deps: CredentialDeps = defaultDeps
): Promise<CredentialResult> {
  if (!settings.roleToAssume) {
    if (!hasAmbientCredentials(env)) {
      throw new UserError(
        'No AWS credentials: set role-to-assume to a role this repository may assume with OIDC (and permissions: id-token: write), or configure credentials in an earlier step (for example aws-actions/configure-aws-credentials).'
      )
    }
    return { env: {} }
  }
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    throw new UserError(missingIdTokenPermission())

  const retry = { ...RETRY, ...deps.retry, retryable: transientReason, log: (m: string) => core.info(m) }
  const token = await withRetry(
    'Getting the GitHub OIDC token',
    () => deps.getIDToken(settings.audience),
    retry
  )
  core.setSecret(token)
  const claims = tokenClaims(token)

  const sts = deps.sts(region)
  let credentials: AwsCredentials
  try {
    const assumed = await withRetry(
      'sts:AssumeRoleWithWebIdentity',
      () =>
        sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: settings.roleToAssume,
            RoleSessionName:
              settings.roleSessionName ?? sessionName(env.GITHUB_REPOSITORY, env.GITHUB_RUN_ID),
            WebIdentityToken: token,
            DurationSeconds: settings.roleDurationSeconds
          })
        ),
      retry
    )
    const c = assumed.Credentials
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS returned no credentials')
    credentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (
      errorName(error).startsWith('AccessDenied') ||
      /not authorized to perform sts:AssumeRoleWithWebIdentity/i.test(message)
    ) {
      throw new UserError(accessDenied(settings.roleToAssume, claims, message))
    }
    if (errorName(error).startsWith('InvalidIdentityToken') && /OpenIDConnect provider/i.test(message)) {
      throw new UserError(missingOidcProvider(settings.roleToAssume, message))
    }
    throw error
  } finally {
    sts.destroy()
  }
  // Masked before anything else can print them.
  core.setSecret(credentials.accessKeyId)
  core.setSecret(credentials.secretAccessKey)
  if (credentials.sessionToken) core.setSecret(credentials.sessionToken)

  const identity = deps.sts(region, credentials)
  let accountId: string | undefined
  try {
    const who = await withRetry(
      'sts:GetCallerIdentity',
      () => identity.send(new GetCallerIdentityCommand({})),
      retry
    )
    accountId = who.Account
  } finally {
    identity.destroy()
  }
  core.info(`Assumed ${settings.roleToAssume} in account ${accountId ?? 'unknown'}`)

  const variables: Record<string, string> = {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region
  }
  if (settings.exportCredentials)
    for (const [name, value] of Object.entries(variables)) core.exportVariable(name, value)
  return { env: variables, credentials, accountId }
}
