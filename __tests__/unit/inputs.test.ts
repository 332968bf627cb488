import { UserError } from '../../src/errors.js'
import { readInputs, splitArgs } from '../../src/inputs.js'

const getter =
  (values: Record<string, string>) =>
  (name: string): string | undefined =>
    values[name]

function failure(values: Record<string, string>): UserError {
  try {
    readInputs(getter(values))
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return error as UserError
  }
  throw new Error(`readInputs accepted ${JSON.stringify(values)}`)
}

describe('readInputs', () => {
  it('fills in the defaults when nothing is set', () => {
    expect(readInputs(getter({}))).toEqual({
      command: 'deploy',
      workingDirectory: '.',
      stage: undefined,
      awsRegion: undefined,
      pythonVersion: undefined,
      serverlessVersion: undefined,
      args: [],
      roleToAssume: undefined,
      audience: 'sts.amazonaws.com',
      roleSessionName: undefined,
      roleDurationSeconds: 3600,
      exportCredentials: false,
      framework: undefined,
      allowedAccountIds: [],
      cache: true,
      smokeTestPath: '/health',
      smokeTestUrl: undefined,
      smokeTestTimeoutSeconds: 60,
      smokeTestExpect: [{ from: 200, to: 399 }],
      rollbackOnFailure: true,
      commentOnPr: false,
      githubToken: undefined,
      verify: 'full',
      protect: []
    })
  })

  it('treats an empty smoke-test-path as "off", and an absent one as the default', () => {
    expect(readInputs(getter({ 'smoke-test-path': '' })).smokeTestPath).toBeUndefined()
    expect(readInputs(getter({ 'smoke-test-path': ' /ping ' })).smokeTestPath).toBe('/ping')
    expect(readInputs(getter({})).smokeTestPath).toBe('/health')
  })

  it('reads the lifecycle and account inputs', () => {
    const inputs = readInputs(
      getter({
        'allowed-account-ids': '111111111111, 222222222222',
        'smoke-test-expect': '200,204, 300-308',
        'smoke-test-timeout': '5',
        'smoke-test-url': 'https://api.example.com',
        'rollback-on-failure': 'False',
        'comment-on-pr': 'TRUE',
        cache: 'false',
        framework: 'osls',
        'github-token': 'ghs_x'
      })
    )
    expect(inputs).toMatchObject({
      allowedAccountIds: ['111111111111', '222222222222'],
      smokeTestExpect: [
        { from: 200, to: 200 },
        { from: 204, to: 204 },
        { from: 300, to: 308 }
      ],
      smokeTestTimeoutSeconds: 5,
      smokeTestUrl: 'https://api.example.com',
      rollbackOnFailure: false,
      commentOnPr: true,
      cache: false,
      framework: 'osls',
      githubToken: 'ghs_x'
    })
  })

  it('reads valid values, trimmed', () => {
    const inputs = readInputs(
      getter({
        command: ' remove ',
        'working-directory': 'services/api',
        stage: 'prod-2',
        'aws-region': 'eu-west-2',
        'python-version': '3.12.1',
        'serverless-version': '3.38.0',
        'role-to-assume': 'arn:aws:iam::123456789012:role/deploy',
        'role-duration-seconds': '900',
        'export-credentials': 'TRUE',
        args: '--verbose --param="a b"'
      })
    )
    expect(inputs).toMatchObject({
      command: 'remove',
      workingDirectory: 'services/api',
      stage: 'prod-2',
      awsRegion: 'eu-west-2',
      pythonVersion: '3.12.1',
      serverlessVersion: '3.38.0',
      roleToAssume: 'arn:aws:iam::123456789012:role/deploy',
      roleDurationSeconds: 900,
      exportCredentials: true,
      args: ['--verbose', '--param=a b']
    })
  })

  it('accepts a 3.x range for serverless-version and the upper duration bound', () => {
    const inputs = readInputs(getter({ 'serverless-version': '^3', 'role-duration-seconds': '43200' }))
    expect(inputs.serverlessVersion).toBe('^3')
    expect(inputs.roleDurationSeconds).toBe(43200)
  })

  const invalid: [string, string, RegExp][] = [
    ['command', 'destroy', /use one of deploy, remove, package, info/],
    ['stage', 'my stage', /letters, digits and hyphens/],
    ['aws-region', 'useast1', /region code of the .* partitions, such as us-east-1/],
    ['python-version', '2.7', /Python 3 version such as 3\.11/],
    ['python-version', 'three', /Python 3 version such as 3\.11/],
    [
      'serverless-version',
      '5',
      /use a version of the Serverless Framework v3 \(such as 3\.40\.0\) or of osls 3 or 4/
    ],
    ['serverless-version', '^2.0.0', /or of osls 3 or 4/],
    ['serverless-version', '>=3', /or of osls 3 or 4/],
    ['serverless-version', 'latest', /or of osls 3 or 4/],
    ['role-to-assume', 'arn:aws:iam::1234:role/deploy', /use a role ARN such as arn:aws:iam::/],
    ['role-to-assume', 'deploy-role', /use a role ARN/],
    ['role-duration-seconds', '899', /900 to 43200/],
    ['role-duration-seconds', '43201', /900 to 43200/],
    ['role-duration-seconds', '1h', /900 to 43200/],
    ['export-credentials', 'yes', /use true or false/],
    ['role-session-name', 'deploy from ci', /2 to 64 characters/],
    ['role-session-name', 'x', /2 to 64 characters/],
    ['args', '--verbose --stage prod', /--stage is not taken in args: set the stage input instead/],
    ['args', '-r=eu-west-1', /-r is not taken in args: set the aws-region input instead/],
    [
      'args',
      '--aws-profile other',
      /--aws-profile is not taken in args: the action deploys with the credentials it checked/
    ],
    ['args', '--config serverless.prod.yml', /--config is not taken in args: set working-directory/],
    ['args', '-c other.yml', /-c is not taken in args/],
    ['args', '--package dist', /--package is not taken in args: the action packages the service itself/],
    ['args', '--help', /it would print help instead of running the command/],
    ['args', '--param "a', /close the " quote/],
    ['aws-region', 'eu-wst-1', /no aws region has that name; use one of af-south-1/],
    ['aws-region', 'mars-north-1', /region code of the aws-us-gov, aws-cn, aws partitions/],
    ['role-to-assume', 'arn:aws:iam::123456789012:user/deploy', /use a role ARN/],
    ['framework', 'serverless-v4', /use serverless .* or osls/],
    ['allowed-account-ids', '1234,123456789012', /'1234' is not an AWS account ID/],
    ['smoke-test-path', 'health', /a path that starts with \//],
    ['smoke-test-url', 'ftp://example.com', /an http:\/\/ or https:\/\/ URL/],
    ['smoke-test-url', 'not a url', /an http:\/\/ or https:\/\/ URL/],
    ['smoke-test-timeout', '0', /from 1 to 900/],
    ['smoke-test-timeout', '2m', /from 1 to 900/],
    ['smoke-test-expect', '2xx', /HTTP status codes or ranges of them from 100 to 599/],
    ['smoke-test-expect', '399-200', /HTTP status codes or ranges/],
    ['smoke-test-expect', '200-700', /HTTP status codes or ranges/],
    ['rollback-on-failure', 'yes', /use true or false/],
    ['comment-on-pr', '1', /use true or false/],
    ['cache', 'off', /use true or false/],
    ['audience', 'sts amazonaws', /one audience without spaces/]
  ]

  it.each(invalid)("rejects %s '%s', naming the input, the value and a fix", (name, value, fix) => {
    const error = failure({ [name]: value })
    expect(error.message).toContain(`Input '${name}' is '${value}':`)
    expect(error.message).toMatch(fix)
  })
})

describe('splitArgs', () => {
  it('splits on whitespace and drops empty words', () => {
    expect(splitArgs('  --verbose \t --force  ')).toEqual(['--verbose', '--force'])
    expect(splitArgs('')).toEqual([])
  })

  it('keeps quoted words together, including an empty quoted word', () => {
    expect(splitArgs(`--param "key=a b" 'single quoted' ""`)).toEqual([
      '--param',
      'key=a b',
      'single quoted',
      ''
    ])
  })

  it('joins adjacent quoted and bare parts into one word', () => {
    expect(splitArgs(`--param=key="a b"c`)).toEqual(['--param=key=a bc'])
  })

  it('honours backslash escapes outside quotes and inside double quotes only', () => {
    expect(splitArgs('a\\ b "c\\"d" \'e\\f\'')).toEqual(['a b', 'c"d', 'e\\f'])
  })

  it('throws a UserError naming args when a quote is left open', () => {
    expect(() => splitArgs('--param "open')).toThrow(UserError)
    expect(() => splitArgs('--param "open')).toThrow(`Input 'args' is '--param "open': close the " quote.`)
    expect(() => splitArgs("it's")).toThrow("close the ' quote.")
  })
})
