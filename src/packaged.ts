import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { identityOf, type Doc, type Identity } from './service.js'

/**
 * What `serverless package` left in .serverless/serverless-state.json, as Serverless resolved it: the
 * service's identity, and for each function its handler, the zip it runs from and its layers' zips,
 * its environment and the events that call it. The artifact checks and the plan read it from here.
 */

/** An event that calls a function over HTTP, in the shape Lambda's check sends (py/lambda_check.py). */
export type HttpEventKind = 'httpApi' | 'http' | 'alb' | 'url'

export interface ServiceFunction {
  /** The key under `functions:`. */
  key: string
  /** The Lambda function name. */
  name: string
  runtime?: string
  handler?: string
  architecture?: string
  /** The zip it runs from, absolute; undefined for a container image. */
  artifact?: string
  /** Its layers' zips built with the service (external layers, by ARN, are not here). */
  layers: string[]
  /** Layers given by ARN: their content is not in this package. */
  externalLayers: string[]
  environment: Record<string, string>
  /** The HTTP triggers, each kind once. */
  http: HttpEventKind[]
  /** The requests each trigger routes to it. */
  routes: HttpRoute[]
  memorySize?: number
  timeout?: number
}

/** A request pattern a trigger routes to the function; no path: every path (a function URL, `httpApi: '*'`). */
export interface HttpRoute {
  kind: HttpEventKind
  /** Upper case; `ANY` for every method. */
  method: string
  /** Serverless' path pattern (`/orders/{id}`, `customers/{proxy+}`; ALB: `*` wildcards). */
  path?: string
}

/** The packaged service as Serverless saved it. */
export interface PackagedService extends Identity {
  functions: ServiceFunction[]
  runtime?: string
  /** provider.iam.role.name, when the service names its role itself. */
  roleName?: string
  /** Zip files under .serverless, relative to it. */
  artifacts: string[]
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** A zip path the state names (relative to .serverless, to the service, or absolute). */
function zipPath(dir: string, artifact: string): string {
  if (path.isAbsolute(artifact)) return artifact
  const inService = path.join(dir, artifact)
  return existsSync(inService) ? inService : path.join(dir, '.serverless', path.basename(artifact))
}

/** Environment values as Lambda gets them: strings (a CloudFormation reference stays its JSON text). */
function environmentOf(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {}
  return Object.fromEntries(
    Object.entries(value as Doc).map(([name, v]) => [name, typeof v === 'string' ? v : JSON.stringify(v)])
  )
}

/** `GET /x` (httpApi, http's `get x`), `*`, or `{ method, path }` (ALB: `conditions.path`). */
function httpRoutes(fn: Doc): HttpRoute[] {
  const routes: HttpRoute[] = []
  const method = (value: unknown) => {
    const upper = (text(value) ?? 'ANY').toUpperCase()
    return upper === '*' ? 'ANY' : upper
  }
  for (const event of (Array.isArray(fn.events) ? fn.events : []) as Doc[]) {
    if (!event || typeof event !== 'object') continue
    for (const kind of ['httpApi', 'http'] as const) {
      if (!(kind in event)) continue
      const value = event[kind]
      if (typeof value === 'string') {
        const [verb, route] = value.trim().split(/\s+/, 2)
        routes.push(
          value.trim() === '*' ? { kind, method: 'ANY' } : { kind, method: method(verb), path: route }
        )
      } else if (value && typeof value === 'object') {
        const route = value as Doc
        routes.push({ kind, method: method(route.method), path: text(route.path) })
      }
    }
    if ('alb' in event) {
      const alb = (event.alb ?? {}) as Doc
      const conditions = (alb.conditions ?? {}) as Doc
      const paths = Array.isArray(conditions.path) ? conditions.path : [conditions.path]
      const methods = Array.isArray(conditions.method) ? conditions.method : ['ANY']
      for (const p of paths)
        for (const m of methods) routes.push({ kind: 'alb', method: method(m), path: text(p) })
    }
  }
  if (fn.url) routes.push({ kind: 'url', method: 'ANY' })
  return routes
}

/**
 * Whether a route takes `method path`: `{name}` is one segment, `{name+}` the rest of the path (API
 * Gateway), `*` and `?` are ALB's wildcards. REST paths are written without their leading slash.
 */
export function routes(route: HttpRoute, method: string, requestPath: string): boolean {
  if (route.method !== 'ANY' && route.method !== method.toUpperCase()) return false
  if (route.path === undefined) return true
  const pattern = `/${route.path.replace(/^\/+/, '')}`
  const source = pattern
    .split(/(\{[^}]+\}|\*|\?)/)
    .map(part => {
      if (/^\{[^}]+\+\}$/.test(part)) return '.+'
      if (/^\{[^}]+\}$/.test(part)) return '[^/]+'
      if (part === '*') return route.kind === 'alb' ? '.*' : '\\*'
      if (part === '?') return route.kind === 'alb' ? '.' : '\\?'
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('')
  return new RegExp(`^${source}/?$`).test(requestPath.split('?')[0])
}

/** `{ Ref: 'PythonRequirementsLambdaLayer' }` names the service's own layer `pythonRequirements`. */
function layerZips(
  dir: string,
  refs: unknown[],
  layers: Record<string, Doc>
): { zips: string[]; external: string[] } {
  const zips: string[] = []
  const external: string[] = []
  for (const ref of refs) {
    if (typeof ref === 'string') {
      external.push(ref)
      continue
    }
    const logicalId = text((ref as Doc | undefined)?.Ref)
    const name = Object.keys(layers).find(
      key => `${key.charAt(0).toUpperCase()}${key.slice(1)}LambdaLayer` === logicalId
    )
    const layer = name ? layers[name] : undefined
    const artifact = text((layer?.package as Doc | undefined)?.artifact) ?? text(layer?.artifact)
    if (artifact) zips.push(zipPath(dir, artifact))
  }
  return { zips, external }
}

/**
 * A value the state file stores once and points at elsewhere: Serverless writes the state with its
 * objects decycled (json-cycle), so a function's `layers` that is also in the compiled template reads
 * `{ "$ref": "$[\"service\"][\"provider\"]…[\"Layers\"]" }`. Followed to what it names.
 */
function dereferenced(root: unknown, value: unknown, depth = 0): unknown {
  const ref = value && typeof value === 'object' ? (value as Doc).$ref : undefined
  if (typeof ref !== 'string' || !ref.startsWith('$') || depth > 10) return value
  let at: unknown = root
  for (const [, key, index] of ref.matchAll(/\[(?:"((?:[^"\\]|\\.)*)"|(\d+))\]/g)) {
    if (!at || typeof at !== 'object') return undefined
    at = (at as Doc)[key !== undefined ? JSON.parse(`"${key}"`) : Number(index)]
  }
  return dereferenced(root, at, depth + 1)
}

/** What `serverless package` saved in .serverless/serverless-state.json. */
export function readPackagedService(dir: string, notBefore = 0): PackagedService | undefined {
  const file = path.join(dir, '.serverless', 'serverless-state.json')
  // A state file from an earlier run (a self-hosted runner keeps the workspace) is not this run's truth.
  if (!existsSync(file) || statSync(file).mtimeMs < notBefore) return undefined
  const state = JSON.parse(readFileSync(file, 'utf8')) as { service?: Doc; package?: Doc }
  const service = state.service ?? {}
  const provider = (service.provider ?? {}) as Doc
  const identity = identityOf(service, {
    stage: text(provider.stage),
    region: text(provider.region)
  })
  if (!identity) return undefined
  const serviceArtifact =
    text(state.package?.artifact) ?? text((service.package as Doc | undefined)?.artifact)
  const layers = (service.layers ?? {}) as Record<string, Doc>
  const functions = Object.entries((service.functions ?? {}) as Record<string, Doc>).map(([key, fn]) => {
    const own = text((fn?.package as Doc | undefined)?.artifact)
    const artifact = fn?.image ? undefined : (own ?? serviceArtifact)
    const ownLayers = dereferenced(state, fn?.layers)
    const shared = dereferenced(state, provider.layers)
    const refs = Array.isArray(ownLayers) ? ownLayers : Array.isArray(shared) ? shared : []
    const { zips, external } = layerZips(dir, refs, layers)
    const triggers = fn ? httpRoutes({ ...fn, events: dereferenced(state, fn.events) }) : []
    return {
      key,
      name: text(fn?.name) ?? `${identity.service}-${identity.stage}-${key}`,
      runtime: text(fn?.runtime) ?? text(provider.runtime),
      handler: text(fn?.handler),
      architecture: text(fn?.architecture) ?? text(provider.architecture) ?? 'x86_64',
      artifact: artifact ? zipPath(dir, artifact) : undefined,
      layers: zips,
      externalLayers: external,
      environment: {
        ...environmentOf(dereferenced(state, provider.environment)),
        ...environmentOf(dereferenced(state, fn?.environment))
      },
      http: [...new Set(triggers.map(route => route.kind))],
      routes: triggers,
      memorySize: Number(fn?.memorySize ?? fn?.memory ?? provider.memorySize) || undefined,
      timeout: Number(fn?.timeout ?? provider.timeout) || undefined
    }
  })
  const artifacts = readdirSync(path.join(dir, '.serverless')).filter(name => name.endsWith('.zip'))
  const roleName = (provider.iam as { role?: { name?: unknown } } | undefined)?.role?.name
  return {
    ...identity,
    functions,
    runtime: text(provider.runtime),
    roleName: text(roleName),
    artifacts
  }
}
