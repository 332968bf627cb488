import type { Command } from './inputs.js'

/**
 * Turns the failure at the end of serverless' output into one line that says what to fix. The full
 * output is already in the log group; this is what the error annotation says.
 */
export function diagnose(output: string, command: Command, stackName: string): string | undefined {
  const pip =
    /No matching distribution found for ([^\s]+)/.exec(output) ??
    /Could not find a version that satisfies the requirement ([^\s]+)/.exec(output)
  if (pip) {
    const line =
      output
        .split('\n')
        .find(l => l.includes(pip[0]))
        ?.trim() ?? pip[0]
    const name = pip[1].split(/[<>=!~;[\s]/)[0]
    return `pip could not install ${name} from the service's requirements.txt (${line}). Check its name and version, and that the package index this runner uses has it.`
  }
  if (
    /AWS provider credentials not found|Could not load credentials from any providers|Missing credentials in config/.test(
      output
    )
  ) {
    return `No AWS credentials reached serverless ${command}. Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.`
  }
  if (/ExpiredToken|security token included in the request is expired/i.test(output)) {
    return `The AWS credentials expired during serverless ${command}. Raise role-duration-seconds, or make the job shorter.`
  }
  if (command === 'remove' && /does not exist/.test(output)) {
    return `Stack ${stackName} does not exist, so there is nothing to remove. Check stage and aws-region.`
  }
  if (/ROLLBACK_COMPLETE|UPDATE_ROLLBACK_FAILED/.test(output)) {
    return `Stack ${stackName} is stuck after a failed deploy. Read the stack's events in the CloudFormation console, fix the cause, then remove the stack (command: remove) and deploy again.`
  }
  const error = /Error:\s*\n+\s*(.+)/.exec(output)
  return error ? error[1].trim() : undefined
}

/** The token claims trust policies match on; read from the token without trusting it. */
export interface Claims {
  sub?: string
  aud?: string | string[]
  repository?: string
  ref?: string
  environment?: string
  job_workflow_ref?: string
  [claim: string]: unknown
}

const CLAIMS = ['sub', 'aud', 'repository', 'ref', 'environment', 'job_workflow_ref'] as const
const ISSUER = 'token.actions.githubusercontent.com'
const BOOTSTRAP = 'iam/github-deploy-role.yml in this action’s repository'

export function missingIdTokenPermission(): string {
  return [
    'role-to-assume is set, but GitHub gave this job no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). Give the job (or the workflow) this permission:',
    '  permissions:',
    '    id-token: write',
    '    contents: read',
    'Runs from forked pull requests get no token at all: deploy from push or workflow_dispatch instead.'
  ].join('\n')
}

export function accessDenied(role: string | undefined, claims: Claims, message: string): string {
  const shown = CLAIMS.filter(name => claims[name] !== undefined).map(
    name => `  ${name}: ${JSON.stringify(claims[name])}`
  )
  const audience = Array.isArray(claims.aud) ? claims.aud[0] : (claims.aud ?? 'sts.amazonaws.com')
  const condition = {
    StringEquals: { [`${ISSUER}:aud`]: audience },
    StringLike: { [`${ISSUER}:sub`]: claims.sub ?? `repo:${claims.repository ?? 'OWNER/REPO'}:*` }
  }
  return [
    `AWS refused to let this run assume ${role} (${message}). Its trust policy does not admit this token, whose claims are:`,
    ...shown,
    `A trust policy statement (Principal: Federated: the ${ISSUER} provider, Action: sts:AssumeRoleWithWebIdentity) with this condition admits this run:`,
    JSON.stringify({ Condition: condition }, null, 2),
    `Widen the sub pattern (for example repo:${claims.repository ?? 'OWNER/REPO'}:*) to admit every ref, or use ${BOOTSTRAP}.`
  ].join('\n')
}

export function missingOidcProvider(role: string | undefined, message: string): string {
  return [
    `The account of ${role} has no IAM OIDC identity provider for GitHub (${message}).`,
    `Create it once per account: ${BOOTSTRAP} creates the provider (https://${ISSUER}, audience sts.amazonaws.com) and a deploy role, with`,
    '  aws cloudformation deploy --template-file iam/github-deploy-role.yml --stack-name github-deploy-role --capabilities CAPABILITY_NAMED_IAM --parameter-overrides GitHubRepository=OWNER/REPO ServiceName=SERVICE'
  ].join('\n')
}
