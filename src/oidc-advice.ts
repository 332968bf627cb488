/**
 * What to say when GitHub's OIDC token does not get the run its role: no token at all (the job lacks
 * id-token: write), a trust policy that does not admit the token's claims (shown, with the condition
 * that would admit them), or an account without GitHub's OIDC provider.
 */

/** The bootstrap template that creates the provider and the roles, as messages name it. */
export const BOOTSTRAP = 'iam/github-deploy-role.yml in this action’s repository'

/** The token claims trust policies match on; read from the token without trusting it. */
export interface Claims {
  sub?: string
  aud?: string | string[]
  repository?: string
  repository_owner_id?: string
  repository_id?: string
  ref?: string
  environment?: string
  job_workflow_ref?: string
  [claim: string]: unknown
}

const CLAIMS = ['sub', 'aud', 'repository', 'ref', 'environment', 'job_workflow_ref'] as const
const ISSUER = 'token.actions.githubusercontent.com'

export function missingIdTokenPermission(): string {
  return [
    'role-to-assume is set, but GitHub gave this job no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). Give the job (or the workflow) this permission:',
    '  permissions:',
    '    id-token: write',
    '    contents: read',
    'Runs from forked pull requests get no token at all: deploy from push or workflow_dispatch instead.'
  ].join('\n')
}

/**
 * The `sub` patterns that admit this run, in the token's own form: `repo:OWNER/REPO:…` for older
 * repositories, `repo:OWNER@OWNER_ID/REPO@REPO_ID:…` for those created or renamed since 15 July 2026.
 */
export function subPatterns(claims: Claims): { exact: string; repository: string } {
  const sub = claims.sub ?? `repo:${claims.repository ?? 'OWNER/REPO'}:*`
  const prefix = /^(repo:[^:]+):/.exec(sub)?.[1] ?? `repo:${claims.repository ?? 'OWNER/REPO'}`
  return { exact: sub, repository: `${prefix}:*` }
}

export function accessDenied(role: string | undefined, claims: Claims, message: string): string {
  const shown = CLAIMS.filter(name => claims[name] !== undefined).map(
    name => `  ${name}: ${JSON.stringify(claims[name])}`
  )
  const audience = Array.isArray(claims.aud) ? claims.aud[0] : (claims.aud ?? 'sts.amazonaws.com')
  const patterns = subPatterns(claims)
  const condition = {
    StringEquals: {
      [`${ISSUER}:aud`]: audience,
      // Keeps a re-created repository with a recycled name out, whatever the form of its sub.
      ...(claims.repository_id ? { [`${ISSUER}:repository_id`]: claims.repository_id } : {}),
      [`${ISSUER}:sub`]: patterns.exact
    }
  }
  const immutable = /^repo:[^/:]+@\d+\/[^:]+@\d+:/.test(patterns.exact)
  return [
    `AWS refused to let this run assume ${role} (${message}). Its trust policy does not admit this token, whose claims are:`,
    ...shown,
    `A trust policy statement (Principal: Federated: the ${ISSUER} provider, Action: sts:AssumeRoleWithWebIdentity) with this condition admits this run:`,
    JSON.stringify({ Condition: condition }, null, 2),
    immutable
      ? `This repository's tokens carry the immutable sub form (owner and repository IDs, used for repositories created or renamed since 15 July 2026): a trust policy written for repo:${claims.repository ?? 'OWNER/REPO'}:… never matches it. ${BOOTSTRAP} admits both forms (its GitHubOwnerId and GitHubRepositoryId parameters).`
      : `Admit the exact sub of the branch or environment that deploys, as ${BOOTSTRAP} does; a pattern for every ref (${patterns.repository}) would also admit any branch anyone pushes.`
  ].join('\n')
}

export function missingOidcProvider(role: string | undefined, message: string): string {
  return [
    `The account of ${role} has no IAM OIDC identity provider for GitHub (${message}).`,
    `Create it once per account: ${BOOTSTRAP} creates the provider (https://${ISSUER}, audience sts.amazonaws.com) and a deploy role, with`,
    '  aws cloudformation deploy --template-file iam/github-deploy-role.yml --stack-name github-deploy-SERVICE-STAGE --capabilities CAPABILITY_NAMED_IAM \\',
    '    --parameter-overrides GitHubRepository=OWNER/REPO GitHubOwnerId=OWNER_ID GitHubRepositoryId=REPO_ID ServiceName=SERVICE Stage=STAGE GitHubEnvironment=STAGE',
    '(gh api repos/OWNER/REPO --jq ".owner.id, .id" prints the two IDs).'
  ].join('\n')
}
