import * as semver from 'semver'
import { UserError } from './errors.js'
import { protectEntries } from './plan/protect.js'
import { PARTITIONS, partitionOfRegion } from './regions.js'

export const COMMANDS = ['deploy', 'remove', 'package', 'info', 'plan'] as const
export type Command = (typeof COMMANDS)[number]

export const FRAMEWORKS = ['serverless', 'osls'] as const

export const VERIFY_LEVELS = ['full', 'static', 'off'] as const
export type VerifyLevel = (typeof VERIFY_LEVELS)[number]
export type Framework = (typeof FRAMEWORKS)[number]

/** An inclusive range of HTTP status codes. */
export interface StatusRange {
  from: number
  to: number
}

/** Everything the action was given, read and checked once. Nothing else reads an input. */
export interface Inputs {
  command: Command
  workingDirectory: string
  stage?: string
  awsRegion?: string
  pythonVersion?: string
  serverlessVersion?: string
  /** The framework package for a service that brings none of its own. */
  framework?: Framework
  args: string[]
  roleToAssume?: string
  audience: string
  roleSessionName?: string
  roleDurationSeconds: number
  exportCredentials: boolean
  allowedAccountIds: string[]
  cache: boolean
  /** Undefined turns the smoke test off. */
  smokeTestPath?: string
  smokeTestUrl?: string
  smokeTestTimeoutSeconds: number
  smokeTestExpect: StatusRange[]
  rollbackOnFailure: boolean
  commentOnPr: boolean
  githubToken?: string
  /** What a deploy or plan must not replace or remove: `stateful`, logical IDs, resource types. Empty: nothing. */
  protect: string[]
  /** How the artifacts are checked before upload: statically and by importing and calling each handler, statically only, or not at all. */
  verify: VerifyLevel
}

/**
 * An input's value as the runner gave it: undefined when it gave none at all. The runner passes every
 * input that has a default in action.yml, so undefined only happens outside a runner; an empty string
 * is a value the workflow set (`smoke-test-path: ''` turns the smoke test off).
 */
export type Getter = (name: string) => string | undefined

/** The runner's convention, as @actions/core reads it: INPUT_ + the name in upper case, spaces as _. */
export function inputGetter(env: Readonly<Record<string, string | undefined>>): Getter {
  return name => env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`]
}

/**
 * Flags the action sets itself, or that would make serverless do something other than the command:
 * another stage, region, account or config than the ones the action checked and reports on, a
 * package it did not build, or help text instead of a deploy.
 */
const OWNED_FLAGS: Record<string, string> = {
  '--stage': 'set the stage input instead',
  '-s': 'set the stage input instead',
  '--region': 'set the aws-region input instead',
  '-r': 'set the aws-region input instead',
  '--aws-profile': 'the action deploys with the credentials it checked (role-to-assume); remove it',
  '--config': 'set working-directory to the folder of the service instead',
  '-c': 'set working-directory to the folder of the service instead',
  '--package': 'the action packages the service itself; remove it',
  '-p': 'the action packages the service itself; remove it',
  '--help': 'it would print help instead of running the command; remove it',
  '-h': 'it would print help instead of running the command; remove it',
  '--version': 'it would print the version instead of running the command; remove it',
  '-v': 'it would print the version instead of running the command; remove it'
}

function bad(input: string, value: string, fix: string): UserError {
  return new UserError(`Input '${input}' is '${value}': ${fix}`)
}

/** YAML 1.2's booleans, as core.getBooleanInput takes them. */
function boolean(input: string, value: string): boolean {
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw bad(input, value, 'use true or false.')
}

function wholeNumber(input: string, value: string, min: number, max: number, unit: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw bad(input, value, `use a whole number of ${unit} from ${min} to ${max}.`)
  }
  return n
}

/**
 * The inputs' defaults: the one place they are written down. action.yml gives the runner the same ones
 * (__tests__/repo/action.test.ts keeps them equal); these apply when no runner passes them.
 */
export const INPUT_DEFAULTS = {
  command: 'deploy',
  'working-directory': '.',
  audience: 'sts.amazonaws.com',
  'role-duration-seconds': '3600',
  'export-credentials': 'false',
  cache: 'true',
  'smoke-test-path': '/health',
  'smoke-test-timeout': '60',
  'smoke-test-expect': '200-399',
  'rollback-on-failure': 'true',
  'comment-on-pr': 'false',
  verify: 'full'
} as const

type Defaulted = keyof typeof INPUT_DEFAULTS

export function readInputs(get: Getter): Inputs {
  const raw = (name: string): string | undefined => get(name)?.trim()
  /** Empty and absent are the same for most inputs: the default applies. */
  const text = (name: string): string | undefined => raw(name) || undefined
  const orDefault = (name: Defaulted): string => text(name) ?? INPUT_DEFAULTS[name]

  const command = orDefault('command')
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw bad('command', command, `use one of ${COMMANDS.join(', ')} (default deploy).`)
  }

  const stage = text('stage')
  if (stage !== undefined && !/^[a-zA-Z0-9-]+$/.test(stage)) {
    throw bad(
      'stage',
      stage,
      'a Serverless stage has only letters, digits and hyphens (Serverless and the AWS names built from it allow nothing else), for example prod or pr-42.'
    )
  }

  const awsRegion = text('aws-region')
  if (awsRegion !== undefined && !partitionOfRegion(awsRegion)?.regions.includes(awsRegion)) {
    const partition = partitionOfRegion(awsRegion)
    throw bad(
      'aws-region',
      awsRegion,
      partition
        ? `no ${partition.id} region has that name; use one of ${partition.regions.join(', ')}.`
        : `use an AWS region code of the ${PARTITIONS.map(p => p.id).join(', ')} partitions, such as us-east-1 or eu-west-2 (or leave it empty for provider.region from serverless.yml).`
    )
  }

  const pythonVersion = text('python-version')
  if (pythonVersion !== undefined && !/^3\.\d+(\.\d+)?$/.test(pythonVersion)) {
    throw bad(
      'python-version',
      pythonVersion,
      'use a Python 3 version such as 3.11 or 3.11.9 (or leave it empty to follow provider.runtime).'
    )
  }

  const serverlessVersion = text('serverless-version')
  if (serverlessVersion !== undefined) {
    // Which majors: serverless 3, osls 3 or 4, as the framework decides (framework.ts checkFramework).
    const range = semver.validRange(serverlessVersion)
    if (!range || !semver.subset(range, '>=3.0.0 <5.0.0')) {
      throw bad(
        'serverless-version',
        serverlessVersion,
        'use a version of the Serverless Framework v3 (such as 3.40.0) or of osls 3 or 4 (such as 4.3.1, with framework: osls), or leave it empty to use the project’s own.'
      )
    }
  }

  const framework = text('framework')
  if (framework !== undefined && !(FRAMEWORKS as readonly string[]).includes(framework)) {
    throw bad(
      'framework',
      framework,
      `use serverless (the Serverless Framework v3) or osls (its maintained v3 fork), or leave it empty for the project’s own.`
    )
  }

  const roleToAssume = text('role-to-assume')
  if (
    roleToAssume !== undefined &&
    !/^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(roleToAssume)
  ) {
    throw bad(
      'role-to-assume',
      roleToAssume,
      'use a role ARN such as arn:aws:iam::123456789012:role/github-deploy (or leave it empty to use credentials already in the environment).'
    )
  }

  const audience = orDefault('audience')
  if (/\s/.test(audience))
    throw bad('audience', audience, 'use one audience without spaces, such as sts.amazonaws.com.')

  const roleSessionName = text('role-session-name')
  if (roleSessionName !== undefined && !/^[\w+=,.@-]{2,64}$/.test(roleSessionName)) {
    throw bad(
      'role-session-name',
      roleSessionName,
      'STS takes 2 to 64 characters of letters, digits and +=,.@_- (or leave it empty for one derived from the repository and run).'
    )
  }

  const roleDurationSeconds = wholeNumber(
    'role-duration-seconds',
    orDefault('role-duration-seconds'),
    900,
    43200,
    'seconds'
  )

  const allowedText = text('allowed-account-ids') ?? ''
  const allowedAccountIds = allowedText
    .split(/[\s,]+/)
    .map(id => id.trim())
    .filter(Boolean)
  const badId = allowedAccountIds.find(id => !/^\d{12}$/.test(id))
  if (badId !== undefined) {
    throw bad(
      'allowed-account-ids',
      allowedText,
      `'${badId}' is not an AWS account ID; list 12-digit account IDs separated by commas, such as 123456789012,210987654321.`
    )
  }

  // Empty here means "no smoke test", so only an absent input takes the default.
  const pathText = raw('smoke-test-path') ?? INPUT_DEFAULTS['smoke-test-path']
  if (pathText !== '' && (!pathText.startsWith('/') || /\s/.test(pathText))) {
    throw bad(
      'smoke-test-path',
      pathText,
      'use a path that starts with /, such as /health (or an empty string to turn the smoke test off).'
    )
  }

  const smokeTestUrl = text('smoke-test-url')
  if (smokeTestUrl !== undefined && !isHttpUrl(smokeTestUrl)) {
    throw bad(
      'smoke-test-url',
      smokeTestUrl,
      'use an http:// or https:// URL, such as https://api.example.com (or leave it empty to probe the deployed url).'
    )
  }

  const smokeTestTimeoutSeconds = wholeNumber(
    'smoke-test-timeout',
    orDefault('smoke-test-timeout'),
    1,
    900,
    'seconds'
  )

  const expectText = orDefault('smoke-test-expect')
  const smokeTestExpect = parseStatusRanges(expectText)

  const protectText = text('protect') ?? ''
  const protect = protectEntries(protectText.split(/[\s,]+/))

  const verify = orDefault('verify')
  if (!(VERIFY_LEVELS as readonly string[]).includes(verify)) {
    throw bad(
      'verify',
      verify,
      'use full (check every zip and import and call each handler), static (check the zips only: for handlers that need AWS or the network when they are imported) or off.'
    )
  }

  const argsText = text('args') ?? ''
  const args = splitArgs(argsText)
  for (const arg of args) {
    // `-hv` is `-h -v` to Serverless' parser: each letter of a combined short flag is checked on its own.
    const flags = /^-[a-zA-Z]{2,}$/.test(arg)
      ? [...arg.slice(1)].map(letter => `-${letter}`)
      : [arg.split('=')[0]]
    for (const flag of flags)
      if (OWNED_FLAGS[flag])
        throw bad(
          'args',
          argsText,
          `${flag}${flag === arg.split('=')[0] ? '' : ` (in ${arg})`} is not taken in args: ${OWNED_FLAGS[flag]}.`
        )
  }

  return {
    command: command as Command,
    workingDirectory: orDefault('working-directory'),
    stage,
    awsRegion,
    pythonVersion,
    serverlessVersion,
    framework: framework as Framework | undefined,
    args,
    roleToAssume,
    audience,
    roleSessionName,
    roleDurationSeconds,
    exportCredentials: boolean('export-credentials', orDefault('export-credentials')),
    allowedAccountIds,
    cache: boolean('cache', orDefault('cache')),
    smokeTestPath: pathText === '' ? undefined : pathText,
    smokeTestUrl,
    smokeTestTimeoutSeconds,
    smokeTestExpect,
    rollbackOnFailure: boolean('rollback-on-failure', orDefault('rollback-on-failure')),
    commentOnPr: boolean('comment-on-pr', orDefault('comment-on-pr')),
    githubToken: text('github-token'),
    verify: verify as VerifyLevel,
    protect
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'http:' || url.protocol === 'https:') && Boolean(url.host)
  } catch {
    return false
  }
}

/** `200-399`, `200`, or a list of those: `200,204,300-308`. */
export function parseStatusRanges(text: string): StatusRange[] {
  const ranges = text.split(',').map(part => {
    const match = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(part)
    const from = Number(match?.[1])
    const to = Number(match?.[2] ?? match?.[1])
    if (!match || from < 100 || to > 599 || from > to) return undefined
    return { from, to }
  })
  if (ranges.some(range => range === undefined)) {
    throw bad(
      'smoke-test-expect',
      text,
      'use HTTP status codes or ranges of them from 100 to 599, such as 200-399 or 200,204.'
    )
  }
  return ranges as StatusRange[]
}

export function statusExpected(status: number, ranges: StatusRange[]): boolean {
  return ranges.some(range => status >= range.from && status <= range.to)
}

/** Splits `args` as a shell would for words and quotes, without running a shell. */
export function splitArgs(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quote) {
      if (c === quote) quote = undefined
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]
      else word += c
    } else if (c === '"' || c === "'") {
      quote = c
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c === '\\' && i + 1 < line.length ? line[++i] : c
      inWord = true
    }
  }
  if (quote) throw bad('args', line, `close the ${quote} quote.`)
  if (inWord) words.push(word)
  return words
}
