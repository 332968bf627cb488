import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { UserError } from '../../src/errors.js'
import { identityOf, literalIdentity, readBuild, readServiceConfig } from '../../src/service.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function serviceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-service-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    writeFileSync(path.join(dir, name), text)
  }
  return dir
}

const yml = (text: string) => serviceDir({ 'serverless.yml': text })
const read = (dir: string) => readServiceConfig(dir, '/')
const BASE = 'service: api\nprovider:\n  name: aws\n  runtime: python3.11\n'

function failure(work: () => unknown): UserError {
  try {
    work()
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return error as UserError
  }
  throw new Error('expected a UserError')
}

describe('readServiceConfig', () => {
  it('reads the configuration as written, with literal frameworkVersion and plugins', () => {
    const dir = yml(
      `${BASE}frameworkVersion: '3'\nplugins:\n  - serverless-python-requirements\n  - ./local\n`
    )
    const config = read(dir)
    expect(config).toMatchObject({
      dir,
      configFile: path.join(dir, 'serverless.yml'),
      frameworkVersion: '3',
      plugins: ['serverless-python-requirements']
    })
    expect(config.doc?.service).toBe('api')
  })

  it('lists plugins from plugins.modules too, and leaves variables out', () => {
    const dir = yml(
      `${BASE}plugins:\n  localPath: ./plugins\n  modules:\n    - serverless-localstack\n    - \${self:custom.plugin}\n`
    )
    expect(read(dir).plugins).toEqual(['serverless-localstack'])
  })

  it('finds serverless.yaml, .json, and a .js or .ts configuration it leaves to Serverless', () => {
    expect(read(serviceDir({ 'serverless.yaml': BASE })).configFile).toMatch(/serverless\.yaml$/)
    const json = read(
      serviceDir({
        'serverless.json': JSON.stringify({ service: 'j', provider: { name: 'aws', runtime: 'python3.10' } })
      })
    )
    expect(json.doc?.service).toBe('j')
    const ts = read(serviceDir({ 'serverless.ts': 'export default {}' }))
    expect(ts.configFile).toMatch(/serverless\.ts$/)
    expect(ts.doc).toBeUndefined()
  })

  it('parses CloudFormation short-form tags, keeping their long form', () => {
    const dir = yml(
      `${BASE}resources:\n  Outputs:\n    BucketArn:\n      Value: !GetAtt Bucket.Arn\n    Url:\n      Value: !Sub 'https://\${Bucket}.s3.amazonaws.com'\n    Joined:\n      Value: !Join ['-', [a, !Ref Bucket]]\n`
    )
    const outputs = (read(dir).doc?.resources as { Outputs: Record<string, { Value: unknown }> }).Outputs
    expect(outputs.BucketArn.Value).toEqual({ 'Fn::GetAtt': ['Bucket', 'Arn'] })
    expect(outputs.Joined.Value).toEqual({ 'Fn::Join': ['-', ['a', { Ref: 'Bucket' }]] })
  })

  it('accepts a service name or runtime given through a variable: Serverless resolves those', () => {
    const dir = yml(
      'service: ${file(./config.yml):name}\nprovider:\n  name: aws\n  runtime: ${self:custom.runtime}\n'
    )
    expect(() => read(dir)).not.toThrow()
  })

  describe('errors', () => {
    it('names a missing folder', () => {
      const missing = path.join(os.tmpdir(), 'no-such-service-folder-unit')
      expect(failure(() => read(missing)).message).toContain(
        `Input 'working-directory' is '${missing}': no such folder`
      )
    })

    it('names a folder without serverless.yml, and suggests the one below it', () => {
      const dir = serviceDir({
        'README.md': '',
        'services/api/serverless.yml': BASE,
        'node_modules/x/serverless.yml': BASE
      })
      const error = failure(() => readServiceConfig('.', dir))
      expect(error.message).toMatch(/^Input 'working-directory' is '\.': .+ has no serverless\.yml/)
      expect(error.message).toContain('set working-directory: services/api.')
      expect(error.annotation.title).toBe('No serverless.yml')
    })

    it('rejects a runtime that is not Python, naming it', () => {
      expect(failure(() => read(yml(BASE.replace('python3.11', 'nodejs20.x')))).message).toMatch(
        /provider\.runtime nodejs20\.x: this action deploys Python services/
      )
    })

    it('rejects a service without any runtime (Serverless v3 would use nodejs16.x)', () => {
      expect(
        failure(() => read(yml('service: api\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: a.h\n')))
          .message
      ).toContain('has no provider.runtime, so Serverless v3 runs its functions on nodejs16.x')
    })

    it('reports YAML it cannot read with its file, line and column', () => {
      const error = failure(() => read(yml('service: api\nprovider:\n  name: aws\n  runtime: [unclosed\n')))
      expect(error.message).toMatch(
        /serverless\.yml is not valid YAML, at line \d+, column \d+: .+Fix the syntax/
      )
      expect(error.annotation).toMatchObject({
        title: 'serverless.yml is not YAML',
        startLine: expect.any(Number)
      })
      expect(error.annotation.file).toMatch(/serverless\.yml$/)
    })

    it('rejects a file that is not a mapping', () => {
      expect(failure(() => read(yml('- just\n- a list\n'))).message).toMatch(
        /serverless\.yml does not describe a service/
      )
    })

    it('rejects a service without service or provider', () => {
      expect(failure(() => read(yml('provider:\n  name: aws\n'))).message).toMatch(/has no service name/)
      expect(failure(() => read(yml('service: api\n'))).message).toMatch(/has no provider section/)
    })

    it('rejects a provider other than aws', () => {
      expect(failure(() => read(yml(BASE.replace('name: aws', 'name: google')))).message).toMatch(
        /provider\.name 'google': this action deploys to AWS/
      )
    })
  })
})

describe('readBuild', () => {
  const doc = (text: string) => read(yml(text)).doc as Record<string, unknown>

  it('reads what packaging needs from literal values', () => {
    expect(
      readBuild(
        doc(`${BASE}  architecture: arm64\nplugins: [serverless-python-requirements]\n`),
        'serverless.yml'
      )
    ).toEqual({
      runtime: 'python3.11',
      pythonVersion: '3.11',
      architecture: 'arm64',
      dockerizePip: false,
      ownPlatform: false,
      pythonRequirements: true,
      slim: false
    })
  })

  it('is undefined when any of those values is a variable: Serverless must resolve it', () => {
    expect(
      readBuild(doc('service: api\nprovider:\n  name: aws\n  runtime: ${self:custom.runtime}\n'), 'x')
    ).toBeUndefined()
    expect(readBuild(doc(`${BASE}  architecture: \${param:arch}\n`), 'x')).toBeUndefined()
    expect(readBuild(doc(`${BASE}functions: \${file(./functions.yml)}\n`), 'x')).toBeUndefined()
    expect(readBuild(doc(`${BASE}custom:\n  pythonRequirements: \${file(./req.yml)}\n`), 'x')).toBeUndefined()
    expect(
      readBuild(doc(`${BASE}custom:\n  pythonRequirements:\n    dockerizePip: \${self:custom.docker}\n`), 'x')
    ).toBeUndefined()
  })

  it('takes the runtime from the functions, and their architecture', () => {
    const build = readBuild(
      doc(
        'service: api\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: a.h\n    runtime: python3.13\n    architecture: arm64\n  img:\n    image: repo@sha256:1\n'
      ),
      'x'
    )
    expect(build).toMatchObject({ runtime: 'python3.13', architecture: 'arm64' })
  })

  it('reads dockerizePip and a --platform of the service own', () => {
    const build = readBuild(
      doc(
        `${BASE}custom:\n  pythonRequirements:\n    dockerizePip: true\n    pipCmdExtraArgs:\n      - '--platform manylinux2014_x86_64'\n`
      ),
      'x'
    )
    expect(build).toMatchObject({ dockerizePip: true, ownPlatform: true, pythonRequirements: false })
  })

  it('rejects several Python runtimes or architectures in one service', () => {
    expect(
      failure(() =>
        readBuild(
          doc(`${BASE}functions:\n  a:\n    handler: a.h\n  b:\n    handler: b.h\n    runtime: python3.12\n`),
          'serverless.yml'
        )
      ).message
    ).toMatch(/different Python runtimes \(python3\.11, python3\.12\)/)
    expect(
      failure(() =>
        readBuild(
          doc(`${BASE}functions:\n  a:\n    handler: a.h\n  b:\n    handler: b.h\n    architecture: arm64\n`),
          'serverless.yml'
        )
      ).message
    ).toMatch(/some functions on x86_64 and others on arm64/)
  })
})

describe('identityOf: Serverless’ own rules on the configuration it resolved', () => {
  it('takes the CLI options first, then provider values, then dev and us-east-1', () => {
    const resolved = { service: 'api', provider: { name: 'aws', stage: 'prod', region: 'eu-west-2' } }
    expect(identityOf(resolved, {})).toEqual({
      service: 'api',
      stage: 'prod',
      region: 'eu-west-2',
      stackName: 'api-prod'
    })
    expect(identityOf(resolved, { stage: 'qa', region: 'us-west-2' })).toEqual({
      service: 'api',
      stage: 'qa',
      region: 'us-west-2',
      stackName: 'api-qa'
    })
    expect(identityOf({ service: 'api', provider: {} }, {})).toMatchObject({
      stage: 'dev',
      region: 'us-east-1'
    })
  })

  it('uses provider.stackName when it is set', () => {
    const resolved = { service: 'weather', provider: { stage: 'dev', stackName: 'team-http-api-dev' } }
    expect(identityOf(resolved, {})?.stackName).toBe('team-http-api-dev')
  })
})

describe('literalIdentity: only what the file fixes', () => {
  it('knows literal values and Serverless’ defaults for absent ones', () => {
    const config = read(yml(BASE))
    expect(literalIdentity(config, {})).toEqual({
      service: 'api',
      stage: 'dev',
      region: 'us-east-1',
      stackName: 'api-dev'
    })
  })

  it('knows nothing of a value given through a variable, and never falls back to a default for it', () => {
    const config = read(
      yml(
        'service: ${file(./config.yml):name}\nprovider:\n  name: aws\n  runtime: python3.11\n  region: ${file(./config.yml):region}\n  stage: ${opt:stage, "dev"}\n'
      )
    )
    expect(literalIdentity(config, {})).toEqual({
      service: undefined,
      stage: undefined,
      region: undefined,
      stackName: undefined
    })
    expect(literalIdentity(config, { stage: 'prod', region: 'eu-west-1' })).toMatchObject({
      stage: 'prod',
      region: 'eu-west-1'
    })
  })

  it('does not build a stack name from a variable stackName', () => {
    const config = read(yml(`${BASE}  stackName: \${self:custom.prefix}-\${sls:stage}\n`))
    expect(literalIdentity(config, {}).stackName).toBeUndefined()
  })
})
