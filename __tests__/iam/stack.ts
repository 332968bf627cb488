/** The bootstrap template, and creating it in moto as `aws cloudformation deploy` would in AWS. */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  waitUntilStackCreateComplete,
  type Output
} from '@aws-sdk/client-cloudformation'
import type { Moto } from '../support/moto.js'
import { ACCOUNT, type PolicyDocument } from './policy-evaluator.js'

export const templatePath = fileURLToPath(new URL('../../iam/github-deploy-role.yml', import.meta.url))
export const templateText = readFileSync(templatePath, 'utf8')
export const REGION = 'us-east-1'

/** The IAM query API: no IAM client is installed, and moto does not check signatures by default. */
export async function iam(moto: Moto, params: Record<string, string>): Promise<string> {
  const response = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`
    },
    body: new URLSearchParams({ Version: '2010-05-08', ...params }).toString()
  })
  const body = await response.text()
  if (!response.ok) throw new Error(`IAM ${params.Action}: ${response.status} ${body}`)
  return body
}

/**
 * GitHub's OIDC provider, made by hand: moto's CloudFormation skips AWS::IAM::OIDCProvider, so stacks
 * that reference an existing provider need one created first.
 */
export async function createGitHubOidcProvider(moto: Moto): Promise<void> {
  await iam(moto, {
    Action: 'CreateOpenIDConnectProvider',
    Url: 'https://token.actions.githubusercontent.com',
    'ClientIDList.member.1': 'sts.amazonaws.com'
  })
}

export function xmlValue(xml: string, tag: string): string {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)
  if (!match) throw new Error(`no <${tag}> in ${xml.slice(0, 500)}`)
  return match[1]
}

const XML_ENTITIES: Record<string, string> = {
  '&quot;': '"',
  '&apos;': "'",
  '&lt;': '<',
  '&gt;': '>',
  '&amp;': '&'
}

/**
 * A policy document in an IAM answer: URL-encoded, as IAM sends them, except that moto sends a managed
 * policy's version as plain JSON (which a second decoding would corrupt: ARNs in it may hold %3A).
 */
function policyIn(xml: string, tag: string): PolicyDocument {
  const value = xmlValue(xml, tag)
  const text = value.startsWith('{')
    ? value.replace(/&(quot|apos|lt|gt|amp);/g, entity => XML_ENTITIES[entity])
    : decodeURIComponent(value)
  return JSON.parse(text) as PolicyDocument
}

export function cloudFormation(moto: Moto): CloudFormationClient {
  return new CloudFormationClient({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
}

/** The read-only role CreatePlanRole=true adds, for `command: plan` on pull requests. */
export interface PlanRole {
  roleName: string
  roleArn: string
  trust: PolicyDocument
  /** its inline policy */
  permissions: PolicyDocument
}

export interface CreatedStack {
  stackId: string
  outputs: Record<string, string>
  roleName: string
  roleArn: string
  /** GetRole's answer, as XML */
  role: string
  trust: PolicyDocument
  /**
   * the deploy role's identity policies as one document: its inline policy's statements, then those of the
   * customer managed policies attached to it (its explicit denies), which IAM evaluates together
   */
  permissions: PolicyDocument
  /** the permissions boundary the stack creates for the service's roles (its default version) */
  boundary: PolicyDocument
  boundaryArn: string
  /** the customer managed policies attached to the deploy role (its explicit denies) */
  guardrailsArns: string[]
  /** the deployment bucket the stack creates (provider.deploymentBucket.name) */
  deploymentBucket: string
  /** the plan role, when the stack has one */
  plan?: PlanRole
}

/** The default version of a managed policy. */
export async function managedPolicy(moto: Moto, policyArn: string): Promise<PolicyDocument> {
  const policy = await iam(moto, { Action: 'GetPolicy', PolicyArn: policyArn })
  const version = await iam(moto, {
    Action: 'GetPolicyVersion',
    PolicyArn: policyArn,
    VersionId: xmlValue(policy, 'DefaultVersionId')
  })
  return policyIn(version, 'Document')
}

/** The managed policies attached to a role: their ARNs and default versions. */
export async function attachedPolicies(
  moto: Moto,
  roleName: string
): Promise<{ arn: string; document: PolicyDocument }[]> {
  const listed = await iam(moto, { Action: 'ListAttachedRolePolicies', RoleName: roleName })
  const arns = [...listed.matchAll(/<PolicyArn>([^<]*)<\/PolicyArn>/g)].map(m => m[1])
  return Promise.all(arns.map(async arn => ({ arn, document: await managedPolicy(moto, arn) })))
}

const roleNameOf = (roleArn: string) => roleArn.replace(`arn:aws:iam::${ACCOUNT}:role/`, '')

async function planRole(moto: Moto, roleArn: string | undefined): Promise<PlanRole | undefined> {
  if (!roleArn) return undefined
  const roleName = roleNameOf(roleArn)
  const role = await iam(moto, { Action: 'GetRole', RoleName: roleName })
  const inline = await iam(moto, {
    Action: 'GetRolePolicy',
    RoleName: roleName,
    PolicyName: 'serverless-plan'
  })
  return {
    roleName,
    roleArn,
    trust: policyIn(role, 'AssumeRolePolicyDocument'),
    permissions: policyIn(inline, 'PolicyDocument')
  }
}

/**
 * Creates the bootstrap stack and reads back what IAM holds: the role, its trust and policy, the boundary, and
 * the plan role if there is one.
 */
export async function createStack(
  moto: Moto,
  stackName: string,
  parameters: Record<string, string>
): Promise<CreatedStack> {
  const cfn = cloudFormation(moto)
  const created = await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: templateText,
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue
      }))
    })
  )
  const waited = await waitUntilStackCreateComplete(
    { client: cfn, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
    { StackName: stackName }
  )
  if (waited.state !== 'SUCCESS')
    throw new Error(`stack ${stackName}: ${waited.state} ${String(waited.reason)}`)
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }))
  if (Stacks?.[0]?.StackStatus !== 'CREATE_COMPLETE')
    throw new Error(`stack ${stackName} is ${Stacks?.[0]?.StackStatus}: ${Stacks?.[0]?.StackStatusReason}`)
  const outputs = Object.fromEntries(
    (Stacks[0].Outputs ?? []).map((o: Output) => [o.OutputKey ?? '', o.OutputValue ?? ''])
  )

  const roleArn = outputs.RoleArn
  const roleName = roleNameOf(roleArn)
  const role = await iam(moto, { Action: 'GetRole', RoleName: roleName })
  const inline = await iam(moto, {
    Action: 'GetRolePolicy',
    RoleName: roleName,
    PolicyName: 'serverless-deploy'
  })
  const attached = await attachedPolicies(moto, roleName)
  const boundaryArn = outputs.PermissionsBoundaryArn
  return {
    stackId: created.StackId ?? '',
    outputs,
    roleName,
    roleArn,
    role,
    trust: policyIn(role, 'AssumeRolePolicyDocument'),
    permissions: {
      ...policyIn(inline, 'PolicyDocument'),
      Statement: [policyIn(inline, 'PolicyDocument'), ...attached.map(a => a.document)].flatMap(
        p => p.Statement
      )
    },
    guardrailsArns: attached.map(a => a.arn),
    boundary: await managedPolicy(moto, boundaryArn),
    boundaryArn,
    deploymentBucket: outputs.DeploymentBucketName,
    plan: await planRole(moto, outputs.PlanRoleArn)
  }
}
