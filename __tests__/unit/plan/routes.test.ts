import { diffRoutes, routesOf } from '../../../src/plan/routes.js'
import { resourcesOf } from '../../../src/plan/template.js'
import { shopTemplate } from '../../support/plan-input.js'

describe('routesOf, on templates `serverless package` wrote', () => {
  it('reads HTTP API route keys, REST methods on their full path, and function URLs', () => {
    const routes = routesOf(resourcesOf(shopTemplate('before')))
    expect(routes.map(route => `${route.kind} ${route.key} ${route.auth}`).sort()).toEqual([
      'function-url shop-dev-legacy NONE',
      'http-api GET /orders NONE',
      'http-api POST /orders NONE',
      'rest-api DELETE /admin/users/{id} NONE',
      'rest-api GET /admin/users/{id} NONE'
    ])
    expect(routes.find(route => route.kind === 'http-api')?.api).toBe('HttpApi')
    expect(routes.find(route => route.kind === 'rest-api')?.api).toBe('ApiGatewayRestApi')
  })

  it('diffs them: added, removed, and the auth of the same route changed', () => {
    const diff = diffRoutes(
      routesOf(resourcesOf(shopTemplate('before'))),
      routesOf(resourcesOf(shopTemplate('after')))
    )
    expect(diff.added.map(route => route.key)).toEqual(['GET /admin/reports', 'GET /orders/{id}'])
    expect(diff.removed.map(route => route.key)).toEqual(['POST /orders', 'shop-dev-legacy'])
    expect(diff.changed).toEqual([])
  })
})

describe('routesOf, the less common shapes', () => {
  const rest = (method: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    resourcesOf({
      Resources: {
        Root: {
          Type: 'AWS::ApiGateway::Method',
          Properties: { HttpMethod: 'ANY', ResourceId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] } }
        },
        Users: {
          Type: 'AWS::ApiGateway::Resource',
          Properties: { ParentId: { 'Fn::GetAtt': 'Api.RootResourceId' }, PathPart: 'users' }
        },
        Proxy: {
          Type: 'AWS::ApiGateway::Resource',
          Properties: { ParentId: { Ref: 'Users' }, PathPart: '{proxy+}' }
        },
        Method: { Type: 'AWS::ApiGateway::Method', Properties: method },
        ...extra
      }
    })

  it('the root path, a GetAtt in its string form, and an API this template does not define', () => {
    const routes = routesOf(
      rest({
        HttpMethod: 'POST',
        ResourceId: { Ref: 'Proxy' },
        AuthorizationType: 'AWS_IAM',
        ApiKeyRequired: true
      })
    )
    expect(routes.map(route => `${route.key} ${route.auth}`).sort()).toEqual([
      'ANY / NONE',
      'POST /users/{proxy+} AWS_IAM + API key'
    ])
    // An existing API's resource (restApiRootResourceId, restApiResources): its ID, not a path.
    expect(routesOf(rest({ HttpMethod: 'GET', ResourceId: 'a1b2c3' })).map(route => route.key)).toContain(
      'GET /…'
    )
  })

  it('a chain that loops does not hang', () => {
    const loop = resourcesOf({
      Resources: {
        A: { Type: 'AWS::ApiGateway::Resource', Properties: { ParentId: { Ref: 'B' }, PathPart: 'a' } },
        B: { Type: 'AWS::ApiGateway::Resource', Properties: { ParentId: { Ref: 'A' }, PathPart: 'b' } },
        M: { Type: 'AWS::ApiGateway::Method', Properties: { HttpMethod: 'GET', ResourceId: { Ref: 'A' } } }
      }
    })
    expect(routesOf(loop)[0].key).toMatch(/^GET (\/…)?(\/[ab])+$/)
  })

  it('an HTTP API route that gains an authorizer is a changed route, not a new one', () => {
    const route = (auth?: string) =>
      routesOf(
        resourcesOf({
          Resources: {
            R: {
              Type: 'AWS::ApiGatewayV2::Route',
              Properties: {
                ApiId: { Ref: 'HttpApi' },
                RouteKey: '$default',
                ...(auth ? { AuthorizationType: auth } : {})
              }
            }
          }
        })
      )
    const diff = diffRoutes(route(), route('JWT'))
    expect(diff.added).toEqual([])
    expect(diff.removed).toEqual([])
    expect(diff.changed.map(({ before, after }) => `${after.key}: ${before.auth} -> ${after.auth}`)).toEqual([
      '$default: NONE -> JWT'
    ])
  })

  it('a function URL with a qualifier, and one whose function has no literal name', () => {
    const routes = routesOf(
      resourcesOf({
        Resources: {
          Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
          Url: {
            Type: 'AWS::Lambda::Url',
            Properties: { AuthType: 'AWS_IAM', TargetFunctionArn: { Ref: 'Fn' }, Qualifier: 'live' }
          }
        }
      })
    )
    expect(routes).toEqual([{ kind: 'function-url', key: 'Fn:live', auth: 'AWS_IAM', logicalId: 'Url' }])
  })
})
