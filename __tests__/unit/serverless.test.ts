import path from 'node:path'
import { childEnv, forwardedArgs, serverlessArgs, serverlessEnv } from '../../src/serverless.js'

describe('serverlessArgs', () => {
  it('passes --stage and --region only when the inputs give them, then the args as given', () => {
    expect(
      serverlessArgs({
        command: ['deploy'],
        stage: 'prod',
        region: 'eu-west-1',
        args: ['--verbose', '--param=a b']
      })
    ).toEqual(['deploy', '--stage', 'prod', '--region', 'eu-west-1', '--verbose', '--param=a b'])
    // Without inputs, Serverless decides from serverless.yml: nothing is put in its place.
    expect(serverlessArgs({ command: ['deploy', '--package', '.serverless'], args: [] })).toEqual([
      'deploy',
      '--package',
      '.serverless'
    ])
  })
})

describe('forwardedArgs', () => {
  const args = [
    '--verbose',
    '--force',
    '--param',
    'key=value',
    '--param=other=x',
    '--conceal',
    '--debug',
    '*',
    '--aws-s3-accelerate'
  ]

  it('gives print and package only the options every command takes (v3 rejects the others)', () => {
    expect(forwardedArgs('print', args)).toEqual([
      '--verbose',
      '--param',
      'key=value',
      '--param=other=x',
      '--debug',
      '*'
    ])
    expect(forwardedArgs('package', [...args, '--minify-template'])).toEqual([
      '--verbose',
      '--param',
      'key=value',
      '--param=other=x',
      '--debug',
      '*',
      '--minify-template'
    ])
  })

  it('drops an unknown option together with its value', () => {
    expect(forwardedArgs('print', ['--plugin-option', 'value', '--verbose'])).toEqual(['--verbose'])
  })
})

describe('childEnv', () => {
  const nodeDir = path.dirname(process.execPath)
  const base = {
    PATH: '/usr/bin',
    HOME: '/home/runner',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
    ACTIONS_RUNTIME_TOKEN: 'runtime-token',
    ACTIONS_RESULTS_URL: 'https://results',
    'INPUT_GITHUB-TOKEN': 'ghs_secret',
    INPUT_COMMAND: 'deploy',
    AWS_ACCESS_KEY_ID: 'AKIAENV',
    AWS_SECRET_ACCESS_KEY: 'env-secret',
    AWS_PROFILE: 'other-account',
    AWS_DEFAULT_PROFILE: 'default-other',
    AWS_PROD_PROFILE: 'prod-profile',
    AWS_PROD_ACCESS_KEY_ID: 'AKIAPROD',
    AWS_PROD_SECRET_ACCESS_KEY: 'prod-secret',
    AWS_DEV_SESSION_TOKEN: 'dev-token',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL: 'http://localhost:5000'
  }

  it("never passes on the runner's tokens or the inputs (github-token among them)", () => {
    const env = childEnv({}, base)
    expect(Object.keys(env).filter(key => /^ACTIONS_|^INPUT_/.test(key))).toEqual([])
    expect(env.PATH).toBe(`${nodeDir}${path.delimiter}/usr/bin`)
    expect(env.AWS_PROFILE).toBe('other-account')
  })

  it('leaves only the given credentials to a serverless that must deploy with the assumed role', () => {
    const env = childEnv(
      {
        extra: { AWS_ACCESS_KEY_ID: 'ASIAROLE', AWS_SECRET_ACCESS_KEY: 'role', AWS_SESSION_TOKEN: 'session' },
        onlyTheseCredentials: true
      },
      base
    )
    expect(
      Object.keys(env)
        .filter(key => key.startsWith('AWS_'))
        .sort()
    ).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_ENDPOINT_URL',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN'
    ])
    expect(env.AWS_ACCESS_KEY_ID).toBe('ASIAROLE')
  })

  it('gives npm no AWS credentials at all', () => {
    const env = childEnv({ noAwsCredentials: true }, base)
    expect(
      Object.keys(env)
        .filter(key => key.startsWith('AWS_'))
        .sort()
    ).toEqual(['AWS_ENDPOINT_URL', 'AWS_REGION'])
  })

  it('drops base variables whose value is undefined', () => {
    const env = childEnv({}, { KEEP: 'yes', GONE: undefined, EMPTY: '' })
    expect(env.KEEP).toBe('yes')
    expect(env.EMPTY).toBe('')
    expect(Object.keys(env)).not.toContain('GONE')
  })
})

describe('serverlessEnv', () => {
  it('turns off prompts, telemetry and notifications, keeping a CI value it has', () => {
    expect(serverlessEnv({}, { PATH: '/bin' })).toMatchObject({
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_INTERACTIVE_SETUP_DISABLE: '1',
      CI: 'true'
    })
    expect(serverlessEnv({}, { CI: '1' }).CI).toBe('1')
  })

  it('lets the given credentials override the environment', () => {
    const env = serverlessEnv(
      { extra: { AWS_ACCESS_KEY_ID: 'ASIAFROMROLE' } },
      { AWS_ACCESS_KEY_ID: 'AKIAFROMENV' }
    )
    expect(env.AWS_ACCESS_KEY_ID).toBe('ASIAFROMROLE')
  })
})
