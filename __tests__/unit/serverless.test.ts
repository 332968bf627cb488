import type { Exec } from '../../src/exec.js'
import { forwardedArgs, printConfig, runServerless, serverlessArgs } from '../../src/serverless.js'

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

describe('runServerless', () => {
  it('runs the entry with the given Node, turns off prompts, telemetry and notifications, and keeps a CI value it has', async () => {
    const calls: { tool: string; args: string[]; env: Record<string, string> }[] = []
    const exec: Exec = async (tool, args, options) => {
      calls.push({ tool, args, env: options.env })
      options.onOutput?.('Error:\nboom\n', 'stdout')
      return { exitCode: 1, stdout: 'Error:\nboom\n', stderr: '' }
    }
    const run = { entry: '/sls/bin/serverless.js', command: ['info'], args: ['--verbose'], cwd: '/svc' }
    const result = await runServerless(exec, '/node24/bin/node', {
      ...run,
      stage: 'prod',
      env: { PATH: '/bin' }
    })
    expect(result).toMatchObject({ exitCode: 1, output: 'Error:\nboom\n' })
    expect(calls[0].tool).toBe('/node24/bin/node')
    expect(calls[0].args).toEqual(['/sls/bin/serverless.js', 'info', '--stage', 'prod', '--verbose'])
    expect(calls[0].env).toMatchObject({
      PATH: '/bin',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_INTERACTIVE_SETUP_DISABLE: '1',
      CI: 'true'
    })
    await runServerless(exec, '/node', { ...run, env: { CI: '1' } })
    expect(calls[1].env.CI).toBe('1')
  })

  it('keeps only the tail of a long output for diagnosis', async () => {
    const exec: Exec = async (_tool, _args, options) => {
      for (let i = 0; i < 300; i++) options.onOutput?.('x'.repeat(1024), 'stderr')
      options.onOutput?.('Error:\nthe end\n', 'stderr')
      return { exitCode: 1, stdout: '', stderr: '' }
    }
    const result = await runServerless(exec, '/node', {
      entry: 'sls.js',
      command: ['package'],
      args: [],
      cwd: '/svc',
      env: {}
    })
    expect(result.output.length).toBe(256 * 1024)
    expect(result.output.endsWith('Error:\nthe end\n')).toBe(true)
  })
})

describe('printConfig', () => {
  it('reads the JSON document after whatever a plugin printed first', async () => {
    const exec: Exec = async () => ({
      exitCode: 0,
      stdout: 'plugin says hi\n{"service":"api","provider":{"stage":"dev"}}\n',
      stderr: ''
    })
    const result = await printConfig(exec, '/node', { entry: 'sls.js', args: [], cwd: '/svc', env: {} })
    expect(result.config).toEqual({ service: 'api', provider: { stage: 'dev' } })
  })

  it('fails when serverless print gave no JSON', async () => {
    const exec: Exec = async () => ({ exitCode: 0, stdout: 'no json here', stderr: '' })
    const result = await printConfig(exec, '/node', { entry: 'sls.js', args: [], cwd: '/svc', env: {} })
    expect(result.exitCode).toBe(1)
    expect(result.config).toBeUndefined()
    expect(result.output).toMatch(/serverless print gave no JSON document$/)
  })
})
