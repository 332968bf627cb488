import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import YAML, { LineCounter } from 'yaml'
import type { Annotation } from './errors.js'
import type { Command } from './inputs.js'

/**
 * Turns a failure into one error with a title, the cause and the fix. The raw output stays in its log
 * group; this is what the annotation says. The rules are a table: the README's troubleshooting section
 * is checked against it (__tests__/repo/readme.test.ts), and __tests__/unit/diagnosis.test.ts runs
 * every rule against output the real tools produced.
 */

export interface DiagnosisContext {
  command: Command
  /** The service folder: requirements files and serverless.yml are looked up there. */
  dir?: string
  configFile?: string
  stackName?: string
  region?: string
  /** The pip target: `manylinux2014_aarch64` / Python 3.12. */
  platform?: string
  pythonVersion?: string
}

export interface Diagnosis {
  title: string
  message: string
  annotation?: Annotation
}

export interface Rule {
  id: string
  title: string
  /** What the user sees, as the README's troubleshooting section lists it. */
  symptom: string
  match: RegExp
  explain: (match: RegExpExecArray, context: DiagnosisContext, output: string) => Omit<Diagnosis, 'title'>
}

const BOOTSTRAP = 'iam/github-deploy-role.yml in this action’s repository'

/** Serverless' own error: every line of its `Error:` block, up to a stack trace or the end. */
export function serverlessError(output: string): string | undefined {
  const lines = output.replace(/\r/g, '').split('\n')
  const start = lines.map(line => line.trim()).lastIndexOf('Error:')
  if (start < 0) return undefined
  const kept: string[] = []
  for (const line of lines.slice(start + 1)) {
    if (/^\s+at .+\(.+\)$|^\s+at \//.test(line)) break
    if (/^(Environment|Docs|Support|Bugs): /.test(line)) break
    kept.push(line)
  }
  const text = kept.join('\n').trim()
  return text || undefined
}

/** The line of a dotted property path (`provider.environment.URL`) in a YAML file. */
export function lineOf(file: string, address: string): number | undefined {
  if (!existsSync(file) || !/\.ya?ml$/.test(file)) return undefined
  const counter = new LineCounter()
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'), { lineCounter: counter, uniqueKeys: false })
  const keys = address.split('.')
  // The deepest part of the path the file has: a variable may be nested under a key written elsewhere.
  for (let depth = keys.length; depth > 0; depth--) {
    const node = doc.getIn(keys.slice(0, depth), true) as { range?: [number, number, number] } | undefined
    if (node?.range) return counter.linePos(node.range[0]).line
  }
  return undefined
}

/** The requirements file and line that ask for a package, following `-r` includes. */
export function requirementLine(
  dir: string,
  name: string,
  file = 'requirements.txt',
  seen = new Set<string>()
): { file: string; line: number; text: string } | undefined {
  const full = path.join(dir, file)
  if (seen.has(full) || !existsSync(full)) return undefined
  seen.add(full)
  const wanted = normalise(name)
  const lines = readFileSync(full, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim()
    const include = /^-r\s+(\S+)|^--requirement[=\s]+(\S+)/.exec(text)
    if (include) {
      const found = requirementLine(path.dirname(full), name, include[1] ?? include[2], seen)
      if (found) return found
      continue
    }
    const requirement = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(text)
    if (requirement && normalise(requirement[1]) === wanted) return { file: full, line: i + 1, text }
  }
  return undefined
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-')
}

export const RULES: Rule[] = [
  {
    id: 'pip-no-distribution',
    title: 'pip found no matching package',
    symptom: 'ERROR: No matching distribution found for <package>',
    match:
      /(?:No matching distribution found for|Could not find a version that satisfies the requirement) ([^\s(]+)/,
    explain: (match, context, output) => {
      const spec = match[1]
      const name = spec.split(/[<>=!~;[\s]/)[0]
      const version = spec.slice(name.length).replace(/^\[[^\]]*\]/, '') || '(any version)'
      const available = /\(from versions: ([^)]*)\)/.exec(output)?.[1]
      const where = context.dir ? requirementLine(context.dir, name) : undefined
      const target = context.platform
        ? `${context.platform}, CPython ${context.pythonVersion ?? ''}`.trim()
        : `Python ${context.pythonVersion ?? ''}`.trim()
      return {
        message: [
          `pip could not install ${name} ${version} for ${target}`,
          where
            ? ` (${path.basename(where.file)} line ${where.line}: ${where.text})`
            : " (from the service's requirements)",
          available !== undefined
            ? `; the index has ${available === 'none' ? 'no version of it for that platform' : `versions ${available}`}`
            : '',
          `. Check the name and version, that the package index this runner uses has it, and that it publishes a wheel for ${target} (a pure-Python package may be an sdist).`
        ].join(''),
        annotation: where ? { file: where.file, startLine: where.line } : undefined
      }
    }
  },
  {
    id: 'not-authorized',
    title: 'The deploy role lacks a permission',
    symptom: 'User: arn:aws:sts::…:assumed-role/… is not authorized to perform: <action> on resource: <arn>',
    match: /is not authorized to perform: ([\w:*-]+) on resource: ("?)([^\s"]+)\2/,
    explain: match => {
      const [action, resource] = [match[1], match[3].replace(/[.,;]$/, '')]
      const statement = { Effect: 'Allow', Action: action, Resource: resource }
      return {
        message: [
          `AWS refused ${action} on ${resource} to the credentials serverless deployed with. Add this statement to the deploy role's policy:`,
          JSON.stringify(statement, null, 2),
          `With ${BOOTSTRAP}, add it to the DeployPolicy resource's statements and update the bootstrap stack. If the permission is one the functions themselves need, grant it to them with provider.iam.role.statements and the template's ExtraFunctionActions and ExtraFunctionResources parameters instead: the functions' permissions boundary caps what their role can do.`
        ].join('\n')
      }
    }
  },
  {
    id: 'credentials-missing',
    title: 'No AWS credentials reached serverless',
    symptom: 'AWS provider credentials not found',
    match:
      /AWS provider credentials not found|Could not load credentials from any providers|Missing credentials in config/,
    explain: (_match, context) => ({
      message: `No AWS credentials reached serverless ${context.command}. Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.`
    })
  },
  {
    id: 'credentials-expired',
    title: 'The AWS credentials expired',
    symptom: 'The security token included in the request is expired',
    match: /ExpiredToken|security token included in the request is expired/i,
    explain: (_match, context) => ({
      message: `The AWS credentials expired during serverless ${context.command}. Raise role-duration-seconds, or make the job shorter.`
    })
  },
  {
    id: 'stack-busy',
    title: 'Another deploy is updating the stack',
    symptom: 'Stack:… is in UPDATE_IN_PROGRESS state and can not be updated',
    match: /is in (\w+_IN_PROGRESS) state and can not be updated/,
    explain: (match, context) => ({
      message: `Stack ${context.stackName ?? ''} was ${match[1]}: another run deployed the same stage at the same time. Give the deploy job a concurrency group per stage (concurrency: { group: deploy-<stage>, cancel-in-progress: false }) and run again.`
    })
  },
  {
    id: 'stack-rollback-failed',
    title: 'The stack is stuck in UPDATE_ROLLBACK_FAILED',
    symptom: 'Stack … is in UPDATE_ROLLBACK_FAILED state and can not be updated',
    match: /UPDATE_ROLLBACK_FAILED/,
    explain: (_match, context) => ({
      message: rollbackFailedAdvice(context.stackName ?? '<stack>', context.region)
    })
  },
  {
    id: 'plugin-missing',
    title: 'A plugin is not installed',
    symptom: 'Serverless plugin "<name>" not found',
    match: /Serverless plugin "([^"]+)" not found/,
    explain: match => ({
      message: `serverless.yml names the plugin ${match[1]}, but it is not installed. Add it to the service's package.json (npm install --save-dev ${match[1]}) and commit the lockfile.`
    })
  },
  {
    id: 'variables',
    title: 'A variable in serverless.yml cannot be resolved',
    symptom: 'Cannot resolve variable at "<path>": Value not found at "env" source',
    // The first variable named, even after the "errored with:" line that precedes the list.
    match:
      /(?:Variables resolution errored[\s\S]*?)?Cannot resolve variable at "([^"]+)"|Variables resolution errored/,
    explain: (match, context, output) => {
      const line = match[1] && context.configFile ? lineOf(context.configFile, match[1]) : undefined
      const whole = serverlessError(output) ?? match[0]
      return {
        message: `${whole}\nServerless could not resolve the configuration${match[1] ? ` at ${match[1]}` : ''}: give the value it names (an environment variable in the workflow's env:, an SSM parameter or stack output in this account and region, a file in the repository).`,
        annotation:
          context.configFile && line
            ? { file: context.configFile, startLine: line }
            : context.configFile
              ? { file: context.configFile }
              : undefined
      }
    }
  },
  {
    id: 'docker-missing',
    title: 'dockerizePip needs Docker',
    symptom: 'Cannot connect to the Docker daemon',
    match: /Cannot connect to the Docker daemon|spawn docker ENOENT|docker: (command )?not found/,
    explain: () => ({
      message:
        'custom.pythonRequirements.dockerizePip runs pip in Docker, and Docker is not available on this runner. Remove dockerizePip: the action builds Lambda-compatible wheels without Docker (it asks pip for the Lambda platform).'
    })
  },
  {
    id: 'code-too-large',
    title: 'The package is larger than Lambda takes',
    symptom: 'Unzipped size must be smaller than 262144000 bytes',
    match: /Unzipped size must be smaller than (\d+) bytes|RequestEntityTooLargeException/,
    explain: () => ({
      message:
        'Lambda refused the package: unzipped, a function and its layers may hold 250 MB. Keep development tools out of requirements.txt, set custom.pythonRequirements.slim: true, exclude what Lambda does not run with package.patterns, or move large dependencies to a layer (layer: true).'
    })
  },
  {
    id: 'framework-version',
    title: 'frameworkVersion does not match',
    symptom: 'The Serverless version (3.x) does not satisfy the "frameworkVersion" (…) in serverless.yml',
    match: /does not satisfy the "frameworkVersion" \(([^)]+)\)/,
    explain: match => ({
      message: `serverless.yml asks for frameworkVersion ${match[1]}. This action runs Serverless Framework v3: set frameworkVersion: '3', and pin serverless@3 in the service's package.json (or the serverless-version input).`
    })
  },
  {
    id: 'cloudformation-failed',
    title: 'CloudFormation could not update the stack',
    symptom: 'An error occurred: <Resource> - <reason>',
    match: /An error occurred: (\w+) - ([^\n]+)/,
    explain: (match, context) => ({
      message: `CloudFormation failed on ${match[1]}: ${match[2].trim()} The stack ${context.stackName ?? ''} rolled back.`
    })
  }
]

export function rollbackFailedAdvice(stackName: string, region?: string): string {
  return [
    `Stack ${stackName} is UPDATE_ROLLBACK_FAILED: a failed update could not be rolled back, and CloudFormation will not change it until the rollback finishes. The previous version keeps serving.`,
    `Fix what the stack's events name as the failed resource, then finish the rollback (skip only resources you have fixed by hand):`,
    `  aws cloudformation continue-update-rollback --stack-name ${stackName}${region ? ` --region ${region}` : ''}`,
    'and run the deploy again. Do not delete the stack: that deletes the deployed service.'
  ].join('\n')
}

/** The first rule that explains the output, else Serverless' own error as it stands. */
export function diagnose(output: string, context: DiagnosisContext): Diagnosis | undefined {
  for (const rule of RULES) {
    const match = rule.match.exec(output)
    if (match) return { title: rule.title, ...rule.explain(match, context, output) }
  }
  const error = serverlessError(output)
  return error ? { title: `serverless ${context.command} failed`, message: error } : undefined
}

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
