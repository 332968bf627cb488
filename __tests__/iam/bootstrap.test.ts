import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  waitUntilStackCreateComplete,
  type Output
} from '@aws-sdk/client-cloudformation'
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { parseDocument } from 'yaml'
import { startMoto, type Moto } from '../support/moto.js'
import { localPipIndexEnv } from '../support/pip.js'

const templatePath = fileURLToPath(new URL('../../iam/github-deploy-role.yml', import.meta.url))
const templateText = readFileSync(templatePath, 'utf8')
const ACCOUNT = '123456789012' // moto's default account
const REGION = 'us-east-1'

// ---------------------------------------------------------------------------------------------
// IAM policy documents and a small evaluator (Allow/Deny, * and ? wildcards, StringEquals/StringLike)

type Strings = string | string[]
interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action: Strings
  Resource?: Strings
  Principal?: Record<string, Strings>
  Condition?: Record<string, Record<string, Strings>>
}
interface PolicyDocument {
  Version: string
  Statement: Statement[]
}

const list = (value: Strings | undefined): string[] => (value === undefined ? [] : [value].flat())

function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split('')
    .map(c => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('')
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value)
}

function conditionsHold(statement: Statement, context: Record<string, string>): boolean {
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key]
      if (actual === undefined) return false
      if (operator === 'StringEquals' && !list(expected).includes(actual)) return false
      else if (operator === 'StringLike' && !list(expected).some(p => wildcard(p, actual))) return false
      else if (operator !== 'StringEquals' && operator !== 'StringLike')
        throw new Error(`condition operator ${operator} is not modelled`)
    }
  }
  return true
}

function matches(statement: Statement, action: string, resource: string, context: Record<string, string>) {
  return (
    list(statement.Action).some(a => wildcard(a, action, true)) &&
    list(statement.Resource).some(r => wildcard(r, resource)) &&
    conditionsHold(statement, context)
  )
}

function isAllowed(
  policy: PolicyDocument,
  action: string,
  resource: string,
  context: Record<string, string> = {}
) {
  const relevant = policy.Statement.filter(s => matches(s, action, resource, context))
  return relevant.some(s => s.Effect === 'Allow') && !relevant.some(s => s.Effect === 'Deny')
}

// ---------------------------------------------------------------------------------------------
// cfn-lint

function cfnLintCommand(): { command: string; args: string[] } | undefined {
  if (spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status === 0)
    return { command: 'cfn-lint', args: [] }
  if (spawnSync('python3', ['-c', 'import cfnlint.runner'], { stdio: 'ignore' }).status === 0)
    return {
      command: 'python3',
      args: ['-c', 'import sys; from cfnlint.runner import main; sys.exit(main())']
    }
  return undefined
}

function cfnLint(file: string): { status: number | null; output: string } {
  const lint = cfnLintCommand()
  if (!lint) throw new Error('cfn-lint is not installed')
  const run = spawnSync(lint.command, [...lint.args, file], { encoding: 'utf8', timeout: 120_000 })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

describe('iam/github-deploy-role.yml: cfn-lint', () => {
  beforeAll(() => {
    if (cfnLintCommand()) return
    const install = spawnSync('python3', ['-m', 'pip', 'install', 'cfn-lint'], {
      encoding: 'utf8',
      env: { ...process.env, ...localPipIndexEnv() },
      timeout: 280_000
    })
    if (install.status !== 0) throw new Error(`pip install cfn-lint failed: ${install.stderr}`)
  }, 300_000)

  it('passes cfn-lint with no errors, warnings or notes', () => {
    const { status, output } = cfnLint(templatePath)
    expect(output).toBe('')
    expect(status).toBe(0)
  }, 120_000)

  it('the lint run does catch a broken template (the check above is not vacuous)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iam-lint-'))
    try {
      const broken = join(dir, 'broken.yml')
      const mutated = templateText.replace(
        'Fn::GetAtt: [DeployRole, Arn]',
        'Fn::GetAtt: [DeployRoleTypo, Arn]'
      )
      expect(mutated).not.toBe(templateText)
      writeFileSync(broken, mutated)
      const { status, output } = cfnLint(broken)
      expect(status).not.toBe(0)
      expect(output).toMatch(/DeployRoleTypo/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

// ---------------------------------------------------------------------------------------------
// Static checks on the template

interface Template {
  Parameters: Record<string, { Default?: unknown; AllowedValues?: unknown[] }>
  Rules?: Record<string, unknown>
  Conditions: Record<string, unknown>
  Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }>
  Outputs: Record<string, unknown>
}

function loadTemplate(): Template {
  const document = parseDocument(templateText)
  expect(document.errors).toEqual([])
  expect(document.warnings).toEqual([]) // e.g. an unresolved short-form tag such as !Sub
  return document.toJS() as Template
}

/** Every policy statement in the template, with the intrinsic functions left in place. */
function permissionStatements(template: Template): Statement[] {
  const statements: Statement[] = []
  for (const resource of Object.values(template.Resources)) {
    const props = resource.Properties
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy')
      statements.push(...(props.PolicyDocument as PolicyDocument).Statement)
    if (resource.Type === 'AWS::IAM::Role')
      for (const inline of (props.Policies as { PolicyDocument: PolicyDocument }[] | undefined) ?? [])
        statements.push(...inline.PolicyDocument.Statement)
  }
  return statements
}

const READ_ONLY = /^[a-z0-9-]+:(Get|List|Describe|Validate)[A-Za-z]*$/

describe('iam/github-deploy-role.yml: least privilege, statically', () => {
  let template: Template
  let statements: Statement[]
  let allows: Statement[]

  beforeAll(() => {
    template = loadTemplate()
    statements = permissionStatements(template)
    allows = statements.filter(s => s.Effect === 'Allow')
  })

  it('has the permission policy and the GitHub OIDC pieces', () => {
    expect(allows.length).toBeGreaterThan(5)
    const provider = template.Resources.GitHubOidcProvider
    expect(provider.Type).toBe('AWS::IAM::OIDCProvider')
    expect(provider.Condition).toBe('CreateProvider')
    expect(provider.Properties.Url).toBe('https://token.actions.githubusercontent.com')
    expect(provider.Properties.ClientIdList).toEqual(['sts.amazonaws.com'])
    expect(template.Parameters.CreateOidcProvider.AllowedValues).toEqual(['true', 'false'])
    expect(template.Parameters.MaxSessionDuration.Default).toBe(3600)
    expect(template.Resources.DeployRole.Properties.MaxSessionDuration).toEqual({ Ref: 'MaxSessionDuration' })
    expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(['RoleArn', 'OidcProviderArn']))
    expect(template.Rules?.BranchOrEnvironment).toBeDefined()
  })

  it('attaches no managed policy, so no *FullAccess one', () => {
    expect(templateText).not.toMatch(/FullAccess|AdministratorAccess|PowerUserAccess/)
    for (const resource of Object.values(template.Resources))
      expect(resource.Properties.ManagedPolicyArns).toBeUndefined()
  })

  it('never allows Action "*" or a whole service ("s3:*")', () => {
    for (const statement of allows) {
      expect(statement.Action).toBeDefined()
      for (const action of list(statement.Action)) {
        expect(action).not.toBe('*')
        expect(action).not.toMatch(/:\*$/)
      }
    }
    expect(statements.some(s => 'NotAction' in s || 'NotResource' in s)).toBe(false)
  })

  it('pairs Resource "*" only with read-only account-level calls', () => {
    for (const statement of allows) {
      const resources = list(statement.Resource as Strings)
      if (!resources.includes('*')) continue
      for (const action of list(statement.Action)) expect(action).toMatch(READ_ONLY)
    }
  })

  it('builds every ARN with ${AWS::Partition} and the service name', () => {
    for (const statement of allows) {
      for (const resource of [statement.Resource].flat() as unknown[]) {
        if (resource === '*') continue
        const sub = (resource as { 'Fn::Sub'?: string })['Fn::Sub']
        expect(typeof sub).toBe('string')
        expect(sub).toMatch(/^arn:\$\{AWS::Partition\}:/)
        if (!/:apigateway:|:log-group:\*$/.test(sub as string))
          expect(sub).toContain('${ServiceName}-${Stage}')
      }
    }
  })

  it('lets iam:PassRole hand roles to Lambda only', () => {
    const passRole = allows.filter(s => list(s.Action).some(a => /^iam:(PassRole|\*)$/i.test(a)))
    expect(passRole).toHaveLength(1)
    expect(list(passRole[0].Action)).toEqual(['iam:PassRole'])
    expect(passRole[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } })
  })

  it('trusts only the GitHub OIDC audience sts.amazonaws.com', () => {
    const trust = (template.Resources.DeployRole.Properties.AssumeRolePolicyDocument as PolicyDocument)
      .Statement
    expect(trust).toHaveLength(1)
    expect(trust[0].Action).toBe('sts:AssumeRoleWithWebIdentity')
    const [condition, anyRef, oneRef] = (
      trust[0].Condition as unknown as { 'Fn::If': [string, never, never] }
    )['Fn::If']
    expect(condition).toBe('AnyRef')
    for (const branch of [anyRef, oneRef] as { StringEquals: Record<string, unknown> }[])
      expect(branch.StringEquals['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com')
  })

  it('documents the one command that creates it in its header', () => {
    expect(templateText).toContain('aws cloudformation deploy --template-file iam/github-deploy-role.yml')
    expect(templateText).toContain('--capabilities CAPABILITY_NAMED_IAM')
    expect(templateText).toMatch(/--parameter-overrides GitHubRepository=owner\/repo ServiceName=\S+/)
  })
})

// ---------------------------------------------------------------------------------------------
// Creating the stack in moto

let moto: Moto | undefined

function cloudFormation(): CloudFormationClient {
  return new CloudFormationClient({
    region: REGION,
    endpoint: moto!.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
}

/** The IAM query API: no IAM client is installed, and moto does not check signatures by default. */
async function iam(params: Record<string, string>): Promise<string> {
  const response = await fetch(moto!.endpoint, {
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

function xmlValue(xml: string, tag: string): string {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)
  if (!match) throw new Error(`no <${tag}> in ${xml.slice(0, 500)}`)
  return match[1]
}

interface CreatedStack {
  stackId: string
  outputs: Record<string, string>
  roleName: string
  role: string
  trust: PolicyDocument
  permissions: PolicyDocument
}

async function createStack(stackName: string, parameters: Record<string, string>): Promise<CreatedStack> {
  const cfn = cloudFormation()
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
  expect(waited.state).toBe('SUCCESS')
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }))
  expect(Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE')
  const outputs = Object.fromEntries(
    (Stacks?.[0]?.Outputs ?? []).map((o: Output) => [o.OutputKey, o.OutputValue])
  )

  const { StackResources } = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }))
  const byId = new Map((StackResources ?? []).map(r => [r.LogicalResourceId, r]))
  expect(byId.get('DeployRole')).toMatchObject({
    ResourceType: 'AWS::IAM::Role',
    ResourceStatus: 'CREATE_COMPLETE'
  })
  expect(byId.get('DeployPolicy')).toMatchObject({
    ResourceType: 'AWS::IAM::Policy',
    ResourceStatus: 'CREATE_COMPLETE'
  })
  const roleName = byId.get('DeployRole')!.PhysicalResourceId!
  expect(outputs.RoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${roleName}`)

  const role = await iam({ Action: 'GetRole', RoleName: roleName })
  const trust = JSON.parse(decodeURIComponent(xmlValue(role, 'AssumeRolePolicyDocument'))) as PolicyDocument
  const policy = await iam({ Action: 'GetRolePolicy', RoleName: roleName, PolicyName: 'serverless-deploy' })
  const permissions = JSON.parse(decodeURIComponent(xmlValue(policy, 'PolicyDocument'))) as PolicyDocument
  return { stackId: created.StackId!, outputs, roleName, role, trust, permissions }
}

const SUB = 'token.actions.githubusercontent.com:sub'
const AUD = 'token.actions.githubusercontent.com:aud'
const EXISTING_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`

describe('iam/github-deploy-role.yml: creates cleanly in moto', () => {
  beforeAll(async () => {
    moto = await startMoto()
  }, 60_000)

  afterAll(async () => {
    await moto?.stop()
  })

  it('branch variant: only refs/heads/main of the repository, with a new OIDC provider', async () => {
    const stack = await createStack('gh-deploy-branch', {
      GitHubRepository: 'octo-org/octo-app',
      ServiceName: 'myservice',
      GitHubBranch: 'main'
    })
    expect(stack.trust.Statement).toHaveLength(1)
    const [statement] = stack.trust.Statement
    expect(statement.Action).toBe('sts:AssumeRoleWithWebIdentity')
    expect(statement.Condition).toEqual({
      StringEquals: { [AUD]: 'sts.amazonaws.com', [SUB]: 'repo:octo-org/octo-app:ref:refs/heads/main' }
    })
    expect(stack.outputs.TrustedSubject).toBe('repo:octo-org/octo-app:ref:refs/heads/main')
    expect(xmlValue(stack.role, 'MaxSessionDuration')).toBe('3600')
    // moto's CloudFormation skips AWS::IAM::OIDCProvider, so the provider Ref (and the
    // OidcProviderArn output) cannot be checked here; the static test covers the resource.
  }, 60_000)

  it('environment variant: only the "production" environment, with the existing OIDC provider', async () => {
    await iam({
      Action: 'CreateOpenIDConnectProvider',
      Url: 'https://token.actions.githubusercontent.com',
      'ClientIDList.member.1': 'sts.amazonaws.com'
    })
    const stack = await createStack('gh-deploy-environment', {
      GitHubRepository: 'octo-org/octo-app',
      ServiceName: 'myservice',
      GitHubEnvironment: 'production',
      CreateOidcProvider: 'false'
    })
    const [statement] = stack.trust.Statement
    expect(statement.Principal).toEqual({ Federated: EXISTING_PROVIDER })
    expect(statement.Condition).toEqual({
      StringEquals: { [AUD]: 'sts.amazonaws.com', [SUB]: 'repo:octo-org/octo-app:environment:production' }
    })
    expect(stack.outputs.OidcProviderArn).toBe(EXISTING_PROVIDER)

    // moto's STS hands out credentials without checking the trust policy: this only shows the
    // role is there to be assumed through the web-identity call the action makes.
    const sts = new STSClient({ region: REGION, endpoint: moto!.endpoint })
    const assumed = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: stack.outputs.RoleArn,
        RoleSessionName: 'github-actions',
        WebIdentityToken: 'not-checked-by-moto'
      })
    )
    expect(assumed.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${ACCOUNT}:assumed-role/${stack.roleName}/github-actions`
    )
  }, 60_000)

  it('any-ref variant: every ref of the repository (StringLike repo:OWNER/NAME:*), nothing else', async () => {
    const stack = await createStack('gh-deploy-any', {
      GitHubRepository: 'octo-org/octo-app',
      ServiceName: 'myservice',
      CreateOidcProvider: 'false'
    })
    const [statement] = stack.trust.Statement
    expect(statement.Condition).toEqual({
      StringEquals: { [AUD]: 'sts.amazonaws.com' },
      StringLike: { [SUB]: 'repo:octo-org/octo-app:*' }
    })
    const trusts = (sub: string, aud = 'sts.amazonaws.com') =>
      isAllowed(
        { ...stack.trust, Statement: stack.trust.Statement.map(s => ({ ...s, Resource: '*' })) },
        'sts:AssumeRoleWithWebIdentity',
        '*',
        { [SUB]: sub, [AUD]: aud }
      )
    expect(trusts('repo:octo-org/octo-app:ref:refs/heads/feature')).toBe(true)
    expect(trusts('repo:octo-org/octo-app:environment:production')).toBe(true)
    expect(trusts('repo:octo-org/other-app:ref:refs/heads/main')).toBe(false)
    expect(trusts('repo:octo-org/octo-app-fork:ref:refs/heads/main')).toBe(false)
    expect(trusts('repo:octo-org/octo-app:ref:refs/heads/main', 'some-other-audience')).toBe(false)
  }, 60_000)

  describe('permissions, as created, for a service deployed by Serverless v3', () => {
    let anyStage: CreatedStack
    let prodOnly: CreatedStack

    beforeAll(async () => {
      // a bootstrap stack and role whose names start with the service name: it must not reach itself
      anyStage = await createStack('myservice-github-deploy', {
        GitHubRepository: 'octo-org/octo-app',
        ServiceName: 'myservice',
        GitHubBranch: 'main',
        CreateOidcProvider: 'false',
        RoleName: 'myservice-ci-deployer'
      })
      prodOnly = await createStack('gh-deploy-prod', {
        GitHubRepository: 'octo-org/octo-app',
        ServiceName: 'myservice',
        Stage: 'prod',
        GitHubEnvironment: 'production',
        CreateOidcProvider: 'false',
        PermissionsBoundaryArn: `arn:aws:iam::${ACCOUNT}:policy/service-boundary`,
        MaxSessionDuration: '7200'
      })
    }, 60_000)

    const arn = {
      stack: (name: string) =>
        `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/0f1e2d3c-aaaa-bbbb-cccc-123456789abc`,
      changeSet: (stack: string) =>
        `arn:aws:cloudformation:${REGION}:${ACCOUNT}:changeSet/${stack}-change-set/0f1e2d3c-1234-5678-9abc-def012345678`,
      bucket: (name: string) => `arn:aws:s3:::${name}`,
      fn: (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
      logGroup: (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`,
      layer: (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:${name}`,
      role: (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`,
      api: (path: string) => `arn:aws:apigateway:${REGION}::${path}`
    }
    // Serverless v3 names for service "myservice", stage "dev"
    const bucket = 'myservice-dev-serverlessdeploymentbucket-1a2b3c4d5e6f7'
    const shortenedBucket = 'myservice-dev-serverlessdeploymentbuck-1a2b3c4d5e6f7'
    const artifact = `${bucket}/serverless/myservice/dev/1795506409540-2026-11-24T07:46:49.540Z/myservice.zip`
    const lambdaRole = 'myservice-dev-us-east-1-lambdaRole'
    const toLambda = { 'iam:PassedToService': 'lambda.amazonaws.com' }

    it('admits what serverless deploy and remove call, and what CloudFormation calls for them', () => {
      const needed: [string, string, Record<string, string>?][] = [
        ['cloudformation:ValidateTemplate', '*'],
        ['cloudformation:DescribeStacks', arn.stack('myservice-dev')],
        ['cloudformation:CreateChangeSet', arn.stack('myservice-dev')],
        ['cloudformation:DescribeChangeSet', arn.changeSet('myservice-dev')],
        ['cloudformation:ExecuteChangeSet', arn.stack('myservice-dev')],
        ['cloudformation:DeleteChangeSet', arn.changeSet('myservice-dev')],
        ['cloudformation:CreateStack', arn.stack('myservice-dev')],
        ['cloudformation:UpdateStack', arn.stack('myservice-dev')],
        ['cloudformation:DescribeStackEvents', arn.stack('myservice-dev')],
        ['cloudformation:DescribeStackResource', arn.stack('myservice-dev')],
        ['cloudformation:ListStackResources', arn.stack('myservice-dev')],
        ['cloudformation:GetTemplate', arn.stack('myservice-dev')],
        ['cloudformation:DeleteStack', arn.stack('myservice-dev')],
        ['s3:CreateBucket', arn.bucket(bucket)],
        ['s3:PutEncryptionConfiguration', arn.bucket(bucket)],
        ['s3:PutBucketPolicy', arn.bucket(bucket)],
        ['s3:ListBucket', arn.bucket(shortenedBucket)],
        ['s3:DeleteBucket', arn.bucket(bucket)],
        ['s3:PutObject', arn.bucket(artifact)],
        ['s3:GetObject', arn.bucket(artifact)],
        ['s3:DeleteObject', arn.bucket(artifact)],
        ['lambda:GetFunction', arn.fn('myservice-dev-api')],
        ['lambda:CreateFunction', arn.fn('myservice-dev-api')],
        ['lambda:UpdateFunctionCode', arn.fn('myservice-dev-api')],
        ['lambda:PublishVersion', arn.fn('myservice-dev-api')],
        ['lambda:AddPermission', arn.fn('myservice-dev-api')],
        ['lambda:DeleteFunction', arn.fn('myservice-dev-api')],
        ['lambda:PublishLayerVersion', arn.layer('myservice-dev-python-requirements')],
        ['lambda:GetLayerVersion', arn.layer('myservice-dev-python-requirements:3')],
        ['logs:CreateLogGroup', arn.logGroup('/aws/lambda/myservice-dev-api')],
        ['logs:DeleteLogGroup', arn.logGroup('/aws/lambda/myservice-dev-api')],
        ['logs:DescribeLogGroups', arn.logGroup('*')],
        ['iam:CreateRole', arn.role(lambdaRole)],
        ['iam:PutRolePolicy', arn.role(lambdaRole)],
        ['iam:GetRole', arn.role(lambdaRole)],
        ['iam:DeleteRolePolicy', arn.role(lambdaRole)],
        ['iam:DeleteRole', arn.role(lambdaRole)],
        ['iam:PassRole', arn.role(lambdaRole), toLambda],
        ['apigateway:POST', arn.api('/apis')],
        ['apigateway:POST', arn.api('/apis/a1b2c3d4e5/routes')],
        ['apigateway:PATCH', arn.api('/apis/a1b2c3d4e5/stages/$default')],
        ['apigateway:DELETE', arn.api('/apis/a1b2c3d4e5')]
      ]
      const refused = needed.filter(
        ([action, resource, context]) => !isAllowed(anyStage.permissions, action, resource, context)
      )
      expect(refused).toEqual([])
    })

    it('refuses other services, other buckets, other actions and itself', () => {
      const outside: [string, string, Record<string, string>?][] = [
        ['cloudformation:UpdateStack', arn.stack('otherservice-dev')],
        ['cloudformation:DeleteStack', arn.stack('myservicex')],
        ['cloudformation:UpdateStack', anyStage.stackId],
        ['cloudformation:DeleteStack', anyStage.stackId],
        ['cloudformation:CreateStack', '*'],
        ['s3:PutObject', arn.bucket('otherservice-dev-serverlessdeploymentbucket-1a2b3c4d5e6f7/x.zip')],
        ['s3:CreateBucket', arn.bucket('myservice-dev-uploads')],
        ['s3:PutObject', arn.bucket('myservice-dev-uploads/x')],
        ['s3:PutBucketAcl', arn.bucket(bucket)],
        ['lambda:UpdateFunctionCode', arn.fn('otherservice-dev-api')],
        ['lambda:InvokeFunction', arn.fn('myservice-dev-api')],
        ['logs:DeleteLogGroup', arn.logGroup('/aws/lambda/otherservice-dev-api')],
        ['iam:CreateRole', arn.role('otherservice-dev-us-east-1-lambdaRole')],
        ['iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/anyone`],
        ['iam:PassRole', arn.role(lambdaRole)],
        ['iam:PassRole', arn.role(lambdaRole), { 'iam:PassedToService': 'ec2.amazonaws.com' }],
        ['iam:PutRolePolicy', arn.role(anyStage.roleName)],
        ['iam:AttachRolePolicy', arn.role(anyStage.roleName)],
        ['iam:UpdateAssumeRolePolicy', arn.role(anyStage.roleName)],
        ['apigateway:POST', arn.api('/restapis')],
        ['apigateway:POST', arn.api('/domainnames')],
        ['sts:AssumeRole', '*']
      ]
      expect(anyStage.roleName).toBe('myservice-ci-deployer') // matches role/myservice-*-*
      const admitted = outside.filter(([action, resource, context]) =>
        isAllowed(anyStage.permissions, action, resource, context)
      )
      expect(admitted).toEqual([])
    })

    it('with Stage=prod, reaches only the prod stage; with a boundary, creates roles only under it', () => {
      expect(xmlValue(prodOnly.role, 'MaxSessionDuration')).toBe('7200')
      const boundary = { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/service-boundary` }
      const allowed = (action: string, resource: string, context?: Record<string, string>) =>
        isAllowed(prodOnly.permissions, action, resource, context)

      expect(allowed('lambda:UpdateFunctionCode', arn.fn('myservice-prod-api'))).toBe(true)
      expect(allowed('lambda:UpdateFunctionCode', arn.fn('myservice-dev-api'))).toBe(false)
      expect(allowed('cloudformation:UpdateStack', arn.stack('myservice-prod'))).toBe(true)
      expect(allowed('cloudformation:UpdateStack', arn.stack('myservice-dev'))).toBe(false)
      expect(allowed('s3:PutObject', arn.bucket('myservice-prod-serverlessdeploymentbucket-x/k'))).toBe(true)
      expect(allowed('s3:PutObject', arn.bucket(`${artifact}`))).toBe(false)

      const prodRole = arn.role('myservice-prod-us-east-1-lambdaRole')
      expect(allowed('iam:CreateRole', prodRole, boundary)).toBe(true)
      expect(allowed('iam:PutRolePolicy', prodRole, boundary)).toBe(true)
      expect(allowed('iam:CreateRole', prodRole)).toBe(false)
      expect(
        allowed('iam:PutRolePolicy', prodRole, { 'iam:PermissionsBoundary': 'arn:aws:iam::aws:policy/X' })
      ).toBe(false)
      expect(allowed('iam:DeleteRolePermissionsBoundary', prodRole, boundary)).toBe(false)
      expect(allowed('iam:PassRole', prodRole, toLambda)).toBe(true)
    })
  })
})
