import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  accessDenied,
  diagnose,
  lineOf,
  requirementLine,
  RULES,
  serverlessError,
  subPatterns
} from '../../src/diagnosis.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-diagnosis-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Serverless v3's footer, as it prints it after every error. */
const FOOTER =
  '\nEnvironment: linux, node 24.11.1, framework 3.40.0 (local), plugin 7.2.3, SDK 4.5.1\nDocs:        docs.serverless.com\nSupport:     forum.serverless.com\nBugs:        github.com/serverless/serverless/issues\n'

describe('serverlessError', () => {
  it('keeps every line of the Error: block, not just the first', () => {
    const output = `Packaging\n\nError:\nCannot resolve serverless.yml: Variables resolution errored with:\n  - Cannot resolve variable at "provider.environment.WEATHER_URL": Value not found at "env" source,\n  - Cannot resolve variable at "custom.bucket": Value not found at "ssm" source\n${FOOTER}`
    expect(serverlessError(output)).toBe(
      'Cannot resolve serverless.yml: Variables resolution errored with:\n  - Cannot resolve variable at "provider.environment.WEATHER_URL": Value not found at "env" source,\n  - Cannot resolve variable at "custom.bucket": Value not found at "ssm" source'
    )
  })

  it('stops at a stack trace', () => {
    expect(serverlessError('Error:\nboom\n    at Object.<anonymous> (/x/y.js:1:1)\n')).toBe('boom')
    expect(serverlessError('no error here')).toBeUndefined()
  })
})

describe('lineOf and requirementLine', () => {
  it('finds the line of a property path in serverless.yml, or of its deepest written parent', () => {
    const file = path.join(dir, 'serverless.yml')
    writeFileSync(
      file,
      'service: api\nprovider:\n  name: aws\n  environment:\n    WEATHER_URL: ${env:WEATHER_URL}\n'
    )
    expect(lineOf(file, 'provider.environment.WEATHER_URL')).toBe(5)
    expect(lineOf(file, 'provider.environment.OTHER')).toBe(5)
    expect(lineOf(path.join(dir, 'missing.yml'), 'service')).toBeUndefined()
  })

  it('finds the requirements line of a package, through -r includes and normalised names', () => {
    writeFileSync(path.join(dir, 'requirements.txt'), '# app\n-r base.txt\nfastapi>=0.115\n')
    writeFileSync(path.join(dir, 'base.txt'), 'Pydantic_Core==2.0\n')
    expect(requirementLine(dir, 'pydantic-core')).toEqual({
      file: path.join(dir, 'base.txt'),
      line: 1,
      text: 'Pydantic_Core==2.0'
    })
    expect(requirementLine(dir, 'fastapi')?.line).toBe(3)
    expect(requirementLine(dir, 'nothing')).toBeUndefined()
  })
})

describe('diagnose', () => {
  const context = {
    command: 'deploy' as const,
    dir,
    configFile: path.join(dir, 'serverless.yml'),
    stackName: 'api-dev',
    region: 'eu-west-1'
  }

  it('names the package, version, platform and requirements line pip could not install', () => {
    writeFileSync(path.join(dir, 'requirements.txt'), 'fastapi\nmangum==9.9.9\n')
    const output = `Error:\n  STDERR: ERROR: Could not find a version that satisfies the requirement mangum==9.9.9 (from versions: 0.17.0, 0.19.0)\nERROR: No matching distribution found for mangum==9.9.9\n${FOOTER}`
    const found = diagnose(output, { ...context, platform: 'manylinux2014_aarch64', pythonVersion: '3.12' })
    expect(found?.title).toBe('pip found no matching package')
    expect(found?.message).toBe(
      'pip could not install mangum ==9.9.9 for manylinux2014_aarch64, CPython 3.12 (requirements.txt line 2: mangum==9.9.9); the index has versions 0.17.0, 0.19.0. Check the name and version, that the package index this runner uses has it, and that it publishes a wheel for manylinux2014_aarch64, CPython 3.12 (a pure-Python package may be an sdist).'
    )
    expect(found?.annotation).toEqual({ file: path.join(dir, 'requirements.txt'), startLine: 2 })
  })

  it('gives the statement to add for a permission the role lacks', () => {
    const output =
      'Error:\nUser: arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions is not authorized to perform: lambda:PutFunctionConcurrency on resource: arn:aws:lambda:eu-west-1:123456789012:function:api-dev-api because no identity-based policy allows the lambda:PutFunctionConcurrency action'
    const found = diagnose(output, context)
    expect(found?.title).toBe('The deploy role lacks a permission')
    expect(found?.message).toContain('"Action": "lambda:PutFunctionConcurrency"')
    expect(found?.message).toContain(
      '"Resource": "arn:aws:lambda:eu-west-1:123456789012:function:api-dev-api"'
    )
  })

  it('explains missing and expired credentials, naming the command', () => {
    expect(
      diagnose('Error:\n\nAWS provider credentials not found. Learn how', { ...context, command: 'remove' })
        ?.message
    ).toBe(
      'No AWS credentials reached serverless remove. Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.'
    )
    expect(
      diagnose('Error:\nThe security token included in the request is expired', context)?.message
    ).toMatch(/^The AWS credentials expired during serverless deploy\. Raise role-duration-seconds/)
  })

  it('says a stack in UPDATE_ROLLBACK_FAILED keeps serving, never to delete it', () => {
    const found = diagnose(
      'Error:\nStack:arn:aws:cloudformation:eu-west-1:1:stack/api-dev/x is in UPDATE_ROLLBACK_FAILED state and can not be updated.',
      context
    )
    expect(found?.message).toContain('The previous version keeps serving.')
    expect(found?.message).toContain(
      'aws cloudformation continue-update-rollback --stack-name api-dev --region eu-west-1'
    )
    expect(found?.message).toContain('Do not delete the stack')
  })

  it('points a variable that cannot be resolved at its line in serverless.yml, with the whole message', () => {
    writeFileSync(
      path.join(dir, 'serverless.yml'),
      'service: api\nprovider:\n  name: aws\n  environment:\n    WEATHER_URL: ${env:WEATHER_URL}\n'
    )
    const output = `Error:\nCannot resolve serverless.yml: Variables resolution errored with:\n  - Cannot resolve variable at "provider.environment.WEATHER_URL": Value not found at "env" source\n${FOOTER}`
    const found = diagnose(output, context)
    expect(found?.message).toMatch(
      /^Cannot resolve serverless\.yml: Variables resolution errored with:\n {2}- Cannot resolve variable at "provider\.environment\.WEATHER_URL"/
    )
    expect(found?.annotation).toEqual({ file: path.join(dir, 'serverless.yml'), startLine: 5 })
  })

  it("falls back to the whole of serverless' Error: block", () => {
    const output = `Packaging api\n\nError:\nInvalid handler "main.nope" in function api\nCheck the handler.\n${FOOTER}`
    expect(diagnose(output, context)).toEqual({
      title: 'serverless deploy failed',
      message: 'Invalid handler "main.nope" in function api\nCheck the handler.'
    })
  })

  it('is undefined for output it does not recognise', () => {
    expect(diagnose('Segmentation fault (core dumped)', context)).toBeUndefined()
  })

  it('has one rule per id, each with a title and a symptom for the README', () => {
    expect(new Set(RULES.map(rule => rule.id)).size).toBe(RULES.length)
    for (const rule of RULES) expect(rule.title && rule.symptom).toBeTruthy()
  })
})

describe('accessDenied', () => {
  it('suggests a condition in the token’s own sub form, legacy or immutable', () => {
    const legacy = {
      sub: 'repo:octo-org/api:environment:prod',
      repository: 'octo-org/api',
      aud: 'sts.amazonaws.com'
    }
    expect(subPatterns(legacy)).toEqual({
      exact: 'repo:octo-org/api:environment:prod',
      repository: 'repo:octo-org/api:*'
    })
    const immutable = {
      sub: 'repo:octo-org@1234/api@5678:ref:refs/heads/main',
      repository: 'octo-org/api',
      aud: 'sts.amazonaws.com'
    }
    expect(subPatterns(immutable).repository).toBe('repo:octo-org@1234/api@5678:*')
    const message = accessDenied('arn:aws:iam::123456789012:role/deploy', immutable, 'AccessDenied')
    expect(message).toContain(
      '"token.actions.githubusercontent.com:sub": "repo:octo-org@1234/api@5678:ref:refs/heads/main"'
    )
    expect(message).toContain('immutable sub form')
  })
})
