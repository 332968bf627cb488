import type { Route, RouteDiff } from './model.js'
import { reference, renderValue, type Resources } from './template.js'

/**
 * The HTTP entry points a template declares: HTTP API routes (AWS::ApiGatewayV2::Route RouteKey),
 * REST API methods (AWS::ApiGateway::Method on a path built from the AWS::ApiGateway::Resource
 * PathPart/ParentId chain) and function URLs, each with its authorization.
 */

/** A REST resource's path: `/users/{id}`; `…` stands for a resource of an API this template does not define. */
function restPath(value: unknown, resources: Resources, depth = 0): string {
  if (depth > 64) return '/…'
  const ref = reference(value)
  if (ref?.attribute === 'RootResourceId') return ''
  if (ref && !ref.attribute) {
    const resource = resources[ref.id]
    if (resource?.type === 'AWS::ApiGateway::Resource') {
      const parent = restPath(resource.properties.ParentId, resources, depth + 1)
      return `${parent}/${renderValue(resource.properties.PathPart)}`
    }
  }
  return '/…'
}

function apiOf(value: unknown): string | undefined {
  return value === undefined ? undefined : renderValue(value).replace(/^\$\{(.*)\}$/, '$1')
}

function functionOf(value: unknown, resources: Resources): string {
  const ref = reference(value)
  if (ref) {
    const name = resources[ref.id]?.properties.FunctionName
    return typeof name === 'string' ? name : ref.id
  }
  return renderValue(value)
}

export function routesOf(resources: Resources): Route[] {
  const routes: Route[] = []
  for (const [logicalId, resource] of Object.entries(resources)) {
    const p = resource.properties
    if (resource.type === 'AWS::ApiGatewayV2::Route') {
      routes.push({
        kind: 'http-api',
        key: renderValue(p.RouteKey),
        ...(p.ApiId !== undefined ? { api: apiOf(p.ApiId) } : {}),
        auth: p.AuthorizationType === undefined ? 'NONE' : renderValue(p.AuthorizationType),
        logicalId
      })
    } else if (resource.type === 'AWS::ApiGateway::Method') {
      const auth = p.AuthorizationType === undefined ? 'NONE' : renderValue(p.AuthorizationType)
      routes.push({
        kind: 'rest-api',
        key: `${renderValue(p.HttpMethod)} ${restPath(p.ResourceId, resources) || '/'}`,
        ...(p.RestApiId !== undefined ? { api: apiOf(p.RestApiId) } : {}),
        auth: p.ApiKeyRequired === true || p.ApiKeyRequired === 'true' ? `${auth} + API key` : auth,
        logicalId
      })
    } else if (resource.type === 'AWS::Lambda::Url') {
      routes.push({
        kind: 'function-url',
        key:
          functionOf(p.TargetFunctionArn, resources) +
          (p.Qualifier !== undefined ? `:${renderValue(p.Qualifier)}` : ''),
        auth: renderValue(p.AuthType),
        logicalId
      })
    }
  }
  return routes
}

function identity(route: Route): string {
  return `${route.kind} ${route.api ?? ''} ${route.key}`
}

function byKey(a: Route, b: Route): number {
  return a.key.localeCompare(b.key) || a.kind.localeCompare(b.kind)
}

export function diffRoutes(before: Route[], after: Route[]): RouteDiff {
  const old = new Map(before.map(route => [identity(route), route]))
  const current = new Map(after.map(route => [identity(route), route]))
  const diff: RouteDiff = { added: [], removed: [], changed: [] }
  for (const [id, route] of current) {
    const previous = old.get(id)
    if (!previous) diff.added.push(route)
    else if (previous.auth !== route.auth) diff.changed.push({ before: previous, after: route })
  }
  for (const [id, route] of old) if (!current.has(id)) diff.removed.push(route)
  diff.added.sort(byKey)
  diff.removed.sort(byKey)
  diff.changed.sort((a, b) => byKey(a.after, b.after))
  return diff
}
