import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import YAML, { type ScalarTag, type CollectionTag } from 'yaml'
import { UserError } from './errors.js'

/** What the action needs to know about a service before anything runs. */
export interface Service {
  dir: string
  configFile: string
  name: string
  /** `frameworkVersion` as written, when it is a literal. */
  frameworkVersion?: string
  runtime: string
  /** `3.11` for `python3.11`. */
  pythonVersion: string
  /** The stage serverless will use: the input, else provider.stage, else Serverless's `dev`. */
  stage: string
  /** The input, else provider.region, else AWS_REGION / AWS_DEFAULT_REGION, else Serverless's us-east-1. */
  region: string
  stackName: string
  /** Plugins named in serverless.yml that come from npm (local `./` plugins are left out). */
  plugins: string[]
}

const CONFIG_FILES = ['serverless.yml', 'serverless.yaml', 'serverless.json']

// serverless.yml may use CloudFormation's short-form functions (`!Ref`, `!GetAtt`, ...). They are kept
// as their long form so that parsing never fails on them; the action reads none of those values.
const CFN_FUNCTIONS = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'Base64',
  'Cidr',
  'GetAZs',
  'ImportValue',
  'Condition',
  'Transform'
]
const cfnTags: (ScalarTag | CollectionTag)[] = CFN_FUNCTIONS.flatMap(fn => {
  const key = fn === 'Ref' || fn === 'Condition' ? fn : `Fn::${fn}`
  const resolve = (value: unknown) => ({ [key]: value })
  return [
    {
      tag: `!${fn}`,
      resolve: (value: string) => resolve(fn === 'GetAtt' ? value.split('.') : value)
    } as ScalarTag,
    {
      tag: `!${fn}`,
      collection: 'seq',
      resolve: (value: unknown) => resolve((value as YAML.YAMLSeq).toJSON())
    } as CollectionTag,
    {
      tag: `!${fn}`,
      collection: 'map',
      resolve: (value: unknown) => resolve((value as YAML.YAMLMap).toJSON())
    } as CollectionTag
  ]
})

type Doc = Record<string, unknown>

export interface ServiceContext {
  stage?: string
  region?: string
  env: NodeJS.ProcessEnv
}

export function readService(workingDirectory: string, context: ServiceContext): Service {
  const dir = path.resolve(workingDirectory)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(
      `Input 'working-directory' is '${workingDirectory}': no such folder. Set it to the folder that holds serverless.yml, relative to the repository root (did the workflow run actions/checkout?).`
    )
  }
  const configFile = CONFIG_FILES.map(name => path.join(dir, name)).find(file => existsSync(file))
  if (!configFile) {
    throw new UserError(
      `Input 'working-directory' is '${workingDirectory}': it has no serverless.yml. Set working-directory to the service folder, or add a serverless.yml there.`
    )
  }
  const doc = parseConfig(configFile)
  return describe(doc, dir, configFile, context)
}

function parseConfig(file: string): Doc {
  const name = path.basename(file)
  const text = readFileSync(file, 'utf8')
  let value: unknown
  try {
    if (file.endsWith('.json')) value = JSON.parse(text)
    else {
      const doc = YAML.parseDocument(text, { customTags: cfnTags, prettyErrors: true })
      if (doc.errors.length > 0) throw doc.errors[0]
      value = doc.toJS({ maxAliasCount: -1 })
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
    throw new UserError(
      `${name} could not be read: ${reason}. Fix the syntax there (a YAML linter shows where).`
    )
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(
      `${name} does not describe a service (it is not a mapping). It needs at least service, provider and functions.`
    )
  }
  return value as Doc
}

function describe(doc: Doc, dir: string, configFile: string, context: ServiceContext): Service {
  const file = path.basename(configFile)
  const variables = new Variables(doc, context)
  const name = variables.text('service')
  if (!name) {
    throw new UserError(
      `${file} has no 'service' name this action can read. Set service: to a literal name, such as service: my-api.`
    )
  }
  const provider = (doc.provider ?? {}) as Doc
  if (provider.name !== undefined && provider.name !== 'aws') {
    throw new UserError(
      `${file} has provider.name '${String(provider.name)}': this action deploys to AWS. Set provider.name: aws.`
    )
  }
  const runtime = variables.text('provider.runtime') ?? functionRuntime(doc)
  const python = runtime ? /^python(3\.\d+)$/.exec(runtime) : null
  if (!runtime || !python) {
    throw new UserError(
      `${file} has provider.runtime '${runtime ?? ''}': this action deploys Python services. Set provider.runtime to a Lambda Python runtime such as python3.11.`
    )
  }
  const stage = context.stage ?? variables.text('provider.stage') ?? 'dev'
  variables.stage = stage
  const region =
    context.region ??
    variables.text('provider.region') ??
    context.env.AWS_REGION ??
    context.env.AWS_DEFAULT_REGION ??
    'us-east-1'
  variables.region = region
  return {
    dir,
    configFile,
    name,
    frameworkVersion: variables.text('frameworkVersion'),
    runtime,
    pythonVersion: python[1],
    stage,
    region,
    stackName: variables.text('provider.stackName') ?? `${name}-${stage}`,
    plugins: pluginNames(doc.plugins)
  }
}

/** Without provider.runtime, every function has to name the same one for the action to know it. */
function functionRuntime(doc: Doc): string | undefined {
  const functions = Object.values((doc.functions ?? {}) as Record<string, Doc>)
  const runtimes = new Set(functions.map(fn => fn?.runtime).filter((r): r is string => typeof r === 'string'))
  return runtimes.size === 1 ? [...runtimes][0] : undefined
}

function pluginNames(plugins: unknown): string[] {
  const list = Array.isArray(plugins) ? plugins : ((plugins as Doc | undefined)?.modules ?? [])
  return (list as unknown[]).filter(
    (p): p is string => typeof p === 'string' && !p.startsWith('.') && !path.isAbsolute(p)
  )
}

/**
 * Resolves the few Serverless variables the action's own fields use (`opt:`, `env:`, `self:`, `sls:`,
 * literals as fallbacks). Anything else stays unresolved: the field is then treated as unknown and
 * Serverless itself decides.
 */
class Variables {
  stage?: string
  region?: string
  constructor(
    private readonly doc: Doc,
    private readonly context: ServiceContext
  ) {
    this.stage = context.stage
    this.region = context.region
  }

  text(address: string, depth = 0): string | undefined {
    const value = address
      .split('.')
      .reduce<unknown>((node, key) => (node as Doc | undefined)?.[key], this.doc)
    if (typeof value === 'number') return String(value)
    if (typeof value !== 'string') return undefined
    return this.resolve(value, depth)
  }

  private resolve(value: string, depth: number): string | undefined {
    if (depth > 10) return undefined
    let unresolved = false
    const out = value.replace(/\$\{([^${}]*(?:\$\{[^{}]*\}[^${}]*)*)\}/g, (_, body: string) => {
      const resolved = this.candidates(body).reduce<string | undefined>(
        (found, c) => found ?? this.source(c, depth),
        undefined
      )
      if (resolved === undefined) unresolved = true
      return resolved ?? ''
    })
    return unresolved ? undefined : out
  }

  private candidates(body: string): string[] {
    const parts: string[] = []
    let level = 0
    let current = ''
    for (const c of body) {
      if (c === ',' && level === 0) {
        parts.push(current.trim())
        current = ''
        continue
      }
      if (c === '{') level++
      if (c === '}') level--
      current += c
    }
    parts.push(current.trim())
    return parts
  }

  private source(candidate: string, depth: number): string | undefined {
    const literal = /^(['"])(.*)\1$/.exec(candidate)
    if (literal) return literal[2]
    if (/^-?\d+(\.\d+)?$/.test(candidate)) return candidate
    if (candidate.startsWith('${')) return this.resolve(candidate, depth + 1)
    const [source, ...rest] = candidate.split(':')
    const address = rest.join(':')
    switch (source) {
      case 'opt':
        return address === 'stage'
          ? this.context.stage
          : address === 'region'
            ? this.context.region
            : undefined
      case 'env':
        return this.context.env[address] || undefined
      case 'sls':
        return address === 'stage' ? this.stage : undefined
      case 'self':
        if (address === 'provider.stage' && this.stage) return this.stage
        if (address === 'provider.region' && this.region) return this.region
        return this.text(address, depth + 1)
      default:
        return undefined
    }
  }
}
