import * as core from '@actions/core'
import * as semver from 'semver'
import { UserError } from './errors.js'

export const COMMANDS = ['deploy', 'remove', 'package', 'info'] as const
export type Command = (typeof COMMANDS)[number]

/** Everything the action was given, read and checked once. Nothing else calls core.getInput. */
export interface Inputs {
  command: Command
  workingDirectory: string
  stage?: string
  awsRegion?: string
  pythonVersion?: string
  serverlessVersion?: string
  args: string[]
  roleToAssume?: string
  audience: string
  roleSessionName?: string
  roleDurationSeconds: number
  exportCredentials: boolean
}

type Getter = (name: string) => string

function bad(input: string, value: string, fix: string): UserError {
  return new UserError(`Input '${input}' is '${value}': ${fix}`)
}

export function readInputs(get: Getter = name => core.getInput(name)): Inputs {
  const text = (name: string): string | undefined => get(name).trim() || undefined

  const command = text('command') ?? 'deploy'
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw bad('command', command, `use one of ${COMMANDS.join(', ')} (default deploy).`)
  }

  const stage = text('stage')
  if (stage !== undefined && !/^[a-zA-Z0-9-]+$/.test(stage)) {
    throw bad('stage', stage, 'a Serverless stage has only letters, digits and hyphens, for example prod.')
  }

  const awsRegion = text('aws-region')
  if (awsRegion !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(awsRegion)) {
    throw bad('aws-region', awsRegion, 'use an AWS region code such as us-east-1 or eu-west-2.')
  }

  const pythonVersion = text('python-version')
  if (pythonVersion !== undefined && !/^3\.\d+(\.\d+)?$/.test(pythonVersion)) {
    throw bad(
      'python-version',
      pythonVersion,
      'use a Python 3 version such as 3.11 (or leave it empty to follow provider.runtime).'
    )
  }

  const serverlessVersion = text('serverless-version')
  if (serverlessVersion !== undefined) {
    const range = semver.validRange(serverlessVersion)
    if (!range || !semver.subset(range, '>=3.0.0 <4.0.0')) {
      throw bad(
        'serverless-version',
        serverlessVersion,
        'this action runs Serverless Framework v3; use a 3.x version such as 3.40.0 (or leave it empty to use the project’s own).'
      )
    }
  }

  const roleToAssume = text('role-to-assume')
  if (roleToAssume !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleToAssume)) {
    throw bad(
      'role-to-assume',
      roleToAssume,
      'use a role ARN such as arn:aws:iam::123456789012:role/github-deploy.'
    )
  }

  const durationText = text('role-duration-seconds') ?? '3600'
  const roleDurationSeconds = Number(durationText)
  if (!/^\d+$/.test(durationText) || roleDurationSeconds < 900 || roleDurationSeconds > 43200) {
    throw bad(
      'role-duration-seconds',
      durationText,
      'use a whole number of seconds from 900 to 43200 (default 3600).'
    )
  }

  const roleSessionName = text('role-session-name')
  if (roleSessionName !== undefined && !/^[\w+=,.@-]{2,64}$/.test(roleSessionName)) {
    throw bad(
      'role-session-name',
      roleSessionName,
      'STS takes 2 to 64 characters of letters, digits and +=,.@_- (or leave it empty for one derived from the repository and run).'
    )
  }

  const exportText = text('export-credentials') ?? 'false'
  if (!['true', 'false'].includes(exportText.toLowerCase())) {
    throw bad('export-credentials', exportText, 'use true or false.')
  }

  const argsText = text('args') ?? ''
  const args = splitArgs(argsText)
  // The action passes --stage and --region itself, and reads the stack of the stage it passed.
  const owned = args.find(arg => /^(--stage|-s|--region|-r)(=|$)/.test(arg))
  if (owned) {
    const input = /stage|^-s/.test(owned) ? 'stage' : 'aws-region'
    throw bad('args', argsText, `set the ${input} input instead of passing ${owned.split('=')[0]} in args.`)
  }
  return {
    command: command as Command,
    workingDirectory: text('working-directory') ?? '.',
    stage,
    awsRegion,
    pythonVersion,
    serverlessVersion,
    args,
    roleToAssume,
    audience: text('audience') ?? 'sts.amazonaws.com',
    roleSessionName,
    roleDurationSeconds,
    exportCredentials: exportText.toLowerCase() === 'true'
  }
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
