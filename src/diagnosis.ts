import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import YAML, { LineCounter } from 'yaml'
import type { Annotation } from './errors.js'
import type { Command } from './inputs.js'
import { BOOTSTRAP } from './oidc-advice.js'
import { partitionOfRegion } from './regions.js'

/**
 * Turns a failure into one error with a title, the cause and the fix. The raw output stays in its log
 * group; this is what the annotation says. The rules are a table: the README's troubleshooting section
 * is generated from it and checked by __tests__/repo/readme.test.ts. __tests__/e2e/diagnosis.test.ts
 * provokes the failures through dist/index.js wherever they can be provoked here (real Serverless 3,
 * pip, Docker, moto), and __tests__/unit/diagnosis.test.ts runs every rule, the rest against text
 * captured from public reports (__tests__/fixtures/diagnosis/, each with its source).
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
  /** The plugins serverless.yml names, for failures that come from one of them. */
  plugins?: string[]
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
  /** Why it happens, and what to do: the README lists both, and the message says the fix. */
  cause: string
  fix: string
  match: RegExp
  explain: (match: RegExpExecArray, context: DiagnosisContext, output: string) => Omit<Diagnosis, 'title'>
}

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

/**
 * The line of a dotted property path (`provider.environment.URL`) in a YAML file: of its key, where a
 * person looks for it. Unless `exact`, of the deepest part of the path the file has: a variable may be
 * nested under a key written elsewhere.
 */
export function lineOf(file: string, address: string, exact = false): number | undefined {
  const parsed = parseYaml(file)
  if (!parsed) return undefined
  const { doc, counter } = parsed
  const keys = address.split('.')
  for (let depth = keys.length; depth > (exact ? keys.length - 1 : 0); depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(keys.slice(0, depth - 1), true)
    const key = keys[depth - 1]
    const node = YAML.isMap(parent)
      ? parent.items.find(pair => YAML.isScalar(pair.key) && String(pair.key.value) === key)?.key
      : YAML.isSeq(parent)
        ? parent.items[Number(key)]
        : undefined
    const range = (node as { range?: Range } | undefined)?.range
    if (range) return counter.linePos(range[0]).line
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

type Range = [number, number, number]

function parseYaml(file: string): { doc: YAML.Document.Parsed; counter: LineCounter } | undefined {
  if (!existsSync(file) || !/\.ya?ml$/.test(file)) return undefined
  const counter = new LineCounter()
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'), { lineCounter: counter, uniqueKeys: false })
  return { doc, counter }
}

/** The line where serverless.yml names a plugin (`plugins:` as a list, or as `modules:` under it). */
export function pluginLine(file: string, name: string): number | undefined {
  const parsed = parseYaml(file)
  if (!parsed) return undefined
  for (const list of [['plugins'], ['plugins', 'modules']]) {
    const node = parsed.doc.getIn(list, true)
    if (!YAML.isSeq(node)) continue
    const item = node.items.find(item => YAML.isScalar(item) && item.value === name) as
      { range?: Range } | undefined
    if (item?.range) return parsed.counter.linePos(item.range[0]).line
  }
  return undefined
}

/** The text written at a dotted path, when it is a string (the variable as the user wrote it). */
function writtenAt(file: string, address: string): string | undefined {
  const value = parseYaml(file)?.doc.getIn(address.split('.'))
  return typeof value === 'string' ? value : undefined
}

/**
 * The resource under `resources.Resources` a CloudFormation message is about: the one whose logical
 * ID it names, else the only one whose type's last word it names ("Queue" for AWS::SQS::Queue).
 */
export function resourceNamed(file: string, message: string): { id: string; type: string } | undefined {
  const resources = parseYaml(file)?.doc.getIn(['resources', 'Resources'])
  if (!YAML.isMap(resources)) return undefined
  const all = resources.items
    .map(pair => ({
      id: String(YAML.isScalar(pair.key) ? pair.key.value : pair.key),
      type: String((pair.value as YAML.YAMLMap | undefined)?.get?.('Type') ?? '')
    }))
    .filter(resource => resource.id)
  const byId = all.find(resource => new RegExp(`\\b${resource.id}\\b`).test(message))
  if (byId) return byId
  const byType = all.filter(resource => {
    const word = resource.type.split('::').pop()
    return word && new RegExp(`\\b${word}\\b`, 'i').test(message)
  })
  return byType.length === 1 ? byType[0] : undefined
}

/** Serverless' `Cannot resolve variable at "<path>": <reason>` lines, in its order. */
function unresolved(output: string): { address: string; reason: string }[] {
  return [...output.matchAll(/Cannot resolve variable at "([^"]+)": ([^\n]+?),?$/gm)].map(found => ({
    address: found[1],
    reason: found[2]
  }))
}

/**
 * What to do about one unresolved variable, from the variable as serverless.yml writes it: the
 * environment variable to set, the file that is missing, the parameter or output to create.
 */
function variableFix(
  context: DiagnosisContext,
  entry: { address: string; reason: string }
): string | undefined {
  const written = context.configFile ? writtenAt(context.configFile, entry.address) : undefined
  if (!written) return undefined
  const env = /\$\{env:([\w.-]+)/.exec(written)
  if (env && /"env" source/.test(entry.reason))
    return `${entry.address} reads the environment variable ${env[1]}, which is not set: set it in the workflow (env: ${env[1]}: \${{ vars.${env[1]} }}, or a secret), or give the variable a default (\${env:${env[1]}, 'value'}).`
  const file = /\$\{file\(([^)]+)\)/.exec(written)
  if (file && /"file" source/.test(entry.reason)) {
    const missing = context.dir && !existsSync(path.resolve(context.dir, file[1]))
    return missing
      ? `${entry.address} reads ${file[1]}, which does not exist in the service folder: commit it, or fix the path (it is relative to serverless.yml).`
      : `${entry.address} reads ${file[1]}, which has no value at the address the variable names: add it there, or fix the address.`
  }
  const ssm = /\$\{ssm:([^,}]+)/.exec(written)
  if (ssm)
    return `${entry.address} reads the SSM parameter ${ssm[1].trim()}: create it in ${context.region ?? 'the region'} of the account the credentials belong to, or fix its name.`
  const cf = /\$\{cf(?:\.[\w-]+)?:([^,}]+)/.exec(written)
  if (cf)
    return `${entry.address} reads the stack output ${cf[1].trim()}: deploy that stack in this account and region first, or fix the name.`
  return undefined
}

export const RULES: Rule[] = [
  {
    // The action's own pip helper (wheels.ts) names the exact version; pip alone names only the request.
    // When no version installs at all, pip's own "from versions:" explains it better (the next rule).
    id: 'no-wheel-for-platform',
    title: 'A package has no wheel for the Lambda platform',
    symptom:
      'serverless-python-deploy: <package> <version> has no wheel for manylinux2014_aarch64 (CPython 3.12)',
    cause:
      "A package in requirements.txt publishes wheels only for other platforms, or only a source distribution that builds native code, which would be built for the runner's machine instead of Lambda's.",
    fix: 'Pin a version that publishes a wheel for it, choose another package, or set provider.architecture to a platform it has wheels for.',
    // The platform, then the helper's reason (its first sentence: the advice that follows is the fix below).
    match:
      /serverless-python-deploy: (\S+) (\(any version\)|\S+) has no wheel for (?![^\n]*no version of it installs here at all)(\S+ \(CPython [\d.]+\))([^\n]*)/,
    explain: (match, context) => {
      const where = context.dir ? requirementLine(context.dir, match[1]) : undefined
      const reason = match[4].split(/\.(?:\s|$)/)[0]
      return {
        message: `${match[1]} ${match[2]} has no wheel for ${match[3]}${reason}${where ? ` (${path.basename(where.file)} line ${where.line}: ${where.text})` : ''}. Lambda cannot run a build for another platform. Pin a version that publishes a wheel for it, choose another package, or set provider.architecture to a platform it has wheels for.`,
        annotation: where ? { file: where.file, startLine: where.line } : undefined
      }
    }
  },
  {
    id: 'pip-no-distribution',
    title: 'pip found no matching package',
    symptom: 'ERROR: No matching distribution found for <package>',
    cause:
      'requirements.txt asks for a package or version the package index does not have (a typo, a version not released, or a private package the runner cannot reach).',
    fix: 'Check the name and version, that the package index this runner uses has it, and that it publishes a wheel for the Lambda platform.',
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
    cause:
      'The credentials serverless deployed with (the role-to-assume, or the ones already in the environment) have no policy that allows an action the deploy needs.',
    fix: "Add the statement the error prints to the deploy role's policy (with iam/github-deploy-role.yml: its DeployPolicy), or to the functions' own role when they need it.",
    // AWS names the resource; some services, and emulators, leave it out.
    match: /(?:User: (\S+) )?is not authorized to perform: ([\w:*-]+)(?: on resource: ("?)([^\s"]+)\3)?/,
    explain: (match, context) => {
      const [who, action] = [match[1] ?? 'the credentials', match[2]]
      const named = match[4]?.replace(/[.,;]$/, '')
      const partition = partitionOfRegion(context.region ?? '')?.id ?? 'aws'
      // Without a resource in the message, a CloudFormation action is still about the service's own stack.
      const resource =
        named ??
        (action.startsWith('cloudformation:') && context.stackName && context.region
          ? `arn:${partition}:cloudformation:${context.region}:*:stack/${context.stackName}/*`
          : '*')
      const statement = { Effect: 'Allow', Action: action, Resource: resource }
      return {
        message: [
          `AWS refused ${action}${named ? ` on ${named}` : ''} to ${who}, the identity serverless ${context.command === 'deploy' ? 'deployed' : 'ran'} with. Add this statement to the deploy role's policy${named || resource !== '*' ? '' : ' (narrow Resource to the ARNs of the service)'}:`,
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
    cause:
      'serverless needed an AWS account and found no credentials: the action only checks them for commands that need an account, and `package` needs one too when serverless.yml reads ${ssm:} or ${cf:} values.',
    fix: 'Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.',
    match:
      /AWS provider credentials not found|Could not load credentials from any providers|Missing credentials in config/,
    explain: (_match, context, output) => {
      const variable = unresolved(output).find(entry => /credentials not found/.test(entry.reason))
      const line = variable && context.configFile ? lineOf(context.configFile, variable.address) : undefined
      const written =
        variable && context.configFile ? writtenAt(context.configFile, variable.address) : undefined
      const why = variable
        ? ` ${path.basename(context.configFile ?? 'serverless.yml')} reads ${written ?? 'an AWS value'} at ${variable.address}${line ? ` (line ${line})` : ''}, and Serverless resolves it from the AWS account even to ${context.command}.`
        : ''
      return {
        message: `No AWS credentials reached serverless ${context.command}.${why} Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.`,
        annotation: line && context.configFile ? { file: context.configFile, startLine: line } : undefined
      }
    }
  },
  {
    id: 'credentials-expired',
    title: 'The AWS credentials expired',
    symptom: 'The security token included in the request is expired',
    cause: 'The credentials ran out before serverless finished: the job outlived role-duration-seconds.',
    fix: 'Raise role-duration-seconds (up to the role’s maximum session duration), or make the job shorter.',
    match: /ExpiredToken|security token included in the request is expired/i,
    explain: (_match, context) => ({
      message: `The AWS credentials expired during serverless ${context.command}. Raise role-duration-seconds (up to the role’s maximum session duration), or make the job shorter.`
    })
  },
  {
    id: 'stack-busy',
    title: 'Another deploy is updating the stack',
    symptom: 'Stack:… is in UPDATE_IN_PROGRESS state and can not be updated',
    cause:
      'Another run started changing the same stack after this one checked it (the action waits for a busy stack before it deploys, but not for one that becomes busy meanwhile).',
    fix: 'Give the deploy job a concurrency group per stage (concurrency: { group: deploy-<stage>, cancel-in-progress: false }) and run again.',
    match: /is in (\w+_IN_PROGRESS) state and can not be updated/,
    explain: (match, context) => ({
      message: `Stack ${context.stackName ?? ''} was ${match[1]}: another run deployed the same stage at the same time. Give the deploy job a concurrency group per stage (concurrency: { group: deploy-<stage>, cancel-in-progress: false }) and run again.`
    })
  },
  {
    id: 'stack-rollback-failed',
    title: 'The stack is stuck in UPDATE_ROLLBACK_FAILED',
    symptom: 'Stack … is in UPDATE_ROLLBACK_FAILED state and can not be updated',
    cause:
      'An earlier update failed and CloudFormation could not roll it back either (often a resource changed or deleted by hand). CloudFormation changes nothing until the rollback finishes; the previous version keeps serving.',
    fix: 'Fix what the stack’s events name as the failed resource, run aws cloudformation continue-update-rollback --stack-name <stack>, and deploy again. Do not delete the stack: that deletes the deployed service.',
    match: /UPDATE_ROLLBACK_FAILED/,
    explain: (_match, context) => ({
      message: rollbackFailedAdvice(context.stackName ?? '<stack>', context.region)
    })
  },
  {
    id: 'plugin-missing',
    title: 'A plugin is not installed',
    symptom: 'Serverless plugin "<name>" not found (osls: osls plugin "<name>" not found)',
    cause:
      "serverless.yml lists a plugin the service's package.json does not install (a service with its own serverless loads plugins only from its own node_modules).",
    fix: "Add it to the service's package.json (npm install --save-dev <plugin>) and commit the lockfile, or remove it from plugins:.",
    match: /(?:Serverless|osls) plugin "([^"]+)" not found/,
    explain: (match, context) => {
      const line = context.configFile ? pluginLine(context.configFile, match[1]) : undefined
      return {
        message: `${path.basename(context.configFile ?? 'serverless.yml')} names the plugin ${match[1]}${line ? ` (line ${line})` : ''}, but it is not installed. Add it to the service's package.json (npm install --save-dev ${match[1]}) and commit the lockfile, or remove it from plugins:.`,
        annotation: line && context.configFile ? { file: context.configFile, startLine: line } : undefined
      }
    }
  },
  {
    id: 'variables',
    title: 'A variable in serverless.yml cannot be resolved',
    symptom: 'Cannot resolve variable at "<path>": Value not found at "env" source',
    cause:
      'A ${env:}, ${file()}, ${ssm:}, ${cf:} or ${self:} variable has nothing to resolve to: the environment variable is not set, the file is missing, the parameter or output does not exist in the account and region.',
    fix: "Give the value it names (an environment variable in the workflow's env:, an SSM parameter or stack output in this account and region, a file in the repository), or a default (${env:NAME, 'value'}).",
    // The first variable named, even after the "errored with:" line that precedes the list.
    match:
      /(?:Variables resolution errored[\s\S]*?)?Cannot resolve variable at "([^"]+)"|Variables resolution errored/,
    explain: (match, context, output) => {
      const line = match[1] && context.configFile ? lineOf(context.configFile, match[1]) : undefined
      const whole = serverlessError(output) ?? match[0]
      const fixes = unresolved(output)
        .map(entry => variableFix(context, entry))
        .filter((fix): fix is string => Boolean(fix))
      return {
        message: [
          whole,
          fixes.length
            ? fixes.join('\n')
            : `Serverless could not resolve the configuration${match[1] ? ` at ${match[1]}` : ''}: give the value it names (an environment variable in the workflow's env:, an SSM parameter or stack output in this account and region, a file in the repository).`
        ].join('\n'),
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
    cause:
      'custom.pythonRequirements.dockerizePip runs pip in a Docker container, and the runner has no Docker engine (or no docker at all).',
    fix: 'Remove dockerizePip: the action builds Lambda-compatible wheels without Docker (it asks pip for the Lambda platform).',
    match: /Cannot connect to the Docker daemon|spawn docker ENOENT|docker: (command )?not found/,
    explain: (_match, context) => {
      const line = context.configFile
        ? lineOf(context.configFile, 'custom.pythonRequirements.dockerizePip')
        : undefined
      return {
        message: `custom.pythonRequirements.dockerizePip${line ? ` (line ${line})` : ''} runs pip in Docker, and Docker is not available on this runner. Remove dockerizePip: the action builds Lambda-compatible wheels without Docker (it asks pip for the Lambda platform).`,
        annotation: line && context.configFile ? { file: context.configFile, startLine: line } : undefined
      }
    }
  },
  {
    id: 'code-too-large',
    title: 'The package is larger than Lambda takes',
    symptom: 'Unzipped size must be smaller than 262144000 bytes',
    cause: 'Unzipped, a function and its layers hold more than Lambda’s 250 MB.',
    fix: 'Keep development tools out of requirements.txt, set custom.pythonRequirements.slim: true, exclude what Lambda does not run with package.patterns, or move large dependencies to a layer (layer: true).',
    match: /Unzipped size must be smaller than (\d+) bytes|RequestEntityTooLargeException/,
    explain: (_match, _context, output) => {
      const resource = /(?:_FAILED: |An error occurred: )(\w+LambdaFunction|\w+LambdaLayer)\b/.exec(
        output
      )?.[1]
      return {
        message: `Lambda refused the package${resource ? ` of ${resource}` : ''}: unzipped, a function and its layers may hold 250 MB. Keep development tools out of requirements.txt, set custom.pythonRequirements.slim: true, exclude what Lambda does not run with package.patterns, or move large dependencies to a layer (layer: true).`
      }
    }
  },
  {
    id: 'framework-version',
    title: 'frameworkVersion does not match',
    symptom:
      'The Serverless version (3.x) does not satisfy the "frameworkVersion" (…) in serverless.yml (osls: The osls version …)',
    cause:
      "serverless.yml's frameworkVersion excludes the serverless that runs: the service's own copy (installed from package.json's range when there is no lockfile), or the one serverless-version asks for.",
    fix: "Pin the framework in package.json (and commit the lockfile) to a version frameworkVersion allows, or widen frameworkVersion (for example to '3', or '3 || 4' for osls 4).",
    match: /The (Serverless|osls) version \(([^)]+)\) does not satisfy the "frameworkVersion" \(([^)]+)\)/,
    explain: (match, context) => {
      const [framework, version, wanted] = [match[1] === 'osls' ? 'osls' : 'serverless', match[2], match[3]]
      const line = context.configFile ? lineOf(context.configFile, 'frameworkVersion') : undefined
      return {
        message: `${path.basename(context.configFile ?? 'serverless.yml')} asks for frameworkVersion ${wanted}${line ? ` (line ${line})` : ''}, but ${framework} ${version} runs. Pin ${framework} in package.json (and commit the lockfile) to a version ${wanted} allows, or widen frameworkVersion (for example to '3', or '3 || 4' for osls 4).`,
        annotation: line && context.configFile ? { file: context.configFile, startLine: line } : undefined
      }
    }
  },
  {
    id: 'plugin-needs-sdk-v2',
    title: 'A plugin does not work with osls 4',
    symptom:
      'provider.request() is no longer available. Construct AWS SDK v3 clients with configuration from provider.getAwsSdkV3Config() instead.',
    cause:
      "osls 4 removed the AWS SDK v2 interfaces (provider.request, provider.sdk, provider.getCredentials) and no longer ships aws-sdk v2; a plugin the service uses still calls them (serverless-localstack 1.x, serverless-domain-manager before 10, serverless-prune-plugin, serverless-plugin-warmup's prewarm).",
    fix: 'Use a release of the plugin made for osls 4, remove it, or pin osls to 3.x (npm install --save-dev osls@3) and commit the lockfile.',
    match:
      /(provider\.\w+(?:\(\))?) is no longer available\. Construct AWS SDK v3 clients|Cannot find module 'aws-sdk'/,
    explain: (match, context) => {
      const core = new Set(['serverless-python-requirements', 'serverless-offline'])
      const suspects = (context.plugins ?? []).filter(plugin => !core.has(plugin))
      return {
        message: `osls 4 removed ${match[1] ?? 'the aws-sdk v2 package'}, which a plugin of this service still uses${suspects.length ? `: ${suspects.join(', ')}` : ''}. Use a release of ${suspects.length === 1 ? 'it' : 'the plugin'} made for osls 4 (serverless-domain-manager 10 or later; serverless-localstack has none: osls 4 reads AWS_ENDPOINT_URL itself), remove it from plugins:, or pin osls to 3.x (npm install --save-dev osls@3) and commit the lockfile.`
      }
    }
  },
  {
    id: 'python-version-required',
    title: 'A package needs another Python',
    symptom: "ERROR: Package '<name>' requires a different Python: 3.11.7 not in '>=3.12'",
    cause:
      "A package in the service's requirements declares (Requires-Python) that it does not run on the runtime's Python version, so pip will not install it for Lambda.",
    fix: 'Pin a version of the package that supports the runtime, or move provider.runtime to a Python the package supports.',
    match:
      /Package '([^']+)' requires a different Python: ([\d.]+) not in '([^']+)'|Ignored the following versions that require a different python version: ([^\n]+)/,
    explain: match => ({
      message: match[1]
        ? `${match[1]} requires Python ${match[3]}, and the functions run on Python ${match[2]}: pip will not install it for them. Pin a version of ${match[1]} that supports Python ${match[2]}, or move provider.runtime to a Python it supports.`
        : `pip found only versions that require another Python than the runtime's (${match[4].trim()}). Pin a version that supports the runtime's Python, or move provider.runtime to a Python those versions support.`
    })
  },
  {
    id: 'poetry-export-missing',
    title: 'poetry cannot export',
    symptom: 'The command "export" does not exist.',
    cause:
      "serverless-python-requirements runs poetry export, which Poetry 2 moved into a plugin (poetry-plugin-export) the runner's Poetry lacks.",
    fix: "Add the plugin (poetry self add poetry-plugin-export), or take poetry off the runner's PATH: the action then reads poetry.lock itself and hands the plugin its exact pins.",
    match: /The command "export" does not exist\./,
    explain: () => ({
      message:
        "The runner's poetry has no export command (Poetry 2 moved it into poetry-plugin-export), which serverless-python-requirements runs to read poetry.lock. Add the plugin (poetry self add poetry-plugin-export), or take poetry off the runner's PATH: the action then reads poetry.lock itself and hands the plugin its exact pins."
    })
  },
  {
    id: 'cloudformation-failed',
    title: 'CloudFormation could not update the stack',
    symptom: 'CREATE_FAILED: <Resource> (<Type>) <reason>, or An error occurred: <Resource> - <reason>',
    cause:
      'CloudFormation failed on a resource while it changed the stack, and rolled back. (The action reads the stack’s events and names the first resource that failed; this is what it says when the events cannot be read.)',
    fix: 'Fix that resource in serverless.yml (under resources:, or the function settings that generate it) and deploy again.',
    // Serverless 3 prints `<STATUS>: <Resource> (<Type>)` and the reason on the next line; earlier
    // releases (and `--verbose` runs) print `An error occurred: <Resource> - <reason>`.
    match: /(?:[A-Z_]+_FAILED: (\w+) \(([\w:]+)\)\n([^\n]+))|(?:An error occurred: (\w+) - ([^\n]+))/,
    explain: (match, context) => {
      const resource = match[1] ?? match[4]
      const reason = (match[3] ?? match[5]).trim()
      const line =
        context.configFile && resource
          ? lineOf(context.configFile, `resources.Resources.${resource}`, true)
          : undefined
      return {
        message: `CloudFormation failed on ${resource}${match[2] ? ` (${match[2]})` : ''}: ${reason} The stack ${context.stackName ?? ''} rolled back. Fix that resource in serverless.yml (under resources:, or the function settings that generate it) and deploy again.`,
        annotation: line && context.configFile ? { file: context.configFile, startLine: line } : undefined
      }
    }
  },
  {
    // Last: any deploy failure shows this line, and every rule above is more specific.
    id: 'deploy-refused',
    title: 'CloudFormation refused the deployment',
    symptom: '× Stack <stack> failed to deploy',
    cause:
      'An AWS call of the deploy failed before any resource did: CloudFormation rejected the template or a resource in it, or S3 refused the upload.',
    fix: 'Fix what the error names in serverless.yml (a resource under resources:, or the function settings that generate it) and deploy again.',
    match: /Stack (\S+) failed to deploy/,
    explain: (match, context, output) => {
      const error = serverlessError(output) ?? 'no message'
      const resource = context.configFile ? resourceNamed(context.configFile, error) : undefined
      const line =
        resource && context.configFile
          ? lineOf(context.configFile, `resources.Resources.${resource.id}`, true)
          : undefined
      return {
        message: `Stack ${match[1]} failed to deploy: ${error}${/[.!?]$/.test(error) ? '' : '.'} No resource of the stack reported the failure: CloudFormation or S3 refused the request itself.${resource ? ` The error is about ${resource.id} (${resource.type})${line ? `, line ${line} of ${path.basename(context.configFile as string)}` : ''}.` : ''} Fix what it names in serverless.yml (a resource under resources:, or the function settings that generate it) and deploy again.`,
        annotation: line && context.configFile ? { file: context.configFile, startLine: line } : undefined
      }
    }
  }
]

/**
 * What the action checks itself before serverless changes a stack, for the README's troubleshooting
 * section (the titles are those of the annotations steps.ts writes).
 */
export interface PreCheck {
  title: string
  symptom: string
  /** What the action does about it. */
  action: string
  fix: string
}

export const PRE_CHECKS: PreCheck[] = [
  {
    title: 'No such stack',
    symptom:
      'Stack <service>-<stage> does not exist in <region>. A stack of that name exists in <other region>',
    action:
      'info, and a deploy whose stack has vanished, look for the stack in every region of the partition before they fail, and name the region it is in.',
    fix: 'Set aws-region (or provider.region) to the region the stack is in.'
  },
  {
    title: 'Stack busy',
    symptom: 'Stack <stack> is still UPDATE_IN_PROGRESS after 20 minutes',
    action:
      'A deploy or remove of a stack another run is changing waits for it, up to 20 minutes, logging the status; then it stops without changing anything.',
    fix: 'Run again once the other deploy has finished, and give the workflow a concurrency group per stage.'
  },
  {
    title: 'Stack ROLLBACK_COMPLETE',
    symptom: 'Stack <stack> is ROLLBACK_COMPLETE: its first deploy failed and rolled back',
    action:
      'The first deploy of the stage failed, so the stack holds nothing and CloudFormation cannot update it: the action deletes it (with a notice) and deploys again.',
    fix: 'Nothing: the next deploy clears it. The cause is in the failed first deploy’s error.'
  },
  {
    title: 'Stack UPDATE_ROLLBACK_FAILED',
    symptom: 'Stack <stack> is UPDATE_ROLLBACK_FAILED',
    action:
      'The action does not touch it: the stack still serves the previous version, and deleting it would delete the service. It stops before serverless runs.',
    fix: 'Fix the resource the stack’s events name, run aws cloudformation continue-update-rollback --stack-name <stack>, and deploy again.'
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
