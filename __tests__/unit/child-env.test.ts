import { childEnv, referencedVariables } from '../../src/child-env.js'

/** What the runner and a workflow put in the action's environment: tokens, inputs, files, every credential source. */
const base = {
  PATH: '/usr/bin',
  HOME: '/home/runner',
  LANG: 'C.UTF-8',
  CI: 'true',
  HTTPS_PROXY: 'http://proxy:3128',
  RUNNER_TEMP: '/home/runner/work/_temp',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
  ACTIONS_RUNTIME_TOKEN: 'runtime-token',
  ACTIONS_RESULTS_URL: 'https://results',
  'INPUT_GITHUB-TOKEN': 'ghs_secret',
  INPUT_COMMAND: 'deploy',
  STATE_spd: 'state',
  GITHUB_TOKEN: 'ghs_workflow',
  GH_TOKEN: 'ghs_cli',
  GITHUB_ENV: '/files/env',
  GITHUB_PATH: '/files/path',
  GITHUB_OUTPUT: '/files/output',
  GITHUB_STATE: '/files/state',
  GITHUB_STEP_SUMMARY: '/files/summary',
  GITHUB_SHA: 'abc123',
  GITHUB_REPOSITORY: 'octo-org/api',
  AWS_ACCESS_KEY_ID: 'AKIAENV',
  AWS_SECRET_ACCESS_KEY: 'env-secret',
  AWS_SESSION_TOKEN: 'env-session',
  AWS_PROFILE: 'other-account',
  AWS_DEFAULT_PROFILE: 'default-other',
  AWS_PROD_PROFILE: 'prod-profile',
  AWS_PROD_ACCESS_KEY_ID: 'AKIAPROD',
  AWS_PROD_SECRET_ACCESS_KEY: 'prod-secret',
  AWS_DEV_SESSION_TOKEN: 'dev-token',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token',
  AWS_ROLE_ARN: 'arn:aws:iam::1:role/other',
  AWS_SHARED_CREDENTIALS_FILE: '/home/runner/.aws/credentials',
  AWS_CONFIG_FILE: '/home/runner/.aws/config',
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL: 'http://localhost:5000',
  NPM_TOKEN: 'npm-secret',
  npm_config_cache: '/home/runner/.npm',
  PIP_INDEX_URL: 'https://pypi.internal/simple',
  MY_APP_SETTING: 'from the workflow'
}

const keys = (env: Record<string, string>, pattern: RegExp) =>
  Object.keys(env)
    .filter(key => pattern.test(key))
    .sort()

const SECRETS =
  /^(ACTIONS_|INPUT_|STATE_|GITHUB_TOKEN$|GH_TOKEN$|GITHUB_(ENV|PATH|OUTPUT|STATE|STEP_SUMMARY)$)/

describe('childEnv', () => {
  it.each(['package-manager', 'python', 'python-setup', 'serverless'] as const)(
    "gives %s none of the runner's tokens, inputs, state or command files",
    kind => {
      expect(keys(childEnv(kind, base), SECRETS)).toEqual([])
    }
  )

  it.each(['package-manager', 'python', 'python-setup'] as const)(
    'gives %s no AWS credentials in any form, and nothing it was not listed for',
    kind => {
      const env = childEnv(kind, base)
      expect(keys(env, /^AWS_/)).toEqual([])
      expect(env.MY_APP_SETTING).toBeUndefined()
      expect(env.GITHUB_SHA).toBeUndefined()
      expect(env).toMatchObject({
        PATH: '/usr/bin',
        HOME: '/home/runner',
        LANG: 'C.UTF-8',
        HTTPS_PROXY: 'http://proxy:3128'
      })
    }
  )

  it("gives each kind its own tools' settings", () => {
    expect(childEnv('package-manager', base).npm_config_cache).toBe('/home/runner/.npm')
    expect(childEnv('package-manager', base).PIP_INDEX_URL).toBeUndefined()
    expect(childEnv('python', base).PIP_INDEX_URL).toBe('https://pypi.internal/simple')
    expect(childEnv('python', base).npm_config_cache).toBeUndefined()
  })

  it('gives a package manager a registry token only when its configuration names it', () => {
    expect(childEnv('package-manager', base).NPM_TOKEN).toBeUndefined()
    expect(childEnv('package-manager', base, { referenced: ['NPM_TOKEN'] }).NPM_TOKEN).toBe('npm-secret')
  })

  it("gives serverless the workflow's variables, which serverless.yml may read with ${env:}", () => {
    const env = childEnv('serverless', base)
    expect(env).toMatchObject({
      MY_APP_SETTING: 'from the workflow',
      GITHUB_SHA: 'abc123',
      AWS_PROFILE: 'other-account'
    })
  })

  it('leaves serverless only the run’s credentials with role-to-assume, and no instance role', () => {
    const env = childEnv('serverless', base, {
      credentials: {
        AWS_ACCESS_KEY_ID: 'ASIAROLE',
        AWS_SECRET_ACCESS_KEY: 'role',
        AWS_SESSION_TOKEN: 'session'
      },
      exclusive: true
    })
    expect(keys(env, /^AWS_/)).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_EC2_METADATA_DISABLED',
      'AWS_ENDPOINT_URL',
      'AWS_REGION',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN'
    ])
    expect(env).toMatchObject({ AWS_ACCESS_KEY_ID: 'ASIAROLE', AWS_EC2_METADATA_DISABLED: 'true' })
  })

  it('puts the given folders first on PATH, in order', () => {
    expect(childEnv('python', base, { pathFirst: ['/shims', '/node-bin'] }).PATH).toBe(
      '/shims:/node-bin:/usr/bin'
    )
    expect(childEnv('python', { HOME: '/h' }, { pathFirst: ['/shims'] }).PATH).toBe('/shims')
  })

  it('drops variables whose value is undefined, keeps empty ones, and adds extras last', () => {
    const env = childEnv(
      'serverless',
      { KEEP: 'yes', GONE: undefined, EMPTY: '' },
      { extra: { KEEP: 'over' } }
    )
    expect(env).toEqual({ KEEP: 'over', EMPTY: '' })
  })
})

describe('referencedVariables', () => {
  it('finds the variables an .npmrc or .yarnrc.yml names, but never a credential or a runner secret', () => {
    expect(
      referencedVariables([
        '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n@corp:registry=https://npm.corp/${REGISTRY_PATH:-x}\n',
        'npmAuthToken: "${NODE_AUTH_TOKEN}"\nleak: ${AWS_SECRET_ACCESS_KEY} ${GITHUB_TOKEN} ${ACTIONS_RUNTIME_TOKEN}'
      ]).sort()
    ).toEqual(['NODE_AUTH_TOKEN', 'NPM_TOKEN', 'REGISTRY_PATH'])
  })
})
