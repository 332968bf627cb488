import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { frameworkCache, nodeModulesCache, CacheSession } from '../cache.js'
import { COMMAND_TRAITS } from '../commands.js'
import { envFor, learnIdentity, Outputs, tell, type RunContext } from '../context.js'
import { resolveCredentials } from '../credentials.js'
import { referencedVariables } from '../child-env.js'
import {
  checkFramework,
  frameworkAt,
  installProvided,
  ownFramework,
  providedFramework
} from '../framework.js'
import { installNodeModules, type InstallDeps } from '../node/install.js'
import { gatherTarballs } from '../node/tree.js'
import { nodeProject } from '../node/project.js'
import { scriptPolicy } from '../node/scripts.js'
import type { Edges } from '../edges.js'
import { UserError } from '../errors.js'
import { inputGetter, readInputs } from '../inputs.js'
import { runnerPaths } from '../paths.js'
import { partitionOfArn, partitionOfRegion } from '../regions.js'
import { failed, printService, forwardedArgs } from '../serverless.js'
import { identityOf, literalIdentity, literalValue, readBuild, readServiceConfig } from '../service.js'
import { pythonProject, type PluginOptions } from '../python-project/index.js'
import { checkStageFits } from '../stage.js'
import type { Phases, Report } from '../summary.js'

/**
 * Preparation, common to every command: the inputs and the service as written (everything checked
 * before anything is installed or created), credentials, the Node side, and what Serverless resolves.
 */

/** Inputs and the service as written. */
export function start(edges: Edges, report: Report, phases: Phases): RunContext {
  const inputs = readInputs(inputGetter(edges.env))
  report.command = inputs.command
  const paths = runnerPaths(edges.env)
  const config = readServiceConfig(inputs.workingDirectory, edges.workspace)
  checkFramework(config, { version: inputs.serverlessVersion, framework: inputs.framework })
  const traits = COMMAND_TRAITS[inputs.command]
  const ctx: RunContext = {
    edges,
    paths,
    inputs,
    traits,
    config,
    report,
    phases,
    outputs: new Outputs(edges.runner.setOutput),
    caches: new CacheSession(inputs.cache, edges.cache, edges.runner),
    nodeBin: nodeBin(paths.temp('node-bin'), edges.node),
    startedAt: edges.clock.now(),
    skippedScripts: []
  }
  const known = literalIdentity(config, { stage: inputs.stage, region: inputs.awsRegion })
  if (known.service && known.stage && config.doc)
    checkStageFits({
      ...known,
      service: known.service,
      stage: known.stage,
      functionKeys: functionKeys(config.doc),
      roleName: literalValue(config, 'provider.iam.role.name')
    })
  // What packaging needs, when it is written out literally: checked now, before anything is installed.
  if (traits.builds && config.doc) ctx.build = readBuild(config.doc, config.configFile)
  // How the service pins its Python dependencies: a lock missing, stale or ambiguous stops the run here.
  const usesPlugin =
    ctx.build?.pythonRequirements ?? config.plugins.includes('serverless-python-requirements')
  if (traits.builds && usesPlugin) ctx.pythonProject = pythonProject(config.dir, pluginOptions(config))
  learnIdentity(ctx, known)
  return ctx
}

/**
 * A folder that holds only `node`, the action's own: first on children's PATH, so that serverless'
 * plugins and npm's scripts run on it. The folder of the Node binary itself is not put on PATH: on
 * Debian and Ubuntu images it is /usr/bin, whose python3.X would then stand before the action's.
 */
function nodeBin(dir: string, node: string): string {
  mkdirSync(dir, { recursive: true })
  rmSync(path.join(dir, 'node'), { force: true })
  symlinkSync(node, path.join(dir, 'node'))
  return dir
}

/** The service's own choice of source for serverless-python-requirements, where written out literally. */
function pluginOptions(config: RunContext['config']): PluginOptions {
  const options = (config.doc?.custom as { pythonRequirements?: Record<string, unknown> } | undefined)
    ?.pythonRequirements
  const flag = (value: unknown) => (typeof value === 'boolean' ? value : undefined)
  return {
    usePipenv: flag(options?.usePipenv),
    usePoetry: flag(options?.usePoetry),
    fileName: typeof options?.fileName === 'string' ? options.fileName : undefined
  }
}

function functionKeys(doc: Record<string, unknown>): string[] | undefined {
  const functions = doc.functions
  return functions && typeof functions === 'object' && !Array.isArray(functions)
    ? Object.keys(functions)
    : undefined
}

/** STS is asked in the service's region when it is already known, else in the partition's home region. */
function stsRegion(ctx: RunContext): string {
  return (
    ctx.inputs.awsRegion ??
    (ctx.report.region && partitionOfRegion(ctx.report.region) ? ctx.report.region : undefined) ??
    partitionOfArn(ctx.inputs.roleToAssume).stsRegion
  )
}

export async function obtainCredentials(ctx: RunContext): Promise<void> {
  const { inputs, edges } = ctx
  // Packaging needs no AWS account unless the configuration reads from one (${ssm:}, ${cf:}) or the
  // service has layers (Serverless v3 then asks CloudFormation while packaging): a role or an account
  // check given for it is honoured, otherwise the environment's own credentials, if any, are used.
  if (ctx.traits.credentials === 'when-asked' && !inputs.roleToAssume && !inputs.allowedAccountIds.length) {
    ctx.credentials = { env: {}, exclusive: false }
    return
  }
  ctx.credentials = await resolveCredentials(inputs, stsRegion(ctx), edges.env, {
    getIDToken: audience => edges.runner.getIDToken(audience),
    sts: (region, credentials) => edges.aws.sts({ region, credentials }),
    retry: { sleep: edges.clock.sleep, now: edges.clock.now },
    log: edges.runner.info,
    setSecret: edges.runner.setSecret
  })
  tell(ctx, { accountId: ctx.credentials.accountId })
}

export async function installNode(ctx: RunContext): Promise<void> {
  const { config, inputs, edges } = ctx
  await edges.runner.group('Node dependencies', async () => {
    const npmCache = npmCacheDir(ctx)
    const deps = (tarballs?: string): InstallDeps => ({
      exec: edges.exec,
      env: envFor(ctx, 'package-manager', { referenced: referencedVariables(npmConfigs(ctx)) }),
      log: edges.runner.info,
      warn: edges.runner.warning,
      notice: (message, title) => edges.runner.notice(message, { title }),
      npmCaches: tarballs ? [npmCache, tarballs] : [npmCache]
    })
    const project = nodeProject(config.dir)
    // Only npm's lockfile says what each installed file must be; other trees are installed every run.
    if (project?.manager === 'npm' && project.lockfile) {
      const tarballs = tarballsDir(ctx, project.lockfile)
      const modules = nodeModulesCache(config.dir, project.lockfile, tarballs)
      await ctx.caches.restore(modules, existsSync(modules.paths[0]))
      ctx.report.nodeModules = await installNodeModules(config.dir, deps(tarballs))
      if (ctx.report.nodeModules === 'installed') {
        gatherTarballs(project.lockfile, [npmCache], tarballs)
        ctx.caches.planSave(modules)
      }
    } else {
      ctx.report.nodeModules = await installNodeModules(config.dir, deps())
    }
    const own = ownFramework(config.dir)
    if (own) {
      ctx.framework = frameworkAt(own, 'project')
      return
    }
    const provided = providedFramework(config, {
      requested: inputs.serverlessVersion,
      framework: inputs.framework,
      toolCache: ctx.paths.toolCache
    })
    if (!provided.lockfile) {
      ctx.framework = await installProvided(provided, deps())
      return
    }
    const tarballs = tarballsDir(ctx, provided.lockfile)
    const cache = frameworkCache(provided.dir, tarballs)
    const outcome = await ctx.caches.restore(cache, existsSync(cache.paths[0]))
    ctx.framework = await installProvided(provided, deps(tarballs))
    if (outcome === 'miss' || outcome === 'partial') {
      gatherTarballs(provided.lockfile, [npmCache], tarballs)
      ctx.caches.planSave(cache)
    }
  })
  ctx.skippedScripts = [
    config.dir,
    ctx.framework?.source === 'provided' ? path.dirname(path.dirname(ctx.framework.dir)) : undefined
  ]
    .filter((dir): dir is string => Boolean(dir))
    .flatMap(dir => scriptPolicy(dir).skipped.map(pkg => pkg.name))
  tellCaches(ctx)
  tell(ctx, {
    serverlessVersion: `${ctx.framework?.name === 'osls' ? 'osls ' : ''}${ctx.framework?.version}`
  })
}

/** Where a lockfile's tarballs are gathered for its cache entry: one folder per lockfile, in the tool cache. */
function tarballsDir(ctx: RunContext, lockfile: string): string {
  return ctx.paths.toolCache(
    'npm-tarballs',
    createHash('sha256').update(readFileSync(lockfile)).digest('hex').slice(0, 16)
  )
}

/**
 * Where npm keeps the tarballs it installs from, as npm is configured (else its default). Its content
 * is named by its hash and checked against it on every read.
 */
function npmCacheDir(ctx: RunContext): string {
  const env = ctx.edges.env
  return env.npm_config_cache || env.NPM_CONFIG_CACHE || path.join(env.HOME || os.homedir(), '.npm')
}

/** The package managers' configuration files a private registry's token may be named in. */
function npmConfigs(ctx: RunContext): string[] {
  const env = ctx.edges.env
  const files = [
    path.join(ctx.config.dir, '.npmrc'),
    path.join(ctx.config.dir, '.yarnrc.yml'),
    env.npm_config_userconfig || env.NPM_CONFIG_USERCONFIG || path.join(env.HOME ?? '', '.npmrc')
  ]
  return files.filter(file => existsSync(file)).map(file => readFileSync(file, 'utf8'))
}

/** The caches' outcomes, as the outputs and the summary say them. */
export function tellCaches(ctx: RunContext): void {
  ctx.report.cacheHit = ctx.caches.hit()
  ctx.report.caches = ctx.caches.describe() || undefined
  ctx.outputs.publish(ctx.report)
}

/**
 * What Serverless resolved, before anything that depends on it: `serverless print` when the values
 * packaging needs are not written out literally, and always before remove and info (which build
 * nothing, so no state file will tell). A deploy or package with literal values asks nothing here:
 * its state file tells the rest after packaging.
 */
export async function resolveService(ctx: RunContext): Promise<void> {
  const { inputs, config } = ctx
  if (ctx.traits.builds && ctx.build) return
  const result = await printService(ctx, forwardedArgs('print', inputs.args))
  if (result.exitCode !== 0 || !result.config) failed(ctx, 'print', result)
  const identity = identityOf(result.config, { stage: inputs.stage, region: inputs.awsRegion })
  if (!identity) {
    throw new UserError(
      `${path.basename(config.configFile)} resolves to no service name. Set service: to a name such as my-api.`,
      { title: 'No service name', file: config.configFile }
    )
  }
  ctx.identity = identity
  learnIdentity(ctx, identity)
  if (ctx.traits.builds) ctx.build = readBuild(result.config, config.configFile)
}
