import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import YAML, { type CollectionTag, type ScalarTag } from 'yaml'
import { UserError } from './errors.js'

/**
 * What the service is. Serverless is the only authority: the action reads serverless.yml itself only
 * to check literal values early (a runtime that is not Python, a v4 pin) and to skip asking Serverless
 * when everything it needs before packaging is written out literally. Every value with a variable in
 * it comes from Serverless: `serverless print` before packaging, `.serverless/serverless-state.json`
 * after. Nothing here ever puts a default in place of a value it could not read.
 */

export type Doc = Record<string, unknown>

/** The names Serverless v3 looks for, in its order (lib/cli/resolve-configuration-path.js). */
export const CONFIG_FILES = ['yml', 'yaml', 'json', 'js', 'mjs', 'cjs', 'ts'].map(ext => `serverless.${ext}`)

export type Architecture = 'x86_64' | 'arm64'

export interface ServiceConfig {
  dir: string
  configFile: string
  /** The configuration as written; undefined for JavaScript and TypeScript, which only Serverless evaluates. */
  doc?: Doc
  /** `frameworkVersion` when it is a literal. */
  frameworkVersion?: string
  /** npm plugins named literally (local `./` plugins are left out). */
  plugins: string[]
}

/** What packaging needs to know before pip runs. */
export interface Build {
  /** `python3.11`. */
  runtime: string
  /** `3.11`. */
  pythonVersion: string
  architecture: Architecture
  /** serverless-python-requirements runs pip in Docker. */
  dockerizePip: boolean
  /** The service names its own pip `--platform` in pipCmdExtraArgs. */
  ownPlatform: boolean
  /** The service uses serverless-python-requirements at all. */
  pythonRequirements: boolean
  /** custom.pythonRequirements.slim: the plugin strips bytecode, and the service's choice stands. */
  slim: boolean
}

/** Where the service deploys: what Serverless resolved. */
export interface Identity {
  service: string
  stage: string
  region: string
  stackName: string
}

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

/** Serverless configuration files below `dir`, nearest first, for suggesting a working-directory. */
function configsBelow(dir: string, depth = 3): string[] {
  const found: string[] = []
  const walk = (current: string, level: number) => {
    if (level > depth) return
    let entries: string[]
    try {
      entries = readdirSync(current).sort()
    } catch {
      return
    }
    for (const entry of entries) {
      if (entry.startsWith('.') || entry === 'node_modules') continue
      const child = path.join(current, entry)
      if (!statSync(child, { throwIfNoEntry: false })?.isDirectory()) continue
      if (CONFIG_FILES.some(name => existsSync(path.join(child, name)))) found.push(child)
    }
    for (const entry of entries) {
      if (entry.startsWith('.') || entry === 'node_modules') continue
      const child = path.join(current, entry)
      if (statSync(child, { throwIfNoEntry: false })?.isDirectory()) walk(child, level + 1)
    }
  }
  walk(dir, 1)
  return found
}

export function readServiceConfig(workingDirectory: string, root = process.cwd()): ServiceConfig {
  const dir = path.resolve(root, workingDirectory)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(
      `Input 'working-directory' is '${workingDirectory}': no such folder (${dir}). Set it to the folder that holds serverless.yml, relative to the repository root (did the workflow run actions/checkout?).`,
      { title: 'No service folder' }
    )
  }
  // The service is the repository's: a path or a link that leads out of it would deploy what another
  // job, or another checkout on a self-hosted runner, left there.
  const real = realpathSync(dir)
  const workspace = realpathSync(root)
  const inside = path.relative(workspace, real)
  if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    throw new UserError(
      `Input 'working-directory' is '${workingDirectory}': it resolves to ${real}, outside the repository (${workspace}). Set it to a folder inside the repository, relative to its root.`,
      { title: 'Service folder outside the repository' }
    )
  }
  const configFile = CONFIG_FILES.map(name => path.join(dir, name)).find(file => existsSync(file))
  if (!configFile) {
    const below = configsBelow(dir).map(found => path.relative(root, found) || '.')
    const suggestion = below.length
      ? ` A Serverless service is below it: set working-directory: ${below[0]}${below.length > 1 ? ` (or one of ${below.slice(1, 4).join(', ')})` : ''}.`
      : ' Set working-directory to the service folder, or add a serverless.yml there.'
    throw new UserError(
      `Input 'working-directory' is '${workingDirectory}': ${dir} has no ${CONFIG_FILES.slice(0, 3).join(', ')} or other serverless.* configuration (this is "This command can only be run in a Serverless service directory").${suggestion}`,
      { title: 'No serverless.yml' }
    )
  }
  const doc = parseConfig(configFile, root)
  const config: ServiceConfig = {
    dir,
    configFile,
    doc,
    frameworkVersion: doc ? literalString(doc.frameworkVersion) : undefined,
    plugins: doc ? pluginNames(doc.plugins) : []
  }
  if (doc) checkLiterals(config, doc)
  return config
}

function parseConfig(file: string, root: string): Doc | undefined {
  const name = path.basename(file)
  if (!/\.(ya?ml|json)$/.test(name)) return undefined
  const text = readFileSync(file, 'utf8')
  const where = path.relative(root, file)
  let value: unknown
  if (name.endsWith('.json')) {
    try {
      value = JSON.parse(text)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      // Node names either the line and column, or the character position (older versions).
      const lineColumn = /line (\d+) column (\d+)/.exec(reason)
      const position = /at position (\d+)/.exec(reason)
      const before = position ? text.slice(0, Number(position[1])).split('\n') : undefined
      const [startLine, startColumn] = lineColumn
        ? [Number(lineColumn[1]), Number(lineColumn[2])]
        : before
          ? [before.length, before[before.length - 1].length + 1]
          : [undefined, undefined]
      throw new UserError(`${where} is not valid JSON: ${reason}. Fix the syntax there.`, {
        title: `${name} is not JSON`,
        file: where,
        startLine,
        startColumn
      })
    }
  } else {
    const doc = YAML.parseDocument(text, { customTags: cfnTags, prettyErrors: true, uniqueKeys: false })
    const error = doc.errors[0]
    if (error) {
      const [line, column] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : [1, 1]
      throw new UserError(
        `${where} is not valid YAML, at line ${line}, column ${column}: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}. Fix the syntax there (a YAML linter shows where).`,
        { title: `${name} is not YAML`, file: where, startLine: line, startColumn: column }
      )
    }
    value = doc.toJS({ maxAliasCount: -1 })
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(
      `${where} does not describe a service (it is not a mapping). It needs at least service, provider and functions.`,
      { title: `${name} is not a service`, file: where }
    )
  }
  return value as Doc
}

const VARIABLE = /\$\{/

/** The value at a dotted path when every step to it is written out; `variable` where a variable stands in the way. */
function lookup(doc: Doc, address: string): unknown {
  let node: unknown = doc
  for (const key of address.split('.')) {
    if (typeof node === 'string' && VARIABLE.test(node)) return VARIABLE_MARK
    if (!node || typeof node !== 'object') return undefined
    node = (node as Doc)[key]
  }
  if (typeof node === 'string' && VARIABLE.test(node)) return VARIABLE_MARK
  return node
}
const VARIABLE_MARK = Symbol('variable')

function literalString(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value)
  return typeof value === 'string' && !VARIABLE.test(value) ? value : undefined
}

/** Checks the values written out literally; variables are left to Serverless. */
function checkLiterals(config: ServiceConfig, doc: Doc): void {
  const file = path.basename(config.configFile)
  if (doc.service === undefined) {
    throw new UserError(`${file} has no service name. Add one at the top, such as service: my-api.`, {
      title: 'No service name',
      file: config.configFile
    })
  }
  if (doc.provider === undefined) {
    throw new UserError(
      `${file} has no provider section. Add provider: with name: aws and a Python runtime such as python3.11.`,
      { title: 'No provider', file: config.configFile }
    )
  }
  const name = lookup(doc, 'provider.name')
  if (typeof name === 'string' && name !== 'aws') {
    throw new UserError(
      `${file} has provider.name '${name}': this action deploys to AWS. Set provider.name: aws.`,
      { title: 'Not an AWS service', file: config.configFile }
    )
  }
  const runtimes = runtimesOf(doc)
  if (runtimes !== 'variable' && !runtimes.some(isPython)) {
    const shown =
      lookup(doc, 'provider.runtime') === undefined
        ? `no provider.runtime, so Serverless v3 runs its functions on ${runtimes.join(', ') || 'nodejs16.x'}`
        : `provider.runtime ${runtimes.join(', ')}`
    throw new UserError(
      `${file} has ${shown}: this action deploys Python services. Set provider.runtime to a Lambda Python runtime such as python3.11.`,
      { title: 'Not a Python service', file: config.configFile }
    )
  }
}

function isPython(runtime: string): boolean {
  return /^python3\.\d+$/.test(runtime)
}

function functionsOf(doc: Doc): Record<string, Doc> | 'variable' {
  const functions = lookup(doc, 'functions')
  if (functions === VARIABLE_MARK) return 'variable'
  // Serverless also takes a list of mappings (often one ${file()} each) and merges them.
  const parts = Array.isArray(functions) ? functions : [functions ?? {}]
  if (parts.some(part => typeof part === 'string')) return 'variable'
  return Object.assign({}, ...(parts as Doc[])) as Record<string, Doc>
}

/** The runtimes of the functions that run from a zip (images have none), or 'variable'. */
function runtimesOf(doc: Doc): string[] | 'variable' {
  const provider = lookup(doc, 'provider.runtime')
  const functions = functionsOf(doc)
  if (provider === VARIABLE_MARK || functions === 'variable') return 'variable'
  const runtimes = new Set<string>()
  for (const fn of Object.values(functions)) {
    if (!fn || typeof fn !== 'object') return 'variable'
    if (fn.image !== undefined) continue
    const own = fn.runtime ?? provider ?? 'nodejs16.x'
    if (typeof own !== 'string' || VARIABLE.test(own)) return 'variable'
    runtimes.add(own)
  }
  if (Object.keys(functions).length === 0 && typeof provider === 'string') runtimes.add(provider)
  return [...runtimes]
}

function architecturesOf(doc: Doc): string[] | 'variable' {
  const provider = lookup(doc, 'provider.architecture')
  const functions = functionsOf(doc)
  if (provider === VARIABLE_MARK || functions === 'variable') return 'variable'
  const found = new Set<string>()
  for (const fn of Object.values(functions)) {
    if (!fn || typeof fn !== 'object' || fn.image !== undefined) continue
    const own = fn.architecture ?? provider ?? 'x86_64'
    if (typeof own !== 'string' || VARIABLE.test(own)) return 'variable'
    found.add(own)
  }
  if (found.size === 0) found.add(typeof provider === 'string' ? provider : 'x86_64')
  return [...found]
}

/**
 * What packaging needs before pip runs, read from a configuration: the one as written when those
 * values are literals (undefined otherwise), or the one `serverless print` resolved.
 */
export function readBuild(doc: Doc, configFile: string): Build | undefined {
  const file = path.basename(configFile)
  const runtimes = runtimesOf(doc)
  const architectures = architecturesOf(doc)
  const plugins = lookup(doc, 'plugins')
  const requirements = lookup(doc, 'custom.pythonRequirements')
  const dockerize = lookup(doc, 'custom.pythonRequirements.dockerizePip')
  const slim = lookup(doc, 'custom.pythonRequirements.slim')
  const extraArgs = lookup(doc, 'custom.pythonRequirements.pipCmdExtraArgs')
  if (
    runtimes === 'variable' ||
    architectures === 'variable' ||
    plugins === VARIABLE_MARK ||
    requirements === VARIABLE_MARK ||
    dockerize === VARIABLE_MARK ||
    slim === VARIABLE_MARK ||
    extraArgs === VARIABLE_MARK ||
    (Array.isArray(extraArgs) && extraArgs.some(arg => typeof arg === 'string' && VARIABLE.test(arg)))
  )
    return undefined

  const python = [...new Set(runtimes.filter(isPython))]
  if (python.length === 0) {
    throw new UserError(
      `${file} resolves provider.runtime to ${runtimes.join(', ') || 'nothing'}: this action deploys Python services. Set provider.runtime to a Lambda Python runtime such as python3.11.`,
      { title: 'Not a Python service', file: configFile }
    )
  }
  if (python.length > 1) {
    throw new UserError(
      `${file} gives its functions different Python runtimes (${python.join(', ')}): their dependencies are built once, by one Python. Use one Python runtime for the service, or split it into services.`,
      { title: 'Several Python runtimes', file: configFile }
    )
  }
  const arch = architectures.map(a => (a === 'arm64' ? 'arm64' : a === 'x86_64' ? 'x86_64' : a))
  const unknown = arch.find(a => a !== 'arm64' && a !== 'x86_64')
  if (unknown) {
    throw new UserError(
      `${file} has architecture '${unknown}': Lambda runs x86_64 or arm64. Set provider.architecture to one of them.`,
      { title: 'Unknown architecture', file: configFile }
    )
  }
  if (arch.length > 1) {
    throw new UserError(
      `${file} runs some functions on x86_64 and others on arm64: their dependencies are built once, for one platform. Give every Python function the same architecture, or split the service.`,
      { title: 'Several architectures', file: configFile }
    )
  }
  const pluginList = pluginNames(plugins)
  // dockerizePip: true, or 'non-linux' (Docker everywhere but on Linux: a macOS runner uses it).
  const dockerizePip =
    dockerize === true || dockerize === 'true' || (dockerize === 'non-linux' && process.platform !== 'linux')
  return {
    runtime: python[0],
    pythonVersion: python[0].replace(/^python/, ''),
    architecture: arch[0] as Architecture,
    dockerizePip,
    ownPlatform: Array.isArray(extraArgs) && extraArgs.some(arg => /--platform\b/.test(String(arg))),
    pythonRequirements: pluginList.includes('serverless-python-requirements'),
    slim: slim === true || slim === 'true'
  }
}

/**
 * The identity Serverless gives a service from its resolved configuration, by its own rules
 * (lib/plugins/aws/provider.js getStage/getRegion, lib/plugins/aws/lib/naming.js getStackName):
 * the CLI option, else provider.*, else `dev` and `us-east-1`; the stack `provider.stackName`, else
 * `<service>-<stage>`. `print` gives the resolved configuration, so nothing here is a guess.
 */
export function identityOf(
  resolved: Doc,
  options: { stage?: string; region?: string }
): Identity | undefined {
  const service = typeof resolved.service === 'object' ? (resolved.service as Doc)?.name : resolved.service
  const provider = (resolved.provider ?? {}) as Doc
  if (typeof service !== 'string' || !service) return undefined
  const stage =
    options.stage ?? (typeof provider.stage === 'string' && provider.stage ? provider.stage : 'dev')
  const region =
    options.region ?? (typeof provider.region === 'string' && provider.region ? provider.region : 'us-east-1')
  const stackName =
    typeof provider.stackName === 'string' && provider.stackName ? provider.stackName : `${service}-${stage}`
  return { service, stage, region, stackName }
}

/** The parts of the identity a configuration as written already fixes, for outputs before Serverless runs. */
export function literalIdentity(
  config: ServiceConfig,
  options: { stage?: string; region?: string }
): Partial<Identity> {
  const doc = config.doc
  if (!doc) return { stage: options.stage, region: options.region }
  const service = literalString(doc.service)
  const fixed = (address: string): string | undefined | null => {
    const value = lookup(doc, address)
    if (value === undefined) return null // absent: Serverless' default applies
    return literalString(value)
  }
  const stageValue = fixed('provider.stage')
  const stage = options.stage ?? (stageValue === null ? 'dev' : stageValue)
  const regionValue = fixed('provider.region')
  const region = options.region ?? (regionValue === null ? 'us-east-1' : regionValue)
  const stackValue = fixed('provider.stackName')
  const stackName = stackValue === null ? (service && stage ? `${service}-${stage}` : undefined) : stackValue
  return { service, stage, region, stackName }
}

/** A value written out literally in the configuration (no variable in the way), else undefined. */
export function literalValue(config: ServiceConfig, address: string): string | undefined {
  return config.doc ? literalString(lookup(config.doc, address)) : undefined
}

function pluginNames(plugins: unknown): string[] {
  const list = Array.isArray(plugins) ? plugins : ((plugins as Doc | undefined)?.modules ?? [])
  return (list as unknown[]).filter(
    (p): p is string =>
      typeof p === 'string' && !p.startsWith('.') && !path.isAbsolute(p) && !VARIABLE.test(p)
  )
}
