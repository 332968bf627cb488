import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readPackagedService, routes, type HttpRoute } from '../../src/packaged.js'
import { calledWith } from '../../src/verify.js'

const dirs: string[] = []
afterAll(() => dirs.forEach(dir => rmSync(dir, { recursive: true, force: true })))

function serviceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-service-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    writeFileSync(path.join(dir, name), text)
  }
  return dir
}

describe('readPackagedService', () => {
  const state = {
    service: {
      service: 'weather',
      provider: {
        name: 'aws',
        runtime: 'python3.11',
        stage: 'dev',
        region: 'eu-west-2',
        stackName: 'team-http-api-dev'
      },
      functions: {
        api: { handler: 'main.handler', name: 'weather-dev-api' },
        worker: { handler: 'w.h', runtime: 'python3.11' }
      }
    },
    package: { artifactDirectoryName: 'serverless/weather/dev/1-2026', artifact: 'weather.zip' }
  }

  it('reads the identity and functions Serverless saved', () => {
    const dir = serviceDir({
      '.serverless/serverless-state.json': JSON.stringify(state),
      '.serverless/weather.zip': ''
    })
    expect(readPackagedService(dir)).toEqual({
      service: 'weather',
      stage: 'dev',
      region: 'eu-west-2',
      stackName: 'team-http-api-dev',
      runtime: 'python3.11',
      functions: [
        expect.objectContaining({
          key: 'api',
          name: 'weather-dev-api',
          runtime: 'python3.11',
          handler: 'main.handler'
        }),
        expect.objectContaining({
          key: 'worker',
          name: 'weather-dev-worker',
          runtime: 'python3.11',
          handler: 'w.h'
        })
      ],
      artifacts: ['weather.zip']
    })
  })

  it('ignores a state file an earlier run left', () => {
    const dir = serviceDir({ '.serverless/serverless-state.json': JSON.stringify(state) })
    const old = new Date(Date.now() - 3600_000)
    utimesSync(path.join(dir, '.serverless', 'serverless-state.json'), old, old)
    expect(readPackagedService(dir, Date.now() - 60_000)).toBeUndefined()
    expect(readPackagedService(serviceDir({}))).toBeUndefined()
  })
})

describe('the functions as the artifact checks need them', () => {
  it('gives each function its zip, its layers, its environment and its HTTP triggers', () => {
    const dir = serviceDir({
      '.serverless/serverless-state.json': JSON.stringify({
        service: {
          service: 'shop',
          provider: {
            stage: 'prod',
            region: 'eu-west-1',
            runtime: 'python3.12',
            architecture: 'arm64',
            environment: { STAGE: 'prod', TABLE: { Ref: 'Table' } },
            memorySize: 512,
            timeout: 29
          },
          layers: { pythonRequirements: { package: { artifact: '.serverless/pythonRequirements.zip' } } },
          functions: {
            api: {
              handler: 'app.handler',
              package: { artifact: '.serverless/api.zip' },
              layers: [{ Ref: 'PythonRequirementsLambdaLayer' }, 'arn:aws:lambda:eu-west-1:1:layer:otel:3'],
              environment: { LOG_LEVEL: 'debug', STAGE: 'override' },
              events: [
                { httpApi: '*' },
                { http: { path: 'health', method: 'get' } },
                { alb: { listenerArn: 'x' } },
                { schedule: 'rate(1 hour)' }
              ],
              url: true
            },
            worker: { handler: 'jobs.run', events: [{ sqs: 'arn' }], memorySize: 1024 },
            image: { image: 'repo@sha256:1' }
          }
        },
        package: { artifact: 'shop.zip' }
      }),
      '.serverless/api.zip': '',
      '.serverless/shop.zip': ''
    })
    const out = path.join(dir, '.serverless')
    const [api, worker, image] = readPackagedService(dir)!.functions
    expect(api).toEqual({
      key: 'api',
      name: 'shop-prod-api',
      runtime: 'python3.12',
      handler: 'app.handler',
      architecture: 'arm64',
      artifact: path.join(out, 'api.zip'),
      layers: [path.join(out, 'pythonRequirements.zip')],
      externalLayers: ['arn:aws:lambda:eu-west-1:1:layer:otel:3'],
      environment: { STAGE: 'override', TABLE: '{"Ref":"Table"}', LOG_LEVEL: 'debug' },
      http: ['httpApi', 'http', 'alb', 'url'],
      routes: [
        { kind: 'httpApi', method: 'ANY' },
        { kind: 'http', method: 'GET', path: 'health' },
        { kind: 'alb', method: 'ANY', path: undefined },
        { kind: 'url', method: 'ANY' }
      ],
      memorySize: 512,
      timeout: 29
    })
    expect(worker).toMatchObject({
      artifact: path.join(out, 'shop.zip'),
      layers: [],
      http: [],
      memorySize: 1024
    })
    expect(image.artifact).toBeUndefined()
  })
})

describe('which triggers route a request to a function', () => {
  const route = (kind: HttpRoute['kind'], method: string, path?: string): HttpRoute => ({
    kind,
    method,
    path
  })

  it.each([
    [route('httpApi', 'GET', '/health'), '/health', true],
    [route('httpApi', 'GET', '/health'), '/health/', true],
    [route('httpApi', 'POST', '/health'), '/health', false],
    [route('httpApi', 'ANY', '/orders/{id}'), '/orders/7', true],
    [route('httpApi', 'ANY', '/orders/{id}'), '/orders/7/items', false],
    [route('httpApi', 'ANY', '/{proxy+}'), '/health', true],
    [route('httpApi', 'GET', '/{proxy+}'), '/', false],
    [route('http', 'GET', 'orders'), '/orders', true],
    [route('http', 'ANY', 'customers/{proxy+}'), '/customers/1/orders', true],
    [route('http', 'GET', 'orders'), '/health', false],
    [route('alb', 'ANY', '/api/*'), '/api/health', true],
    [route('alb', 'ANY', '/api/*'), '/health', false],
    [route('url', 'ANY'), '/anything', true],
    [route('httpApi', 'GET', '/a.b'), '/aXb', false]
  ])('%j takes GET %s: %s', (r, requestPath, expected) => {
    expect(routes(r, 'GET', requestPath)).toBe(expected)
  })

  it('calls a function only through the triggers that route the path to it; the others are imported only', () => {
    const orders = {
      http: ['http' as const],
      routes: [route('http', 'GET', 'orders'), route('http', 'GET', 'orders/{id}')]
    }
    const health = {
      http: ['http' as const, 'url' as const],
      routes: [route('http', 'GET', 'health'), route('url', 'ANY')]
    }
    expect(calledWith(orders, '/health')).toEqual([])
    expect(calledWith(orders, '/orders/3')).toEqual(['http'])
    expect(calledWith(health, '/health')).toEqual(['http', 'url'])
  })
})

describe('a state file Serverless wrote decycled', () => {
  it('follows a function’s layers and environment to where the state keeps them ($ref)', () => {
    const layersAt =
      '$["service"]["provider"]["compiledCloudFormationTemplate"]["Resources"]["QuoteLambdaFunction"]["Properties"]["Layers"]'
    const dir = serviceDir({
      '.serverless/serverless-state.json': JSON.stringify({
        service: {
          service: 'pricing-engine',
          provider: {
            stage: 'prod',
            region: 'eu-central-1',
            runtime: 'python3.11',
            environment: { TIER: 'gold' },
            compiledCloudFormationTemplate: {
              Resources: {
                QuoteLambdaFunction: { Properties: { Layers: [{ Ref: 'PythonRequirementsLambdaLayer' }] } }
              }
            }
          },
          layers: { pythonRequirements: { artifact: '.serverless/pythonRequirements.zip', package: {} } },
          functions: {
            quote: {
              handler: 'pricing.handler',
              layers: { $ref: layersAt },
              environment: { $ref: '$["service"]["provider"]["environment"]' }
            }
          }
        },
        package: { artifact: 'pricing-engine.zip' }
      }),
      '.serverless/pricing-engine.zip': '',
      '.serverless/pythonRequirements.zip': ''
    })
    const [quote] = readPackagedService(dir)!.functions
    expect(quote.layers).toEqual([path.join(dir, '.serverless', 'pythonRequirements.zip')])
    expect(quote.environment).toEqual({ TIER: 'gold' })
  })
})
