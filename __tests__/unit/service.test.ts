import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { UserError } from '../../src/errors.js'
import { readService, type ServiceContext } from '../../src/service.js'

function serviceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-service-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

const yml = (text: string) => serviceDir({ 'serverless.yml': text })
const read = (dir: string, context: Partial<ServiceContext> = {}) => readService(dir, { env: {}, ...context })

const BASE = 'service: api\nprovider:\n  name: aws\n  runtime: python3.11\n'

describe('readService', () => {
  it('reads literal fields', () => {
    const dir = yml(
      "service: orders\nframeworkVersion: '3'\nprovider:\n  name: aws\n  runtime: python3.12\n  stage: prod\n  region: eu-central-1\n"
    )
    expect(read(dir)).toEqual({
      dir,
      configFile: path.join(dir, 'serverless.yml'),
      name: 'orders',
      frameworkVersion: '3',
      runtime: 'python3.12',
      pythonVersion: '3.12',
      stage: 'prod',
      region: 'eu-central-1',
      stackName: 'orders-prod',
      plugins: []
    })
  })

  it("defaults to Serverless's dev stage and the environment's region", () => {
    const service = read(yml(BASE), { env: { AWS_DEFAULT_REGION: 'ap-south-1' } })
    expect(service.stage).toBe('dev')
    expect(service.region).toBe('ap-south-1')
    expect(service.stackName).toBe('api-dev')
  })

  it('lets the stage and region inputs win over provider values', () => {
    const dir = yml(`${BASE}  stage: prod\n  region: eu-west-1\n`)
    const service = read(dir, { stage: 'qa', region: 'us-west-2' })
    expect([service.stage, service.region, service.stackName]).toEqual(['qa', 'us-west-2', 'api-qa'])
  })

  it("resolves ${opt:stage, 'dev'} from the input, else its fallback", () => {
    const dir = yml(`${BASE}  stage: \${opt:stage, 'dev'}\n`)
    expect(read(dir, { stage: 'prod' }).stage).toBe('prod')
    expect(read(dir).stage).toBe('dev')
  })

  it("resolves ${env:REGION, 'eu-west-1'} with the variable set and unset", () => {
    const dir = yml(`${BASE}  region: \${env:REGION, 'eu-west-1'}\n`)
    expect(read(dir, { env: { REGION: 'ca-central-1' } }).region).toBe('ca-central-1')
    expect(read(dir, { env: {} }).region).toBe('eu-west-1')
  })

  it('follows ${self:...} references, and ${sls:stage} in stackName', () => {
    const dir = yml(
      "service: ${self:custom.name}\ncustom:\n  name: billing\n  stage: ${opt:stage, 'staging'}\nprovider:\n  name: aws\n  runtime: python3.11\n  stage: ${self:custom.stage}\n  stackName: ${self:service}-${sls:stage}-stack\n"
    )
    const service = read(dir)
    expect(service.name).toBe('billing')
    expect(service.stage).toBe('staging')
    expect(service.stackName).toBe('billing-staging-stack')
    expect(read(dir, { stage: 'prod' }).stackName).toBe('billing-prod-stack')
  })

  it('uses a literal provider.stackName', () => {
    expect(read(yml(`${BASE}  stackName: my-custom-stack\n`)).stackName).toBe('my-custom-stack')
  })

  it('falls back to AWS_REGION, then us-east-1, when the region cannot be resolved', () => {
    const dir = yml(`${BASE}  region: \${ssm:/config/region}\n`)
    expect(read(dir, { env: { AWS_REGION: 'eu-north-1', AWS_DEFAULT_REGION: 'sa-east-1' } }).region).toBe(
      'eu-north-1'
    )
    expect(read(dir, { env: {} }).region).toBe('us-east-1')
  })

  it('parses CloudFormation short-form tags in resources', () => {
    const dir = yml(
      `${BASE}resources:\n  Resources:\n    Bucket:\n      Type: AWS::S3::Bucket\n  Outputs:\n    BucketName:\n      Value: !Ref Bucket\n    BucketArn:\n      Value: !GetAtt Bucket.Arn\n    Url:\n      Value: !Sub 'https://\${Bucket}.s3.amazonaws.com'\n    Joined:\n      Value: !Join ['-', [a, !Ref Bucket]]\n`
    )
    expect(read(dir).name).toBe('api')
  })

  it('keeps a tagged value in its long form, so it is never read as a plain string', () => {
    const dir = yml(
      "service: ${self:custom.name, 'fallback'}\ncustom:\n  name: !Ref ServiceName\nprovider:\n  name: aws\n  runtime: python3.11\n"
    )
    expect(read(dir).name).toBe('fallback')
  })

  it('lists npm plugins, from a list or from plugins.modules, without local ones', () => {
    const list = yml(
      `${BASE}plugins:\n  - serverless-python-requirements\n  - ./plugin\n  - serverless-offline\n`
    )
    expect(read(list).plugins).toEqual(['serverless-python-requirements', 'serverless-offline'])
    const modules = yml(
      `${BASE}plugins:\n  localPath: ./plugins\n  modules:\n    - serverless-localstack\n    - ./plugin\n`
    )
    expect(read(modules).plugins).toEqual(['serverless-localstack'])
  })

  it('takes the runtime from the functions when provider.runtime is absent and they agree', () => {
    const dir = yml(
      'service: api\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: a.h\n    runtime: python3.13\n  b:\n    handler: b.h\n    runtime: python3.13\n'
    )
    expect(read(dir)).toMatchObject({ runtime: 'python3.13', pythonVersion: '3.13' })
  })

  it('finds serverless.yaml and serverless.json', () => {
    const yaml = serviceDir({ 'serverless.yaml': BASE })
    expect(read(yaml).configFile).toBe(path.join(yaml, 'serverless.yaml'))
    const json = serviceDir({
      'serverless.json': JSON.stringify({
        service: 'jsonapi',
        provider: { name: 'aws', runtime: 'python3.10' }
      })
    })
    expect(read(json)).toMatchObject({ name: 'jsonapi', pythonVersion: '3.10' })
  })

  describe('errors', () => {
    const failure = (dir: string): string => {
      try {
        read(dir)
      } catch (error) {
        expect(error).toBeInstanceOf(UserError)
        return (error as Error).message
      }
      throw new Error('readService did not fail')
    }

    it('names a missing folder', () => {
      const missing = path.join(os.tmpdir(), 'no-such-service-folder-unit')
      expect(failure(missing)).toContain(`Input 'working-directory' is '${missing}': no such folder`)
    })

    it('names a folder without serverless.yml', () => {
      const dir = serviceDir({ 'main.py': '' })
      mkdirSync(path.join(dir, 'sub'))
      expect(failure(dir)).toMatch(/it has no serverless\.yml\. Set working-directory/)
    })

    it('rejects a runtime that is not Python', () => {
      expect(failure(yml(BASE.replace('python3.11', 'nodejs20.x')))).toMatch(
        /provider\.runtime 'nodejs20\.x': this action deploys Python services/
      )
    })

    it('reports YAML it cannot read', () => {
      expect(failure(yml('service: api\nprovider: [unclosed\n'))).toMatch(
        /^serverless\.yml could not be read: .+Fix the syntax/
      )
    })

    it('rejects a file that is not a mapping', () => {
      expect(failure(yml('- just\n- a list\n'))).toMatch(/serverless\.yml does not describe a service/)
    })

    it('rejects a provider other than aws', () => {
      expect(failure(yml(BASE.replace('name: aws', 'name: google')))).toMatch(
        /provider\.name 'google': this action deploys to AWS/
      )
    })
  })
})
