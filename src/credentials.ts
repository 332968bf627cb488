import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  type STSClient
} from '@aws-sdk/client-sts'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { accessDenied, missingIdTokenPermission, missingOidcProvider, type Claims } from './oidc-advice.js'
import { UserError } from './errors.js'
import type { Inputs } from './inputs.js'
import { AWS_RETRY, transientReason, withRetry, type RetryOptions } from './retry.js'
import type { AwsCredentials } from './aws.js'

export interface CredentialResult {
  /** Variables for the serverless process only; empty when the environment's own credentials are used. */
  env: Record<string, string>
  /** For the action's own AWS clients; undefined means the SDK's default chain. */
  credentials?: AwsCredentials
  accountId?: string
  /** Only these credentials may reach serverless (role-to-assume): every competing source is removed. */
  exclusive: boolean
}

/** The edges credentials touch: the runner (its token, its log, its masking), STS, and time. */
export interface CredentialDeps {
  getIDToken: (audience: string) => Promise<string>
  sts: (region: string, credentials?: AwsCredentials) => Pick<STSClient, 'send' | 'destroy'>
  retry: Pick<RetryOptions, 'sleep' | 'random' | 'now'>
  log: (message: string) => void
  setSecret: (value: string) => void
}

type Settings = Pick<
  Inputs,
  'roleToAssume' | 'audience' | 'roleSessionName' | 'roleDurationSeconds' | 'allowedAccountIds'
>

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

/** Where the SDK's default chain would find credentials, in its order; undefined when nowhere. */
export function ambientSource(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
    return `the environment (AWS_ACCESS_KEY_ID${env.AWS_SESSION_TOKEN ? ' with AWS_SESSION_TOKEN' : ''})`
  if (env.AWS_PROFILE) return `the profile ${env.AWS_PROFILE} (AWS_PROFILE)`
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE)
    return `a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)`
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI)
    return 'the container credentials endpoint'
  const aws = path.join(env.HOME || os.homedir(), '.aws')
  const files = [
    env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(aws, 'credentials'),
    env.AWS_CONFIG_FILE ?? path.join(aws, 'config')
  ].filter(file => existsSync(file))
  if (files.length) return `the default profile in ${files.join(' and ')}`
  // A self-hosted runner on EC2 may have an instance role, which only a network call would reveal.
  if (env.RUNNER_ENVIRONMENT === 'self-hosted' && env.AWS_EC2_METADATA_DISABLED !== 'true')
    return "the runner's instance role (EC2 instance metadata)"
  return undefined
}

function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? ''
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Credentials for the run: assumed with GitHub OIDC when role-to-assume is set, else the ones
 * already in the environment. Either way, STS says whose they are before anything changes, and an
 * account not in allowed-account-ids stops the run.
 */
export async function resolveCredentials(
  settings: Settings,
  stsRegion: string,
  env: Readonly<Record<string, string | undefined>>,
  deps: CredentialDeps
): Promise<CredentialResult> {
  const retry = { ...AWS_RETRY, ...deps.retry, retryable: transientReason, log: deps.log }
  if (!settings.roleToAssume) {
    const source = ambientSource(env)
    if (!source) {
      throw new UserError(
        'No AWS credentials: set role-to-assume to a role this repository may assume with OIDC (and permissions: id-token: write), or configure credentials in an earlier step (for example aws-actions/configure-aws-credentials).',
        { title: 'No AWS credentials' }
      )
    }
    const accountId = await callerAccount(deps.sts(stsRegion), retry, source)
    checkAllowed(settings.allowedAccountIds, accountId, source)
    deps.log(`Using the credentials from ${source}: account ${accountId}`)
    return { env: {}, accountId, exclusive: false }
  }
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    throw new UserError(missingIdTokenPermission(), { title: 'No OIDC token' })

  const token = await withRetry(
    'Getting the GitHub OIDC token',
    () => deps.getIDToken(settings.audience),
    retry
  )
  deps.setSecret(token)
  const claims = tokenClaims(token)

  const sts = deps.sts(stsRegion)
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
    if (
      errorName(error).startsWith('AccessDenied') ||
      /not authorized to perform sts:AssumeRoleWithWebIdentity/i.test(message(error))
    ) {
      throw new UserError(accessDenied(settings.roleToAssume, claims, message(error)), {
        title: 'Role refused this run'
      })
    }
    if (
      errorName(error).startsWith('InvalidIdentityToken') &&
      /OpenIDConnect provider/i.test(message(error))
    ) {
      throw new UserError(missingOidcProvider(settings.roleToAssume, message(error)), {
        title: 'No GitHub OIDC provider'
      })
    }
    throw error
  } finally {
    sts.destroy()
  }
  // Masked before anything else can print them.
  deps.setSecret(credentials.accessKeyId)
  deps.setSecret(credentials.secretAccessKey)
  if (credentials.sessionToken) deps.setSecret(credentials.sessionToken)

  const source = `the role ${settings.roleToAssume}`
  const accountId = await callerAccount(deps.sts(stsRegion, credentials), retry, source)
  checkAllowed(settings.allowedAccountIds, accountId, source)
  deps.log(`Assumed ${settings.roleToAssume} in account ${accountId}`)

  const variables: Record<string, string> = {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {})
  }
  return { env: variables, credentials, accountId, exclusive: true }
}

async function callerAccount(
  sts: Pick<STSClient, 'send' | 'destroy'>,
  retry: RetryOptions,
  source: string
): Promise<string> {
  try {
    const who = await withRetry(
      'sts:GetCallerIdentity',
      () => sts.send(new GetCallerIdentityCommand({})),
      retry
    )
    if (!who.Account) throw new Error('STS named no account')
    return who.Account
  } catch (error) {
    if (
      /ExpiredToken|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient|CredentialsProviderError|Could not load credentials/i.test(
        `${errorName(error)} ${message(error)}`
      )
    ) {
      throw new UserError(
        `The AWS credentials from ${source} do not work: ${message(error)}. They are missing, expired or revoked: refresh them in the step that sets them, or use role-to-assume for short-lived credentials made for each run.`,
        { title: 'AWS credentials do not work' }
      )
    }
    throw error
  } finally {
    sts.destroy()
  }
}

function checkAllowed(allowed: string[], accountId: string, source: string): void {
  if (allowed.length && !allowed.includes(accountId)) {
    throw new UserError(
      `Input 'allowed-account-ids' is '${allowed.join(',')}', but the credentials from ${source} belong to account ${accountId}. Nothing was deployed or deleted. Use a role in one of the allowed accounts, or add ${accountId} to allowed-account-ids.`,
      { title: 'Account not allowed' }
    )
  }
}

/**
 * export-credentials: the assumed credentials, and the region Serverless deployed to, for the job's
 * later steps (as aws-actions/configure-aws-credentials exports them). Written at the end of the run,
 * so that no process the action starts sees them in its environment.
 */
export function exportCredentials(
  result: CredentialResult,
  region: string | undefined,
  exportVariable: (name: string, value: string) => void
): void {
  const variables = { ...result.env, ...(region ? { AWS_REGION: region, AWS_DEFAULT_REGION: region } : {}) }
  for (const [name, value] of Object.entries(variables)) exportVariable(name, value)
}
