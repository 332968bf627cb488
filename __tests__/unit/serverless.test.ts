import path from 'node:path'
import { serverlessArgs, serverlessEnv } from '../../src/serverless.js'

describe('serverlessArgs', () => {
  it('puts the command, stage and region first, then the extra args as given', () => {
    expect(
      serverlessArgs({
        command: 'deploy',
        stage: 'prod',
        region: 'eu-west-1',
        args: ['--verbose', '--param=a b']
      })
    ).toEqual(['deploy', '--stage', 'prod', '--region', 'eu-west-1', '--verbose', '--param=a b'])
    expect(serverlessArgs({ command: 'info', stage: 'dev', region: 'us-east-1', args: [] })).toEqual([
      'info',
      '--stage',
      'dev',
      '--region',
      'us-east-1'
    ])
  })
})

describe('serverlessEnv', () => {
  const nodeDir = path.dirname(process.execPath)

  it("puts the action's own Node first on PATH and turns off prompts, telemetry and notifications", () => {
    const env = serverlessEnv({}, { PATH: '/usr/bin:/bin', HOME: '/home/runner' })
    expect(env.PATH).toBe(`${nodeDir}${path.delimiter}/usr/bin:/bin`)
    expect(env).toMatchObject({
      HOME: '/home/runner',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_INTERACTIVE_SETUP_DISABLE: '1',
      CI: 'true'
    })
  })

  it('is just the Node folder when the base has no PATH, and keeps a CI value it has', () => {
    const env = serverlessEnv({}, { CI: '1' })
    expect(env.PATH).toBe(nodeDir)
    expect(env.CI).toBe('1')
  })

  it('lets the extra variables override the base and the defaults', () => {
    const env = serverlessEnv(
      { AWS_ACCESS_KEY_ID: 'ASIAFROMROLE', SLS_NOTIFICATIONS_MODE: 'on' },
      { AWS_ACCESS_KEY_ID: 'AKIAFROMENV', PATH: '/bin' }
    )
    expect(env.AWS_ACCESS_KEY_ID).toBe('ASIAFROMROLE')
    expect(env.SLS_NOTIFICATIONS_MODE).toBe('on')
  })

  it('drops base variables whose value is undefined', () => {
    const env = serverlessEnv({}, { KEEP: 'yes', GONE: undefined, EMPTY: '' })
    expect(env.KEEP).toBe('yes')
    expect(env.EMPTY).toBe('')
    expect(Object.keys(env)).not.toContain('GONE')
  })

  it('reads process.env by default', () => {
    const env = serverlessEnv({})
    expect(env.PATH.split(path.delimiter)[0]).toBe(nodeDir)
    expect(env.HOME).toBe(process.env.HOME)
  })
})
