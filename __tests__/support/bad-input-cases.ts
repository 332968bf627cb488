import { readFileSync } from 'node:fs'
import path from 'node:path'
import { FIXTURES } from './fixture.js'

/**
 * Bad inputs and broken services, as a table: each names the files of the repository, the inputs and
 * the environment, and what the one error annotation must say (its cause, its fix, its title and where
 * it points). __tests__/unit/bad-input.test.ts runs every case that needs no tool in process, and
 * __tests__/e2e/bad-input.test.ts runs the representative ones (one per input, one per kind of check,
 * and every case npm or Serverless must find) through dist/index.js against moto.
 */

export const GOOD_YML =
  "service: api\nframeworkVersion: '3'\nprovider:\n  name: aws\n  runtime: python3.11\nfunctions:\n  api:\n    handler: main.handler\n"
const yml = (replace: [string, string][]) =>
  replace.reduce((text, [from, to]) => text.replace(from, to), GOOD_YML)

/** The fixture's package.json and lockfile: a project that pins serverless 3.40.0 itself. */
const PINNED = {
  'package.json': readFileSync(path.join(FIXTURES, 'service', 'package.json'), 'utf8'),
  'package-lock.json': readFileSync(path.join(FIXTURES, 'service', 'package-lock.json'), 'utf8')
}

/** Every region a case deploys to, or would: moto must hold no stack in any of them afterwards. */
export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2']

export interface BadCase {
  name: string
  inputs?: Record<string, string>
  /** The repository: paths relative to the workspace root, which is also the working directory. */
  files: Record<string, string>
  /** The annotation's message names the cause… */
  cause: RegExp
  /** …and the fix. */
  fix: RegExp
  title?: string
  /** The annotation's properties, as the runner reads them (file relative to the workspace). */
  where?: { file: string; line?: string; col?: string }
  /**
   * What may run: nothing for a pure input error; npm for a broken lockfile; serverless for what only
   * Serverless can tell (it may read the configuration, but never deploy).
   */
  runs?: 'npm' | 'serverless'
  env?: Record<string, string | undefined>
  /** Symbolic links to make in the repository: path → target (absolute, or relative to the link). */
  links?: Record<string, string>
  /**
   * Runs through dist/index.js even when a case of its kind already does: an escape that was once possible
   * (a flag slipped past the check, a folder out of the repository), proved on the real path.
   */
  always?: true
}

const flag = (args: string, owned: string, fix: RegExp): BadCase => ({
  name: `args '${args}': ${owned} is a flag the action owns`,
  inputs: { args },
  files: { 'serverless.yml': GOOD_YML },
  cause: new RegExp(
    `Input 'args' is '${args.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': ${owned} is not taken in args`
  ),
  fix
})

export const CASES: BadCase[] = [
  // command
  {
    name: 'an unknown command',
    inputs: { command: 'destroy' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'command' is 'destroy'/,
    fix: /use one of deploy, remove, package, info/
  },
  // working-directory
  {
    name: 'a working-directory that does not exist',
    inputs: { 'working-directory': 'services/api' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'working-directory' is 'services\/api': no such folder/,
    fix: /Set it to the folder that holds serverless\.yml, relative to the repository root/,
    title: 'No service folder'
  },
  {
    name: 'a working-directory above the repository',
    inputs: { 'working-directory': '../..' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'working-directory' is '\.\.\/\.\.': it resolves to \S+, outside the repository/,
    fix: /Set it to a folder inside the repository, relative to its root/,
    title: 'Service folder outside the repository'
  },
  {
    name: 'a working-directory that is the machine’s root',
    always: true,
    inputs: { 'working-directory': '/' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'working-directory' is '\/': it resolves to \/, outside the repository/,
    fix: /Set it to a folder inside the repository/,
    title: 'Service folder outside the repository'
  },
  {
    name: 'a working-directory that is a link out of the repository',
    always: true,
    inputs: { 'working-directory': 'service' },
    files: { 'README.md': '# api\n' },
    links: { service: '/tmp' },
    cause: /Input 'working-directory' is 'service': it resolves to \/tmp, outside the repository/,
    fix: /Set it to a folder inside the repository/,
    title: 'Service folder outside the repository'
  },
  {
    name: 'a folder with no serverless.yml, .yaml, .json, .js or .ts',
    files: { 'main.py': '', 'serverless.yml.example': GOOD_YML },
    cause: /has no serverless\.yml, serverless\.yaml, serverless\.json or other serverless\.\* configuration/,
    fix: /Set working-directory to the service folder, or add a serverless\.yml there/,
    title: 'No serverless.yml'
  },
  {
    name: 'a serverless.yml below the working-directory',
    files: { 'README.md': '# api\n', 'services/api/serverless.yml': GOOD_YML },
    cause: /Input 'working-directory' is '\.': .+ has no serverless\.yml/,
    fix: /A Serverless service is below it: set working-directory: services\/api\./,
    title: 'No serverless.yml'
  },
  // stage
  {
    name: 'a stage with characters AWS names cannot take',
    inputs: { stage: 'feature/login' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'stage' is 'feature\/login': a Serverless stage has only letters, digits and hyphens/,
    fix: /for example prod or pr-42/
  },
  {
    name: 'a stage with an underscore',
    inputs: { stage: 'pr_42' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'stage' is 'pr_42'/,
    fix: /only letters, digits and hyphens/
  },
  {
    name: "a stage too long for Lambda's 64-character function names",
    inputs: { stage: 'feature-weather-forecasts', 'aws-region': 'eu-west-1' },
    files: { 'serverless.yml': yml([['  api:\n', '  weatherForecastHandlerWithAVeryLongName:\n']]) },
    cause:
      /Stage 'feature-weather-forecasts' makes api-feature-weather-forecasts-weatherForecastHandlerWithAVeryLongName 69 characters long, 5 over Lambda's limit for a function name \(64\)/,
    fix: /Use a stage at most 20 characters long, or a shorter service or function name/,
    title: 'Stage name too long'
  },
  {
    name: 'a stage too long for the IAM role <service>-<stage>-<region>-lambdaRole',
    inputs: { stage: 'preview-for-the-weather-forecast-feature', 'aws-region': 'ap-southeast-2' },
    files: { 'serverless.yml': GOOD_YML },
    cause:
      /makes api-preview-for-the-weather-forecast-feature-ap-southeast-2-lambdaRole 70 characters long, 6 over IAM's limit for the role Serverless creates \(64\)/,
    fix: /Use a stage at most 34 characters long/,
    title: 'Stage name too long'
  },
  // aws-region
  {
    name: 'a region with a typo',
    inputs: { 'aws-region': 'eu-west-9' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'aws-region' is 'eu-west-9': no aws region has that name/,
    fix: /use one of .*eu-west-1, eu-west-2, eu-west-3/
  },
  {
    name: 'a region without its dash',
    inputs: { 'aws-region': 'us-east1' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'aws-region' is 'us-east1'/,
    fix: /use an AWS region code of the aws-us-gov, aws-cn, aws partitions, such as us-east-1/
  },
  {
    name: 'a region of no AWS partition (a Google Cloud one)',
    inputs: { 'aws-region': 'europe-west1' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'aws-region' is 'europe-west1'/,
    fix: /use an AWS region code of the aws-us-gov, aws-cn, aws partitions, such as us-east-1 or eu-west-2 \(or leave it empty for provider\.region from serverless\.yml\)/
  },
  // python-version
  {
    name: 'a Python 2 version',
    inputs: { 'python-version': '2.7' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'python-version' is '2\.7'/,
    fix: /use a Python 3 version such as 3\.11 or 3\.11\.9/
  },
  {
    name: 'a python-version that is a runtime name',
    inputs: { 'python-version': 'python3.11' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'python-version' is 'python3\.11'/,
    fix: /use a Python 3 version such as 3\.11/
  },
  // serverless-version and framework
  {
    name: 'a serverless-version that is not 3.x',
    inputs: { 'serverless-version': '4.1.0' },
    files: { 'serverless.yml': GOOD_YML },
    cause:
      /Input 'serverless-version' is '4\.1\.0': the Serverless Framework runs here as v3 \(Serverless Inc's v4 needs a login and a licence\)/,
    fix: /use a 3\.x version such as 3\.40\.0, or set framework: osls for osls 4/,
    title: 'Serverless v3 or osls only'
  },
  {
    name: 'a serverless-version that is no version at all',
    inputs: { 'serverless-version': 'latest' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'serverless-version' is 'latest'/,
    fix: /use a version of the Serverless Framework v3 \(such as 3\.40\.0\) or of osls 3 or 4/
  },
  {
    name: 'an unknown framework',
    inputs: { framework: 'sls' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'framework' is 'sls'/,
    fix: /use serverless \(the Serverless Framework v3\) or osls/
  },
  // role-to-assume and its settings
  {
    name: 'a role name instead of its ARN',
    inputs: { 'role-to-assume': 'deploy-role' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'role-to-assume' is 'deploy-role'/,
    fix: /use a role ARN such as arn:aws:iam::123456789012:role\/github-deploy/
  },
  {
    name: 'a role ARN with a short account ID',
    inputs: { 'role-to-assume': 'arn:aws:iam::12345:role/deploy' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'role-to-assume' is 'arn:aws:iam::12345:role\/deploy'/,
    fix: /use a role ARN such as/
  },
  {
    name: 'a role duration below 900 seconds',
    inputs: { 'role-duration-seconds': '60' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'role-duration-seconds' is '60'/,
    fix: /use a whole number of seconds from 900 to 43200/
  },
  {
    name: 'a role duration written as 1h',
    inputs: { 'role-duration-seconds': '1h' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'role-duration-seconds' is '1h'/,
    fix: /from 900 to 43200/
  },
  {
    name: 'an audience with a space',
    inputs: { audience: 'sts amazonaws.com' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'audience' is 'sts amazonaws\.com'/,
    fix: /use one audience without spaces, such as sts\.amazonaws\.com/
  },
  {
    name: 'a role session name of one character',
    inputs: { 'role-session-name': 'x' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'role-session-name' is 'x'/,
    fix: /STS takes 2 to 64 characters/
  },
  {
    name: 'a role session name with a space',
    inputs: { 'role-session-name': 'deploy session' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'role-session-name' is 'deploy session'/,
    fix: /letters, digits and \+=,\.@_-/
  },
  {
    name: 'allowed-account-ids with a short ID',
    inputs: { 'allowed-account-ids': '1234' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'allowed-account-ids' is '1234': '1234' is not an AWS account ID/,
    fix: /list 12-digit account IDs separated by commas/
  },
  {
    name: 'allowed-account-ids separated by semicolons',
    inputs: { 'allowed-account-ids': '123456789012;210987654321' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /'123456789012;210987654321' is not an AWS account ID/,
    fix: /separated by commas, such as 123456789012,210987654321/
  },
  {
    name: 'credentials of an account allowed-account-ids does not list',
    inputs: { 'allowed-account-ids': '210987654321' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /belong to account 123456789012\. Nothing was deployed or deleted/,
    fix: /Use a role in one of the allowed accounts, or add 123456789012 to allowed-account-ids/,
    title: 'Account not allowed'
  },
  {
    name: 'no AWS credentials at all, for a command that needs them',
    files: { 'serverless.yml': GOOD_YML },
    env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    cause: /^No AWS credentials/,
    fix: /set role-to-assume to a role this repository may assume with OIDC .*or configure credentials in an earlier step/,
    title: 'No AWS credentials'
  },
  // booleans
  ...(
    [
      ['export-credentials', 'yes'],
      ['cache', 'on'],
      ['rollback-on-failure', '1'],
      ['comment-on-pr', 'maybe']
    ] as const
  ).map(([input, value]): BadCase => ({
    name: `${input}: ${value}`,
    inputs: { [input]: value },
    files: { 'serverless.yml': GOOD_YML },
    cause: new RegExp(`Input '${input}' is '${value}'`),
    fix: /use true or false\./
  })),
  // the smoke test
  {
    name: 'a smoke-test-path without its leading slash',
    inputs: { 'smoke-test-path': 'health' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-path' is 'health'/,
    fix: /use a path that starts with \/, such as \/health \(or an empty string to turn the smoke test off\)/
  },
  {
    name: 'a smoke-test-path with a space',
    inputs: { 'smoke-test-path': '/health check' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-path' is '\/health check'/,
    fix: /use a path that starts with \//
  },
  {
    name: 'a smoke-test-url without its scheme',
    inputs: { 'smoke-test-url': 'api.example.com' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-url' is 'api\.example\.com'/,
    fix: /use an http:\/\/ or https:\/\/ URL/
  },
  {
    name: 'a smoke-test-url that is not http',
    inputs: { 'smoke-test-url': 'ftp://api.example.com' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-url' is 'ftp:\/\/api\.example\.com'/,
    fix: /use an http:\/\/ or https:\/\/ URL/
  },
  {
    name: 'a smoke-test-timeout of 0',
    inputs: { 'smoke-test-timeout': '0' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-timeout' is '0'/,
    fix: /use a whole number of seconds from 1 to 900/
  },
  {
    name: 'a smoke-test-timeout over 900',
    inputs: { 'smoke-test-timeout': '901' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-timeout' is '901'/,
    fix: /from 1 to 900/
  },
  {
    name: 'a smoke-test-timeout with a unit',
    inputs: { 'smoke-test-timeout': '30s' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-timeout' is '30s'/,
    fix: /use a whole number of seconds/
  },
  {
    name: 'a smoke-test-expect of 2xx',
    inputs: { 'smoke-test-expect': '2xx' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-expect' is '2xx'/,
    fix: /use HTTP status codes or ranges of them from 100 to 599, such as 200-399 or 200,204/
  },
  {
    name: 'a smoke-test-expect range written backwards',
    inputs: { 'smoke-test-expect': '399-200' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-expect' is '399-200'/,
    fix: /such as 200-399/
  },
  {
    name: 'a smoke-test-expect beyond 599',
    inputs: { 'smoke-test-expect': '200-600' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'smoke-test-expect' is '200-600'/,
    fix: /from 100 to 599/
  },
  // verify
  {
    name: 'a verify level that does not exist',
    inputs: { verify: 'maybe' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'verify' is 'maybe'/,
    fix: /use full \(check every zip and import and call each handler\), static .+ or off\./
  },
  // args
  {
    name: 'args with an unbalanced quote',
    inputs: { args: '--param="key=value' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'args' is '--param="key=value'/,
    fix: /close the " quote\./
  },
  flag('--stage prod --verbose', '--stage', /set the stage input instead/),
  flag('-s prod', '-s', /set the stage input instead/),
  flag('--stage=prod', '--stage', /set the stage input instead/),
  flag('--region eu-west-1', '--region', /set the aws-region input instead/),
  flag('-r eu-west-1', '-r', /set the aws-region input instead/),
  flag(
    '--aws-profile prod',
    '--aws-profile',
    /deploys with the credentials it checked \(role-to-assume\); remove it/
  ),
  flag('--config other.yml', '--config', /set working-directory to the folder of the service instead/),
  flag('-c other.yml', '-c', /set working-directory to the folder of the service instead/),
  flag('--package build', '--package', /the action packages the service itself; remove it/),
  flag('-p build', '-p', /the action packages the service itself; remove it/),
  flag('--help', '--help', /it would print help instead of running the command; remove it/),
  flag('-h', '-h', /it would print help instead of running the command; remove it/),
  flag('--version', '--version', /it would print the version instead of running the command; remove it/),
  flag('-v', '-v', /it would print the version instead of running the command; remove it/),
  {
    name: "args '-hv': Serverless reads combined short flags one by one",
    always: true,
    inputs: { args: '-hv' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'args' is '-hv': -h \(in -hv\) is not taken in args/,
    fix: /it would print help instead of running the command; remove it/
  },
  {
    name: "args '-vh'",
    always: true,
    inputs: { args: '-vh' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'args' is '-vh': -v \(in -vh\) is not taken in args/,
    fix: /it would print the version instead of running the command; remove it/
  },
  {
    name: 'a protect entry that is neither stateful, a logical ID nor a type',
    inputs: { protect: 'stateful users-table' },
    files: { 'serverless.yml': GOOD_YML },
    cause: /Input 'protect' is 'stateful,users-table': "users-table" is neither stateful, a logical ID/,
    fix: /Correct or remove it/
  },
  {
    name: 'a plugin name that is an npm flag',
    files: {
      'serverless.yml': `${GOOD_YML}plugins:\n  - serverless-python-requirements\n  - --registry=http://127.0.0.1:9\n`
    },
    always: true,
    cause:
      /serverless\.yml names the plugin '--registry=http:\/\/127\.0\.0\.1:9', which is not an npm package name/,
    fix: /List plugins by their package names \(such as serverless-python-requirements\), or by a \.\/path for a local plugin/,
    title: 'Not a plugin name',
    where: { file: 'serverless.yml' }
  },
  // broken services
  {
    name: 'YAML that does not parse',
    files: {
      'serverless.yml': 'service: api\nprovider:\n  name: aws\n  runtime: [python3.11\nfunctions: {}\n'
    },
    cause: /serverless\.yml is not valid YAML, at line 5, column 1: /,
    fix: /Fix the syntax there/,
    title: 'serverless.yml is not YAML',
    where: { file: 'serverless.yml', line: '5', col: '1' }
  },
  {
    name: 'JSON that does not parse',
    files: { 'serverless.json': '{\n  "service": "api",\n  "provider": { "name": "aws" \n}\n' },
    cause: /serverless\.json is not valid JSON: /,
    fix: /Fix the syntax there/,
    title: 'serverless.json is not JSON',
    where: { file: 'serverless.json' }
  },
  {
    name: 'a serverless.yml that is a list, not a mapping',
    files: { 'serverless.yml': '- service: api\n- provider: aws\n' },
    cause: /serverless\.yml does not describe a service \(it is not a mapping\)/,
    fix: /It needs at least service, provider and functions/,
    where: { file: 'serverless.yml' }
  },
  {
    name: 'no service',
    files: { 'serverless.yml': GOOD_YML.replace('service: api\n', '') },
    cause: /serverless\.yml has no service name/,
    fix: /Add one at the top, such as service: my-api/,
    title: 'No service name',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'no provider',
    files: {
      'serverless.yml': "service: api\nframeworkVersion: '3'\nfunctions:\n  api:\n    handler: main.handler\n"
    },
    cause: /serverless\.yml has no provider section/,
    fix: /Add provider: with name: aws and a Python runtime such as python3\.11/,
    title: 'No provider',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'a provider that is not aws',
    files: { 'serverless.yml': yml([['name: aws', 'name: azure']]) },
    cause: /serverless\.yml has provider\.name 'azure': this action deploys to AWS/,
    fix: /Set provider\.name: aws/,
    title: 'Not an AWS service',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'a runtime that is not Python',
    files: { 'serverless.yml': yml([['python3.11', 'nodejs20.x']]) },
    cause: /serverless\.yml has provider\.runtime nodejs20\.x: this action deploys Python services/,
    fix: /Set provider\.runtime to a Lambda Python runtime such as python3\.11/,
    title: 'Not a Python service',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'no runtime at all',
    files: { 'serverless.yml': yml([['  runtime: python3.11\n', '']]) },
    cause: /serverless\.yml has no provider\.runtime, so Serverless v3 runs its functions on nodejs16\.x/,
    fix: /Set provider\.runtime to a Lambda Python runtime such as python3\.11/,
    title: 'Not a Python service',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'two Python runtimes',
    files: {
      'serverless.yml': yml([
        [
          '    handler: main.handler\n',
          '    handler: main.handler\n    runtime: python3.12\n  worker:\n    handler: worker.handler\n'
        ]
      ])
    },
    cause: /serverless\.yml gives its functions different Python runtimes \(python3\.12, python3\.11\)/,
    fix: /Use one Python runtime for the service, or split it into services/,
    title: 'Several Python runtimes',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'two architectures',
    files: {
      'serverless.yml': yml([
        [
          '    handler: main.handler\n',
          '    handler: main.handler\n    architecture: arm64\n  worker:\n    handler: worker.handler\n'
        ]
      ])
    },
    cause: /serverless\.yml runs some functions on x86_64 and others on arm64/,
    fix: /Give every Python function the same architecture, or split the service/,
    title: 'Several architectures',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'an architecture Lambda does not have',
    files: {
      'serverless.yml': yml([['  runtime: python3.11\n', '  runtime: python3.11\n  architecture: arm\n']])
    },
    cause: /serverless\.yml has architecture 'arm': Lambda runs x86_64 or arm64/,
    fix: /Set provider\.architecture to one of them/,
    title: 'Unknown architecture',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'a project pinned to serverless v4 in its lockfile',
    files: {
      'serverless.yml': GOOD_YML,
      'package.json': '{"devDependencies":{"serverless":"^4.4.0"}}',
      'package-lock.json': '{"lockfileVersion":3,"packages":{"node_modules/serverless":{"version":"4.4.0"}}}'
    },
    cause:
      /The service pins serverless 4\.4\.0 in package-lock\.json: this action runs Serverless Framework v3/,
    fix: /Pin it to 3\.x \(npm install --save-dev serverless@3\), or move to osls \(npm install --save-dev osls\), and commit the lockfile/,
    title: 'Serverless v3 or osls only'
  },
  {
    name: 'a project pinned to serverless v4 in its package.json (no lockfile)',
    files: { 'serverless.yml': GOOD_YML, 'package.json': '{"devDependencies":{"serverless":"^4.4.0"}}' },
    cause: /The service pins serverless \^4\.4\.0 in package\.json: this action runs Serverless Framework v3/,
    fix: /Pin it to 3\.x/,
    title: 'Serverless v3 or osls only'
  },
  {
    name: 'a frameworkVersion no v3 satisfies',
    files: { 'serverless.yml': yml([["'3'", "'4'"]]) },
    cause: /serverless\.yml has frameworkVersion '4', which no Serverless v3 satisfies/,
    fix: /Set frameworkVersion: '3'/,
    title: 'Serverless v3 or osls only',
    where: { file: 'serverless.yml' }
  },
  {
    name: 'a frameworkVersion the pinned serverless does not satisfy',
    files: { 'serverless.yml': yml([["'3'", "'~3.38.0'"]]), ...PINNED },
    cause: /serverless\.yml has frameworkVersion '~3\.38\.0', but serverless 3\.40\.0 would run/,
    fix: /Pin a version that satisfies it .* or widen frameworkVersion \(such as '3 \|\| 4'\)/,
    title: 'frameworkVersion not satisfied',
    where: { file: 'serverless.yml' }
  },
  {
    name: "a serverless-version that conflicts with the project's own pin",
    inputs: { 'serverless-version': '3.38.0' },
    files: { 'serverless.yml': GOOD_YML, ...PINNED },
    cause:
      /Input 'serverless-version' is '3\.38\.0', but the service pins serverless 3\.40\.0 in package-lock\.json/,
    fix: /Remove the input, or change the project's pin/,
    title: 'Conflicting framework version'
  },
  {
    name: "a framework input that conflicts with the project's own",
    inputs: { framework: 'osls' },
    files: { 'serverless.yml': GOOD_YML, ...PINNED },
    cause: /Input 'framework' is 'osls', but the service depends on serverless in its package\.json/,
    fix: /Remove the input, or change the project's dependency/,
    title: 'Conflicting framework'
  },
  {
    name: 'a package.json its lockfile is out of sync with (npm)',
    files: {
      'serverless.yml': GOOD_YML,
      'package.json': JSON.stringify({
        private: true,
        devDependencies: { serverless: '3.40.0', 'left-pad': '1.3.0' }
      }),
      'package-lock.json': PINNED['package-lock.json']
    },
    cause:
      /package-lock\.json is out of sync with package\.json, so npm ci --ignore-scripts --no-audit --no-fund refused to install from it/,
    fix: /Run npm install locally and commit the updated package-lock\.json/,
    title: 'Lockfile out of sync',
    where: { file: 'package-lock.json' },
    runs: 'npm'
  },
  {
    name: 'a ${env:} variable that is not set (serverless package)',
    files: {
      'serverless.yml': yml([
        [
          '  runtime: python3.11\n',
          '  runtime: python3.11\n  environment:\n    WEATHER_URL: ${env:WEATHER_URL}\n'
        ]
      ])
    },
    env: { WEATHER_URL: undefined },
    // Serverless' whole message, then what to do about it.
    cause:
      /^Cannot resolve serverless\.yml: Variables resolution errored with:\n {2}- Cannot resolve variable at "provider\.environment\.WEATHER_URL": Value not found at "env" source\n/,
    fix: /reads the environment variable WEATHER_URL, which is not set: set it in the workflow/,
    title: 'A variable in serverless.yml cannot be resolved',
    where: { file: 'serverless.yml', line: '7' },
    runs: 'serverless'
  },
  {
    name: 'a ${file()} that does not exist (serverless print)',
    files: {
      'serverless.yml': `${GOOD_YML}custom:\n  pythonRequirements: \${file(./missing.yml):pythonRequirements}\n`
    },
    cause:
      /^Cannot resolve serverless\.yml: Variables resolution errored with:\n {2}- Cannot resolve variable at "custom\.pythonRequirements": Value not found at "file" source/,
    fix: /custom\.pythonRequirements reads \.\/missing\.yml, which does not exist in the service folder: commit it, or fix the path/,
    title: 'A variable in serverless.yml cannot be resolved',
    where: { file: 'serverless.yml', line: '10' },
    runs: 'serverless'
  }
]

/**
 * The cases dist/index.js runs: every one a tool must find, and the first of each kind (the input it
 * names, or the title of its error), so that each input and each check is proved through the bundle.
 */
export function representative(cases: BadCase[]): BadCase[] {
  const seen = new Set<string>()
  return cases.filter(c => {
    const kind = c.title ?? Object.keys(c.inputs ?? {}).join(',')
    if (c.runs || c.always) return true
    if (seen.has(kind)) return false
    seen.add(kind)
    return true
  })
}
