/**
 * iam/github-deploy-role.yml: cfn-lint, its shape, creating it in moto and assuming the role, and who the
 * trust policy admits (one branch or one environment, in both GitHub subject formats, for one repository
 * ID), for one stage and for a stage prefix (pr-*). What the role may do is in escalation.test.ts.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation'
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { isWildcardOnlyAction } from '@cloud-copilot/iam-simulate'
import { parse, parseDocument } from 'yaml'
import { startMoto, type Moto } from '../support/moto.js'
import {
  ACCOUNT,
  OIDC_PROVIDER,
  admitsToken,
  type PolicyDocument,
  type Statement
} from './policy-evaluator.js'
import {
  attachedPolicies,
  cloudFormation,
  createStack,
  createGitHubOidcProvider,
  iam,
  templatePath,
  templateText,
  xmlValue,
  type CreatedStack
} from './stack.js'

const list = (value: unknown): unknown[] => (value === undefined ? [] : [value].flat())

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
    // The global setup installs cfn-lint into the project's own virtual environment.
    if (!cfnLintCommand())
      throw new Error('cfn-lint is not on PATH: run the tests through jest, whose global setup installs it')
  })

  it('passes cfn-lint with no errors, warnings or notes', () => {
    const { status, output } = cfnLint(templatePath)
    expect(output).toBe('')
    expect(status).toBe(0)
  }, 120_000)

  it('the lint run does catch a broken template (the check above is not vacuous)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iam-lint-'))
    try {
      const broken = join(dir, 'broken.yml')
      const mutated = templateText.replace('Ref: FunctionBoundary', 'Ref: FunctionBoundaryTypo')
      expect(mutated).not.toBe(templateText)
      writeFileSync(broken, mutated)
      const { status, output } = cfnLint(broken)
      expect(status).not.toBe(0)
      expect(output).toMatch(/FunctionBoundaryTypo/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

// ---------------------------------------------------------------------------------------------
// The template's shape

interface Parameter {
  Type: string
  Default?: unknown
  AllowedPattern?: string
  AllowedValues?: unknown[]
}
interface Template {
  Parameters: Record<string, Parameter>
  Rules: Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }>
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

/** Every permission statement (deploy policy and boundary), with intrinsic functions left in place. */
function permissionStatements(template: Template): Statement[] {
  const statements: unknown[] = []
  for (const resource of Object.values(template.Resources))
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy')
      statements.push(...(resource.Properties.PolicyDocument as { Statement: unknown[] }).Statement)
  // an optional statement is Fn::If: [condition, statement, other statement]
  return statements.flatMap(s => {
    const branches = (s as { 'Fn::If'?: [string, Statement, Statement] })['Fn::If']
    return branches ? [branches[1], branches[2]] : [s as Statement]
  })
}

/** CloudFormation rule functions, for the few the template's Rules use. */
function ruleHolds(
  expression: unknown,
  parameters: Record<string, string>,
  template: Template
): boolean | string | string[] {
  if (typeof expression === 'string') return expression
  const [[fn, args]] = Object.entries(expression as Record<string, unknown>)
  const value = (arg: unknown) => ruleHolds(arg, parameters, template)
  switch (fn) {
    case 'Ref': {
      const name = args as string
      const raw = parameters[name] ?? String(template.Parameters[name].Default ?? '')
      return template.Parameters[name].Type === 'CommaDelimitedList' ? raw.split(',') : raw
    }
    case 'Fn::Equals':
      return value((args as unknown[])[0]) === value((args as unknown[])[1])
    case 'Fn::EachMemberEquals':
      return (value((args as unknown[])[0]) as string[]).every(m => m === value((args as unknown[])[1]))
    case 'Fn::Not':
      return !value((args as unknown[])[0])
    case 'Fn::And':
      return (args as unknown[]).every(a => value(a) === true)
    case 'Fn::Or':
      return (args as unknown[]).some(a => value(a) === true)
    default:
      throw new Error(`rule function ${fn} is not modelled`)
  }
}

function brokenRules(template: Template, parameters: Record<string, string>): string[] {
  return Object.values(template.Rules).flatMap(rule =>
    rule.Assertions.filter(a => ruleHolds(a.Assert, parameters, template) !== true).map(
      a => a.AssertDescription
    )
  )
}

describe('iam/github-deploy-role.yml: its shape', () => {
  let template: Template
  let statements: Statement[]
  let allows: Statement[]

  beforeAll(() => {
    template = loadTemplate()
    statements = permissionStatements(template)
    allows = statements.filter(s => s.Effect === 'Allow')
  })

  it('creates the GitHub OIDC provider (or uses the existing one), the boundary, the role and its policy', () => {
    const provider = template.Resources.GitHubOidcProvider
    expect(provider.Type).toBe('AWS::IAM::OIDCProvider')
    expect(provider.Condition).toBe('CreateProvider')
    expect(provider.Properties.Url).toBe('https://token.actions.githubusercontent.com')
    expect(provider.Properties.ClientIdList).toEqual(['sts.amazonaws.com'])
    expect(template.Parameters.CreateOidcProvider.AllowedValues).toEqual(['true', 'false'])
    expect(template.Resources.FunctionBoundary.Type).toBe('AWS::IAM::ManagedPolicy')
    expect(template.Resources.DeployRole.Type).toBe('AWS::IAM::Role')
    expect(template.Resources.DeployPolicy.Type).toBe('AWS::IAM::Policy')
    expect(template.Resources.DeploymentBucket.Type).toBe('AWS::S3::Bucket')
    expect(template.Resources.DeploymentBucketPolicy.Type).toBe('AWS::S3::BucketPolicy')
    // the plan role only on request
    expect([template.Resources.PlanRole.Condition, template.Resources.PlanPolicy.Condition]).toEqual([
      'PlanRole',
      'PlanRole'
    ])
    expect(template.Parameters.CreatePlanRole.Default).toBe('false')
    expect(template.Parameters.MaxSessionDuration.Default).toBe(3600)
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining([
        'RoleArn',
        'PermissionsBoundaryArn',
        'ServerlessYml',
        'DeploymentBucketName',
        'StackTag',
        'PlanRoleArn',
        'OidcProviderArn',
        'TrustedSubjects'
      ])
    )
  })

  it('requires the repository IDs and one explicit stage or stage prefix; rejects other wildcards', () => {
    for (const required of [
      'GitHubRepository',
      'GitHubOwnerId',
      'GitHubRepositoryId',
      'ServiceName',
      'Stage'
    ])
      expect([required, template.Parameters[required].Default]).toEqual([required, undefined])
    const accepts = (name: string, value: string) =>
      new RegExp(template.Parameters[name].AllowedPattern as string).test(value)
    const cases: [string, string, boolean][] = [
      ['GitHubOwnerId', '9919', true],
      ['GitHubOwnerId', 'octo-org', false],
      ['GitHubOwnerId', '', false],
      ['GitHubRepositoryId', '1296269', true],
      ['GitHubRepositoryId', '12a', false],
      ['Stage', 'prod', true],
      ['Stage', 'eu-prod', true],
      ['Stage', '*', false],
      ['Stage', 'prod*', false],
      ['Stage', '', false],
      ['Stage', 'Prod', false],
      // prefix mode: a prefix that ends with a hyphen, then one * (pr* would also cover prod)
      ['Stage', 'pr-*', true],
      ['Stage', 'preview-eu-*', true],
      ['Stage', 'pr*', false],
      ['Stage', 'p*', false],
      ['Stage', '-*', false],
      ['Stage', 'pr--*', false],
      ['Stage', 'pr-*-*', false],
      ['Stage', 'pr-?', false],
      ['Stage', '*-pr', false],
      ['Stage', 'Pr-*', false],
      ['ServiceName', 'api', true],
      ['ServiceName', 'api-admin', true],
      ['ServiceName', 'api-', false],
      ['ServiceName', 'Api', false],
      ['GitHubBranch', 'main', true],
      ['GitHubBranch', 'release/v1', true],
      ['GitHubBranch', '*', false],
      ['GitHubBranch', 'feature/*', false],
      ['GitHubEnvironment', 'prod', true],
      ['GitHubEnvironment', 'pr?d', false],
      ['ExtraFunctionActions', 'dynamodb:GetItem', true],
      ['ExtraFunctionActions', 's3:Get*', true],
      ['ExtraFunctionActions', '*', false],
      ['ExtraFunctionActions', '', true],
      ['ExtraFunctionResources', 'arn:aws:dynamodb:eu-west-1:123456789012:table/items', true],
      ['ExtraFunctionResources', '*', true],
      ['ExtraFunctionResources', 'table/items', false],
      ['ExtraLambdaServiceActions', 'sqs:ReceiveMessage', true],
      ['ExtraLambdaServiceActions', '*', false],
      ['ExtraLambdaServiceResources', 'arn:aws:sqs:eu-west-1:123456789012:jobs', true],
      ['ExtraLambdaServiceResources', '*', false],
      // one workflow file at one ref, or nothing
      ['GitHubJobWorkflowRef', '', true],
      ['GitHubJobWorkflowRef', 'octo-org/deploy/.github/workflows/deploy.yml@refs/heads/main', true],
      ['GitHubJobWorkflowRef', 'octo-org/deploy/.github/workflows/deploy.yml@refs/heads/*', false],
      ['GitHubJobWorkflowRef', 'octo-org/deploy/.github/workflows/deploy.yml', false],
      ['GitHubJobWorkflowRef', 'deploy.yml@refs/heads/main', false],
      ['PlanJobWorkflowRef', 'octo-org/plans/.github/workflows/plan.yml@refs/tags/v1', true],
      ['PlanJobWorkflowRef', 'octo-org/plans/.github/workflows/*.yml@refs/tags/v1', false]
    ]
    expect(cases.map(([name, value]) => [name, value, accepts(name, value)])).toEqual(cases)
  })

  it('its Rules demand exactly one of GitHubBranch and GitHubEnvironment, and extra actions with resources', () => {
    const base = {
      GitHubRepository: 'o/r',
      GitHubOwnerId: '1',
      GitHubRepositoryId: '2',
      ServiceName: 's',
      Stage: 'prod'
    }
    expect(brokenRules(template, { ...base, GitHubBranch: 'main' })).toEqual([])
    expect(brokenRules(template, { ...base, GitHubEnvironment: 'prod' })).toEqual([])
    expect(brokenRules(template, base)).toEqual([
      'Set GitHubBranch or GitHubEnvironment; the role never trusts every ref of the repository.'
    ])
    expect(brokenRules(template, { ...base, GitHubBranch: 'main', GitHubEnvironment: 'prod' })).toEqual([
      "Set GitHubBranch or GitHubEnvironment, not both (a job's OIDC subject names one or the other)."
    ])
    const withBranch = { ...base, GitHubBranch: 'main' }
    const actions = { ExtraFunctionActions: 'dynamodb:GetItem' }
    const resources = { ExtraFunctionResources: 'arn:aws:dynamodb:us-east-1:123456789012:table/t' }
    expect(brokenRules(template, { ...withBranch, ...actions, ...resources })).toEqual([])
    expect(brokenRules(template, { ...withBranch, ...actions })).toHaveLength(1)
    expect(brokenRules(template, { ...withBranch, ...resources })).toHaveLength(1)
    const serviceActions = { ExtraLambdaServiceActions: 'sqs:ReceiveMessage' }
    const serviceResources = { ExtraLambdaServiceResources: 'arn:aws:sqs:us-east-1:123456789012:q' }
    expect(brokenRules(template, { ...withBranch, ...serviceActions, ...serviceResources })).toEqual([])
    expect(brokenRules(template, { ...withBranch, ...serviceActions })).toEqual([
      'Set ExtraLambdaServiceActions and ExtraLambdaServiceResources together, or neither.'
    ])
  })

  it('attaches no AWS managed policy, so no *FullAccess one; its own managed policy holds only denies', () => {
    expect(templateText).not.toMatch(/FullAccess|AdministratorAccess|PowerUserAccess/)
    for (const resource of Object.values(template.Resources))
      expect(resource.Properties.ManagedPolicyArns).toBeUndefined()
    // the deploy role's explicit denies, in a policy of their own (inline policies share 10,240 characters)
    const attached = Object.entries(template.Resources).filter(([, r]) => r.Properties.Roles !== undefined)
    expect(attached.map(([name, r]) => [name, r.Type, r.Properties.Roles])).toEqual([
      ['DeployPolicy', 'AWS::IAM::Policy', [{ Ref: 'DeployRole' }]],
      ['DeployGuardrails', 'AWS::IAM::ManagedPolicy', [{ Ref: 'DeployRole' }]],
      ['PlanPolicy', 'AWS::IAM::Policy', [{ Ref: 'PlanRole' }]]
    ])
    const guardrails = template.Resources.DeployGuardrails.Properties.PolicyDocument as PolicyDocument
    expect(new Set(guardrails.Statement.map(s => s.Effect))).toEqual(new Set(['Deny']))
    const deploy = template.Resources.DeployPolicy.Properties.PolicyDocument as PolicyDocument
    expect(new Set(deploy.Statement.map(s => s.Effect))).toEqual(new Set(['Allow']))
  })

  it('never allows Action "*" or a whole service, and uses NotAction/NotResource only to deny', () => {
    expect(allows.length).toBeGreaterThan(10)
    for (const statement of allows) {
      expect(statement.NotAction).toBeUndefined()
      expect(statement.NotResource).toBeUndefined()
      for (const action of list(statement.Action)) {
        if (typeof action !== 'string') continue // Ref: ExtraFunctionActions, whose pattern forbids "*"
        expect(action).not.toBe('*')
        expect(action).not.toMatch(/:\*$/)
      }
    }
    // the boundary's "only logs and traces", the deploy role's "no IAM outside the service's roles" and "the
    // stage tag only on what it creates", the plan
    // role's "nothing but reads, plan change sets and plan templates" and "writes only to its own"
    expect(
      statements.filter(s => 'NotAction' in s || 'NotResource' in s).map(s => [s.Sid, s.Effect])
    ).toEqual([
      ['OnlyLogsAndTracing', 'Deny'],
      ['NoIamOutsideTheServiceRoles', 'Deny'],
      ['TheStageTagOnlyOnCreate', 'Deny'],
      ['NothingElse', 'Deny'],
      ['WritesOnlyToItsOwn', 'Deny']
    ])
  })

  it('pairs Resource "*" only with actions that have no resource-level permissions', async () => {
    const unscoped: string[] = []
    for (const statement of allows)
      if (list(statement.Resource).includes('*'))
        for (const action of list(statement.Action) as string[]) {
          const [service, name] = action.split(':')
          if (!(await isWildcardOnlyAction(service, name))) unscoped.push(action)
        }
    expect(unscoped).toEqual([])
  })

  it('names the boundary SERVICE-STAGE-REGION-lambda-boundary, with _ for the * of a stage prefix', () => {
    const name = template.Resources.FunctionBoundary.Properties.ManagedPolicyName as {
      'Fn::Sub': [string, { BoundaryStage: unknown }]
    }
    expect(name['Fn::Sub'][0]).toBe('${ServiceName}-${BoundaryStage}-${AWS::Region}-lambda-boundary')
    expect(name['Fn::Sub'][1].BoundaryStage).toEqual({
      'Fn::Join': ['_', { 'Fn::Split': ['*', { Ref: 'Stage' }] }]
    })
    // the shared name is out of reach of every single stage, since no stage name may contain "_"
    expect(new RegExp(template.Parameters.Stage.AllowedPattern as string).test('pr-_')).toBe(false)
  })

  it('builds every allowed ARN with ${AWS::Partition}, the service name and the stage', () => {
    const parameterLists = ['ExtraFunctionResources', 'ExtraLambdaServiceResources']
    for (const statement of allows) {
      for (const resource of list(statement.Resource)) {
        if (resource === '*' || parameterLists.includes((resource as { Ref?: string }).Ref ?? '')) continue
        const sub = (resource as { 'Fn::Sub'?: string })['Fn::Sub']
        expect(typeof sub).toBe('string')
        expect(sub).toMatch(/^arn:\$\{AWS::Partition\}:/)
        if (/:apigateway:/.test(sub as string)) continue // below: by the stage's tag
        if (/^arn:\$\{AWS::Partition\}:s3:::\$\{DeploymentBucket\}/.test(sub as string))
          // the stack's own bucket, and in it the stage's own prefix
          expect([
            sub,
            /^[^/]*(\/(serverless|plan)\/\$\{ServiceName\}\/\$\{Stage\}\/\*)?$/.test(sub as string)
          ]).toEqual([sub, true])
        else expect(sub).toContain('${ServiceName}-${Stage}')
      }
    }
  })

  it("scopes every API Gateway write, and every read below /apis/, by the stage's tag", () => {
    const stageTag = { 'Fn::Sub': '${ServiceName}-${Stage}' }
    const apiGateway = allows.filter(s => list(s.Action).some(a => String(a).startsWith('apigateway:')))
    expect(apiGateway.length).toBeGreaterThan(0)
    for (const statement of apiGateway) {
      const resources = list(statement.Resource).map(r => (r as { 'Fn::Sub': string })['Fn::Sub'])
      const readOnly = list(statement.Action).every(a => a === 'apigateway:GET')
      const below = resources.some(r => r.includes('::/apis/'))
      const tags = statement.Condition?.StringLike ?? {}
      if (readOnly && !below) {
        // listing the APIs, reading tags
        expect([statement.Sid, resources.every(r => /::\/(apis|tags\/\*)$/.test(r))]).toEqual([
          statement.Sid,
          true
        ])
        continue
      }
      expect([statement.Sid, tags]).toEqual([
        statement.Sid,
        below
          ? { 'aws:ResourceTag/serverless-python-deploy:stack': stageTag }
          : { 'aws:RequestTag/serverless-python-deploy:stack': stageTag }
      ])
    }
  })

  it('lets iam:PassRole hand roles to Lambda only', () => {
    const passRole = allows.filter(s => list(s.Action).some(a => /^iam:(PassRole|\*)$/i.test(String(a))))
    expect(passRole).toHaveLength(1)
    expect(list(passRole[0].Action)).toEqual(['iam:PassRole'])
    expect(passRole[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } })
  })

  it('conditions every IAM write on the service roles on the boundary this stack creates', () => {
    const writes = allows.filter(s =>
      list(s.Action).some(a => /^iam:(Create|Put|Attach|Detach|Delete|Update)/.test(String(a)))
    )
    expect(writes).toHaveLength(1)
    expect(writes[0].Condition).toEqual({
      StringEquals: { 'iam:PermissionsBoundary': { Ref: 'FunctionBoundary' } }
    })
    expect(list(writes[0].Action)).not.toContain('iam:UpdateAssumeRolePolicy')
    expect(list(writes[0].Action)).not.toContain('iam:DeleteRolePermissionsBoundary')
  })

  it('trusts one subject pair, the repository ID and audience sts.amazonaws.com, with no wildcard', () => {
    const trust = (template.Resources.DeployRole.Properties.AssumeRolePolicyDocument as PolicyDocument)
      .Statement
    expect(trust).toHaveLength(1)
    expect(trust[0].Action).toBe('sts:AssumeRoleWithWebIdentity')
    expect(Object.keys(trust[0].Condition ?? {})).toEqual(['StringEquals'])
    const equals = trust[0].Condition?.StringEquals as Record<string, unknown>
    expect(equals['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com')
    expect(equals['token.actions.githubusercontent.com:repository_id']).toEqual({ Ref: 'GitHubRepositoryId' })
    expect(equals['token.actions.githubusercontent.com:sub']).toHaveLength(2)
  })

  it('documents the command that creates it in its header', () => {
    expect(templateText).toContain('aws cloudformation deploy --template-file iam/github-deploy-role.yml')
    expect(templateText).toContain('--capabilities CAPABILITY_NAMED_IAM')
    expect(templateText).toContain("gh api repos/owner/repo --jq '.owner.id, .id'")
    const header = parameterOverrides(templateText)
    expect(brokenRules(template, header)).toEqual([])
    expect(Object.keys(header)).toEqual(
      expect.arrayContaining([
        'GitHubRepository',
        'GitHubOwnerId',
        'GitHubRepositoryId',
        'ServiceName',
        'Stage'
      ])
    )
  })
})

/** The Key=Value pairs of the first `aws cloudformation deploy … --parameter-overrides` command in a text. */
function parameterOverrides(text: string): Record<string, string> {
  const start = text.indexOf('aws cloudformation deploy')
  expect(start).toBeGreaterThanOrEqual(0)
  const lines: string[] = []
  for (const line of text.slice(start).split('\n')) {
    const bare = line.replace(/^#\s*/, '').trim()
    lines.push(bare.replace(/\\$/, ''))
    if (!bare.endsWith('\\')) break
  }
  const words = lines.join(' ').split(/\s+/)
  const overrides = words.slice(words.indexOf('--parameter-overrides') + 1)
  return Object.fromEntries(
    overrides.filter(w => w.includes('=')).map(w => w.split('=', 2) as [string, string])
  )
}

// ---------------------------------------------------------------------------------------------
// Created in moto, and who the trust policy admits

const SUB = 'token.actions.githubusercontent.com:sub'
const AUD = 'token.actions.githubusercontent.com:aud'
const REPOSITORY_ID = 'token.actions.githubusercontent.com:repository_id'
const OWNER = 'octo-org'
const OWNER_ID = '1001'
const REPO = 'octo-app'
const REPO_ID = '2002'

const trustParameters = {
  GitHubRepository: `${OWNER}/${REPO}`,
  GitHubOwnerId: OWNER_ID,
  GitHubRepositoryId: REPO_ID,
  ServiceName: 'myservice',
  Stage: 'prod'
}

let moto: Moto | undefined

describe('iam/github-deploy-role.yml: created in moto', () => {
  let branch: CreatedStack
  let environment: CreatedStack
  let preview: CreatedStack
  let pinned: CreatedStack
  const PINNED = `${OWNER}/deploy-workflows/.github/workflows/deploy.yml@refs/heads/main`

  beforeAll(async () => {
    moto = await startMoto()
    await createGitHubOidcProvider(moto)
    branch = await createStack(moto, 'gh-deploy-branch', {
      ...trustParameters,
      GitHubBranch: 'main',
      CreateOidcProvider: 'false',
      RoleName: 'myservice-prod-deployer',
      MaxSessionDuration: '7200'
    })
    environment = await createStack(moto, 'gh-deploy-environment', {
      ...trustParameters,
      ServiceName: 'otherservice',
      GitHubEnvironment: 'prod',
      CreateOidcProvider: 'false'
    })
    // prefix mode, as the starter template's preview workflow needs it
    preview = await createStack(moto, 'gh-deploy-preview', {
      ...trustParameters,
      Stage: 'pr-*',
      GitHubEnvironment: 'preview',
      CreateOidcProvider: 'false'
    })
    // one reusable workflow at one ref, on top of the environment
    pinned = await createStack(moto, 'gh-deploy-pinned', {
      ...trustParameters,
      ServiceName: 'pinned',
      GitHubEnvironment: 'prod',
      GitHubJobWorkflowRef: PINNED,
      CreateOidcProvider: 'false'
    })
  }, 120_000)

  afterAll(async () => {
    await moto?.stop()
  })

  it('creates the role, its policy and the boundary, with the outputs the README names', async () => {
    const { StackResources } = await cloudFormation(moto!).send(
      new DescribeStackResourcesCommand({ StackName: 'gh-deploy-branch' })
    )
    const created = Object.fromEntries(
      (StackResources ?? []).map(r => [r.LogicalResourceId, [r.ResourceType, r.ResourceStatus]])
    )
    expect(created).toMatchObject({
      DeployRole: ['AWS::IAM::Role', 'CREATE_COMPLETE'],
      DeployPolicy: ['AWS::IAM::Policy', 'CREATE_COMPLETE'],
      FunctionBoundary: ['AWS::IAM::ManagedPolicy', 'CREATE_COMPLETE']
    })
    expect(branch.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/myservice-prod-deployer`)
    expect(xmlValue(branch.role, 'MaxSessionDuration')).toBe('7200')
    expect(xmlValue(environment.role, 'MaxSessionDuration')).toBe('3600')
    expect(branch.outputs.OidcProviderArn).toBe(OIDC_PROVIDER)
    expect(branch.outputs.PermissionsBoundaryArn).toBe(
      `arn:aws:iam::${ACCOUNT}:policy/myservice-prod-us-east-1-lambda-boundary`
    )
    // the boundary, the stack's own deployment bucket, and the stage's tag on the stack and on the HTTP API
    expect(branch.deploymentBucket).toMatch(/^gh-deploy-branch-deploymentbucket-[a-z0-9]+$/)
    const stageTag = { 'serverless-python-deploy:stack': '${self:service}-${sls:stage}' }
    expect(parse(branch.outputs.ServerlessYml)).toEqual({
      provider: {
        iam: { role: { permissionsBoundary: branch.boundaryArn } },
        deploymentBucket: { name: branch.deploymentBucket },
        stackTags: stageTag,
        tags: stageTag
      }
    })
    expect(branch.outputs.StackTag).toBe('serverless-python-deploy:stack=myservice-prod')
    expect(preview.outputs.StackTag).toBe('serverless-python-deploy:stack=myservice-pr-*')
    // each stack has its own bucket
    expect(new Set([branch, environment, preview].map(s => s.deploymentBucket)).size).toBe(3)
  })

  it('branch variant: both subject formats of refs/heads/main, for repository ID 2002 only', () => {
    expect(branch.trust.Statement).toHaveLength(1)
    const [statement] = branch.trust.Statement
    expect(statement.Principal).toEqual({ Federated: OIDC_PROVIDER })
    expect(statement.Condition).toEqual({
      StringEquals: {
        [AUD]: 'sts.amazonaws.com',
        [REPOSITORY_ID]: REPO_ID,
        [SUB]: [
          `repo:${OWNER}/${REPO}:ref:refs/heads/main`,
          `repo:${OWNER}@${OWNER_ID}/${REPO}@${REPO_ID}:ref:refs/heads/main`
        ]
      }
    })
    expect(branch.outputs.TrustedSubjects).toBe(
      `repo:${OWNER}/${REPO}:ref:refs/heads/main repo:${OWNER}@${OWNER_ID}/${REPO}@${REPO_ID}:ref:refs/heads/main`
    )
  })

  it('environment variant: both subject formats of the prod environment', () => {
    const [statement] = environment.trust.Statement
    expect(statement.Condition?.StringEquals[SUB]).toEqual([
      `repo:${OWNER}/${REPO}:environment:prod`,
      `repo:${OWNER}@${OWNER_ID}/${REPO}@${REPO_ID}:environment:prod`
    ])
  })

  it('prefix variant (Stage=pr-*): one shared boundary, trust in the preview environment only', () => {
    expect(preview.boundaryArn).toBe(
      `arn:aws:iam::${ACCOUNT}:policy/myservice-pr-_-us-east-1-lambda-boundary`
    )
    expect(preview.outputs.PermissionsBoundaryArn).toBe(preview.boundaryArn)
    const [statement] = preview.trust.Statement
    expect(statement.Condition).toEqual({
      StringEquals: {
        [AUD]: 'sts.amazonaws.com',
        [REPOSITORY_ID]: REPO_ID,
        [SUB]: [
          `repo:${OWNER}/${REPO}:environment:preview`,
          `repo:${OWNER}@${OWNER_ID}/${REPO}@${REPO_ID}:environment:preview`
        ]
      }
    })
    // every resource of the service is named by the service and the prefix, never by a bare wildcard stage
    // (the boundary policy itself, which BoundaryIsFixed names, is the one exception: a fixed name)
    // and the artifacts' prefix in the stack's own bucket, serverless/myservice/pr-*/
    const resources = [...preview.permissions.Statement, ...preview.boundary.Statement]
      .flatMap(s => [s.Resource ?? [], s.NotResource ?? []].flat())
      .filter(r => /myservice/.test(r) && r !== preview.boundaryArn)
    expect(resources.length).toBeGreaterThan(10)
    for (const resource of resources) expect(resource).toMatch(/myservice(-|\/)pr-\*/)
  })

  it('GitHubJobWorkflowRef pins the role to one workflow at one ref; unpinned by default', () => {
    const token = (job_workflow_ref?: string) => ({
      sub: `repo:${OWNER}/${REPO}:environment:prod`,
      aud: 'sts.amazonaws.com',
      repository_id: REPO_ID,
      ...(job_workflow_ref === undefined ? {} : { job_workflow_ref })
    })
    const decide = (stack: CreatedStack, claims: Record<string, string>) =>
      admitsToken(stack.trust, stack.roleArn, claims)
    expect(pinned.trust.Statement[0].Condition?.StringEquals).toMatchObject({
      'token.actions.githubusercontent.com:job_workflow_ref': PINNED
    })
    expect(decide(pinned, token(PINNED))).toBe('Allowed')
    // the job's own workflow file, the pinned one at another ref, no claim at all
    expect(decide(pinned, token(`${OWNER}/${REPO}/.github/workflows/deploy.yml@refs/heads/main`))).toBe(
      'ImplicitlyDenied'
    )
    expect(decide(pinned, token(PINNED.replace('refs/heads/main', 'refs/heads/feature')))).toBe(
      'ImplicitlyDenied'
    )
    expect(decide(pinned, token())).toBe('ImplicitlyDenied')
    // the same job, environment prod, without the pin: any workflow
    expect(
      decide(environment, { ...token(`${OWNER}/${REPO}/.github/workflows/x.yml@refs/heads/main`) })
    ).toBe('Allowed')
    expect(JSON.stringify(environment.trust)).not.toContain('job_workflow_ref')
  })

  it("fits IAM's size limits with long names: 10,240 characters of inline policy per role, 6,144 per managed policy", async () => {
    const long = await createStack(moto!, 'github-deploy-a-rather-long-service-name-production-eu', {
      ...trustParameters,
      ServiceName: 'a-rather-long-service-name',
      Stage: 'production-eu',
      GitHubEnvironment: 'production',
      CreateOidcProvider: 'false',
      CreatePlanRole: 'true',
      EnableXRay: 'true',
      ExtraFunctionActions: 'dynamodb:GetItem,dynamodb:PutItem,dynamodb:Query',
      ExtraFunctionResources: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/a-rather-long-service-name-production-eu-items`
    })
    // IAM counts the policy without whitespace
    const size = (policy: PolicyDocument) => JSON.stringify(policy).length
    const inline = (roleName: string, policyName: string) =>
      iam(moto!, { Action: 'GetRolePolicy', RoleName: roleName, PolicyName: policyName }).then(xml =>
        size(JSON.parse(decodeURIComponent(xmlValue(xml, 'PolicyDocument'))) as PolicyDocument)
      )
    const sizes = {
      deploy: await inline(long.roleName, 'serverless-deploy'),
      guardrails: (await attachedPolicies(moto!, long.roleName)).map(a => size(a.document)),
      plan: await inline(long.plan!.roleName, 'serverless-plan'),
      boundary: size(long.boundary)
    }
    expect(sizes.guardrails).toHaveLength(1)
    expect([
      sizes.deploy < 10_240,
      sizes.plan < 10_240,
      sizes.boundary < 6_144,
      sizes.guardrails[0] < 6_144
    ]).toEqual([true, true, true, true])
    // and the split is needed: with the denies inline, the role's inline policy would not fit
    expect(sizes.deploy + sizes.guardrails[0]).toBeGreaterThan(10_240)
  }, 60_000)

  it('the role can be assumed through the web-identity call the action makes', async () => {
    // moto's STS hands out credentials without checking the trust policy (the table below does that)
    const sts = new STSClient({ region: 'us-east-1', endpoint: moto!.endpoint })
    const assumed = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: environment.roleArn,
        RoleSessionName: 'github-actions',
        WebIdentityToken: 'not-checked-by-moto'
      })
    )
    expect(assumed.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${ACCOUNT}:assumed-role/${environment.roleName}/github-actions`
    )
  })

  describe('who gets in: the sub and aud of each run, against the trust policy as created', () => {
    const immutable = (owner: string, ownerId: string, repo: string, repoId: string, context: string) =>
      `repo:${owner}@${ownerId}/${repo}@${repoId}:${context}`
    interface Run {
      run: string
      sub: string
      aud?: string
      repositoryId?: string
      /**
       * admitted by the role trusting GitHubBranch=main, by the one trusting GitHubEnvironment=prod, and by
       * the prefix role (Stage=pr-*) trusting GitHubEnvironment=preview
       */
      admitted: [branch: boolean, environment: boolean, preview: boolean]
    }
    const runs: Run[] = [
      {
        run: 'push to main, legacy sub',
        sub: `repo:${OWNER}/${REPO}:ref:refs/heads/main`,
        admitted: [true, false, false]
      },
      {
        run: 'push to main, immutable sub',
        sub: immutable(OWNER, OWNER_ID, REPO, REPO_ID, 'ref:refs/heads/main'),
        admitted: [true, false, false]
      },
      {
        run: 'job in environment prod, legacy sub',
        sub: `repo:${OWNER}/${REPO}:environment:prod`,
        admitted: [false, true, false]
      },
      {
        run: 'job in environment prod, immutable sub',
        sub: immutable(OWNER, OWNER_ID, REPO, REPO_ID, 'environment:prod'),
        admitted: [false, true, false]
      },
      {
        run: 'preview job (environment preview) of a pull request, legacy sub',
        sub: `repo:${OWNER}/${REPO}:environment:preview`,
        admitted: [false, false, true]
      },
      {
        run: 'preview job (environment preview) of a pull request, immutable sub',
        sub: immutable(OWNER, OWNER_ID, REPO, REPO_ID, 'environment:preview'),
        admitted: [false, false, true]
      },
      {
        run: 'job in an environment named like preview',
        sub: `repo:${OWNER}/${REPO}:environment:preview-x`,
        admitted: [false, false, false]
      },
      {
        run: "a fork's own workflow in its environment preview",
        sub: `repo:forker/${REPO}:environment:preview`,
        repositoryId: '3003',
        admitted: [false, false, false]
      },
      {
        run: 'job in environment staging',
        sub: `repo:${OWNER}/${REPO}:environment:staging`,
        admitted: [false, false, false]
      },
      {
        run: 'push to another branch',
        sub: `repo:${OWNER}/${REPO}:ref:refs/heads/feature`,
        admitted: [false, false, false]
      },
      {
        run: 'a branch named like main',
        sub: `repo:${OWNER}/${REPO}:ref:refs/heads/main-x`,
        admitted: [false, false, false]
      },
      { run: 'a tag', sub: `repo:${OWNER}/${REPO}:ref:refs/tags/v1.0.0`, admitted: [false, false, false] },
      {
        run: 'pull request, legacy sub',
        sub: `repo:${OWNER}/${REPO}:pull_request`,
        admitted: [false, false, false]
      },
      {
        run: 'pull request, immutable sub',
        sub: immutable(OWNER, OWNER_ID, REPO, REPO_ID, 'pull_request'),
        admitted: [false, false, false]
      },
      {
        // a pull request from a fork gets no token at all; the fork's own workflows run as the fork
        run: "a fork's own workflow on its main",
        sub: `repo:forker/${REPO}:ref:refs/heads/main`,
        repositoryId: '3003',
        admitted: [false, false, false]
      },
      {
        run: "a fork's own workflow, immutable sub",
        sub: immutable('forker', '4004', REPO, '3003', 'ref:refs/heads/main'),
        repositoryId: '3003',
        admitted: [false, false, false]
      },
      {
        run: 'same owner/name re-created under a new owner ID (recycled name), immutable sub',
        sub: immutable(OWNER, '9999', REPO, '7777', 'ref:refs/heads/main'),
        repositoryId: '7777',
        admitted: [false, false, false]
      },
      {
        run: 'same owner/name, new owner ID, immutable sub claiming the old repository ID',
        sub: immutable(OWNER, '9999', REPO, REPO_ID, 'ref:refs/heads/main'),
        admitted: [false, false, false]
      },
      {
        run: 'recycled name presenting a legacy-format sub (customised subject template)',
        sub: `repo:${OWNER}/${REPO}:ref:refs/heads/main`,
        repositoryId: '7777',
        admitted: [false, false, false]
      },
      {
        run: 'another repository of the same owner',
        sub: `repo:${OWNER}/other-app:ref:refs/heads/main`,
        repositoryId: '5005',
        admitted: [false, false, false]
      },
      {
        run: 'the owner spelt in another case',
        sub: `repo:Octo-Org/${REPO}:ref:refs/heads/main`,
        admitted: [false, false, false]
      },
      {
        run: 'push to main, token for another audience',
        sub: `repo:${OWNER}/${REPO}:ref:refs/heads/main`,
        aud: `https://github.com/${OWNER}`,
        admitted: [false, false, false]
      }
    ]

    it.each(runs.map(r => [r.run, r] as const))('%s', (_run, { sub, aud, repositoryId, admitted }) => {
      const claims = { sub, aud: aud ?? 'sts.amazonaws.com', repository_id: repositoryId ?? REPO_ID }
      const decide = (stack: CreatedStack) => admitsToken(stack.trust, stack.roleArn, claims) === 'Allowed'
      expect([decide(branch), decide(environment), decide(preview)]).toEqual(admitted)
    })

    it('a token without the repository_id claim is refused', () => {
      const sub = `repo:${OWNER}/${REPO}:ref:refs/heads/main`
      expect(admitsToken(branch.trust, branch.roleArn, { sub, aud: 'sts.amazonaws.com' })).toBe(
        'ImplicitlyDenied'
      )
      expect(
        admitsToken(branch.trust, branch.roleArn, { sub, aud: 'sts.amazonaws.com', repository_id: REPO_ID })
      ).toBe('Allowed')
    })
  })
})

// ---------------------------------------------------------------------------------------------
// The READMEs' bootstrap commands admit the READMEs' own workflows

const readme = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8')

function section(text: string, heading: string): string {
  const start = text.indexOf(`${heading}\n`)
  expect(start).toBeGreaterThanOrEqual(0)
  const next = text.indexOf('\n## ', start + heading.length)
  return text.slice(start, next === -1 ? undefined : next)
}

interface Workflow {
  jobs: Record<
    string,
    { environment?: string | { name: string }; steps: { uses?: string; with?: Record<string, string> }[] }
  >
}

describe("the READMEs' bootstrap commands admit the READMEs' own workflows", () => {
  let template: Template
  let motoForReadme: Moto | undefined

  beforeAll(async () => {
    template = loadTemplate()
    motoForReadme = await startMoto()
  }, 60_000)

  afterAll(async () => {
    await motoForReadme?.stop()
  })

  it('README.md: the deploy job runs in environment prod, and the command trusts exactly that', async () => {
    const text = readme('../../README.md')
    const usage = section(text, '## Usage')
    const workflowYaml = /```yaml\n([\s\S]*?)```/.exec(usage)?.[1] ?? ''
    const workflow = parse(workflowYaml) as Workflow
    const job = workflow.jobs.deploy
    const environmentName = typeof job.environment === 'string' ? job.environment : job.environment?.name
    const step = job.steps.find(s => s.uses?.startsWith('serverless-python-deploy/action'))
    const service = (parse(/```yaml\n(service:[\s\S]*?)```/.exec(usage)?.[1] ?? '') as { service: string })
      .service

    const command = parameterOverrides(section(text, '## AWS setup: OIDC instead of stored keys'))
    expect(brokenRules(template, command)).toEqual([])
    expect(command).toMatchObject({
      GitHubEnvironment: environmentName,
      Stage: step?.with?.stage,
      ServiceName: service
    })
    expect(command.GitHubBranch).toBeUndefined()

    // Created as the command says (moto cannot create the provider itself), the role admits that job.
    const stack = await createStack(motoForReadme!, 'readme-bootstrap', {
      ...command,
      CreateOidcProvider: 'false'
    })
    const [owner, repo] = command.GitHubRepository.split('/')
    const claims = (context: string) => [
      {
        sub: `repo:${owner}/${repo}:${context}`,
        aud: 'sts.amazonaws.com',
        repository_id: command.GitHubRepositoryId
      },
      {
        sub: `repo:${owner}@${command.GitHubOwnerId}/${repo}@${command.GitHubRepositoryId}:${context}`,
        aud: 'sts.amazonaws.com',
        repository_id: command.GitHubRepositoryId
      }
    ]
    for (const token of claims(`environment:${environmentName}`))
      expect(admitsToken(stack.trust, stack.roleArn, token)).toBe('Allowed')
    for (const token of claims('ref:refs/heads/main'))
      expect(admitsToken(stack.trust, stack.roleArn, token)).toBe('ImplicitlyDenied')
  }, 60_000)

  it('iam/README.md: its command is valid and names the repository IDs', () => {
    const command = parameterOverrides(readme('../../iam/README.md'))
    expect(brokenRules(template, command)).toEqual([])
    expect(Object.keys(command)).toEqual(
      expect.arrayContaining([
        'GitHubRepository',
        'GitHubOwnerId',
        'GitHubRepositoryId',
        'ServiceName',
        'Stage'
      ])
    )
    expect(readme('../../iam/README.md')).toContain("gh api repos/OWNER/REPO --jq '.owner.id, .id'")
  })

  it('iam/README.md: every command is valid, the stage-prefix one included', () => {
    const text = readme('../../iam/README.md')
    const commands = text
      .split('aws cloudformation deploy')
      .slice(1)
      .map(rest => parameterOverrides(`aws cloudformation deploy${rest}`))
      // the shell's quotes around 'Stage=pr-*' keep the * from globbing
      .map(c =>
        Object.fromEntries(Object.entries(c).map(([k, v]) => [k.replace(/^'/, ''), v.replace(/'$/, '')]))
      )
    expect(commands.map(c => c.Stage)).toEqual(['prod', 'pr-*'])
    for (const command of commands) expect(brokenRules(template, command)).toEqual([])
    const stage = new RegExp(template.Parameters.Stage.AllowedPattern as string)
    expect(commands.map(c => stage.test(c.Stage))).toEqual([true, true])
    expect(commands[1]).toMatchObject({ GitHubEnvironment: 'preview', CreateOidcProvider: 'false' })
  })
})
