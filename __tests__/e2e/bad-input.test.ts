import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction } from '../support/runner.js'

const GOOD_YML =
  "service: api\nframeworkVersion: '3'\nprovider:\n  name: aws\n  runtime: python3.11\nfunctions:\n  api:\n    handler: main.handler\n"

function serviceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bad-input-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

const cases: [string, Record<string, string>, Record<string, string>, RegExp][] = [
  [
    'an unknown command',
    { command: 'destroy' },
    { 'serverless.yml': GOOD_YML },
    /Input 'command' is 'destroy': use one of deploy, remove, package, info/
  ],
  [
    'a folder without serverless.yml',
    {},
    { 'main.py': '' },
    /Input 'working-directory' is '.+': .+ has no serverless\.yml, serverless\.yaml, serverless\.json or other serverless\.\* configuration/
  ],
  [
    'a runtime that is not Python',
    {},
    { 'serverless.yml': GOOD_YML.replace('python3.11', 'nodejs20.x') },
    /serverless\.yml has provider\.runtime nodejs20\.x: this action deploys Python services\. Set provider\.runtime to .*python3\.11/
  ],
  [
    'unreadable YAML',
    {},
    { 'serverless.yml': 'service: api\nprovider: [unclosed\n' },
    /serverless\.yml is not valid YAML, at line \d+, column \d+: .+Fix the syntax/
  ],
  [
    'a project pinned to serverless v4',
    {},
    {
      'serverless.yml': GOOD_YML,
      'package.json': '{"devDependencies":{"serverless":"^4.4.0"}}',
      'package-lock.json': '{"lockfileVersion":3,"packages":{"node_modules/serverless":{"version":"4.4.0"}}}'
    },
    /pins serverless 4\.4\.0 in package-lock\.json: this action runs Serverless Framework v3\. Pin it to 3\.x/
  ],
  [
    'a frameworkVersion no v3 satisfies',
    {},
    { 'serverless.yml': GOOD_YML.replace("'3'", "'4'") },
    /frameworkVersion '4', which no Serverless v3 satisfies.*Set frameworkVersion: '3'/
  ],
  [
    'a serverless-version that is not 3.x',
    { 'serverless-version': '4.1.0' },
    { 'serverless.yml': GOOD_YML },
    /Input 'serverless-version' is '4\.1\.0': .*3\.x/
  ],
  [
    'a malformed role ARN',
    { 'role-to-assume': 'deploy-role' },
    { 'serverless.yml': GOOD_YML },
    /Input 'role-to-assume' is 'deploy-role': use a role ARN/
  ],
  [
    'a role duration out of range',
    { 'role-duration-seconds': '60' },
    { 'serverless.yml': GOOD_YML },
    /Input 'role-duration-seconds' is '60': .*900 to 43200/
  ],
  [
    'args that set the stage',
    { args: '--stage prod --verbose' },
    { 'serverless.yml': GOOD_YML },
    /Input 'args' is '--stage prod --verbose': --stage is not taken in args: set the stage input instead/
  ]
]

describe('bad input fails with one error annotation and runs nothing', () => {
  it.each(cases)('%s', async (_name, inputs, files, message) => {
    const dir = serviceDir(files)
    const run = await runAction({
      inputs: { 'working-directory': dir, ...inputs },
      env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }
    })
    expect(run.exitCode).toBe(1)
    const errors = run.stdout.split('\n').filter(line => line.startsWith('::error'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(message)
    // Nothing was installed or run: no npm, no pip, no serverless.
    expect(run.stdout).not.toContain('[command]')
    expect(run.outputs).toEqual({})
  })

  it('no AWS credentials at all, for a command that needs them', async () => {
    const dir = serviceDir({ 'serverless.yml': GOOD_YML })
    const run = await runAction({
      inputs: { 'working-directory': dir, command: 'deploy' },
      env: { HOME: dir }
    })
    expect(run.exitCode).toBe(1)
    const errors = run.stdout.split('\n').filter(line => line.startsWith('::error'))
    expect(errors).toEqual([
      expect.stringMatching(/^::error title=No AWS credentials::No AWS credentials: set role-to-assume/)
    ])
    expect(run.stdout).not.toContain('[command]')
  })
})
