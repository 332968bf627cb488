import * as core from '@actions/core'
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { addBytecode, neverRun, storeZipsEnv } from './artifact.js'
import {
  cacheHit,
  cacheServiceReachable,
  frameworkCache,
  nodeModulesCache,
  pythonCache,
  pythonRequirementsCacheDir,
  restore,
  type CacheOutcome,
  type CacheSpec
} from './cache.js'
import { frameworkEnv, learnIdentity, nodeEnv, publishOutputs, type RunContext } from './context.js'
import { resolveCredentials } from './credentials.js'
import {
  checkFramework,
  installNodeModules,
  nodeModulesUpToDate,
  nodeProject,
  ownFramework,
  prepareFramework,
  providedPrefix,
  runtimeNotes
} from './dependencies.js'
import { marker, previewBody, pullRequestOf, upsertComment } from './comment.js'
import { diagnose, rollbackFailedAdvice, serverlessError } from './diagnosis.js'
import { UserError } from './errors.js'
import { readInputs } from './inputs.js'
import { functionLogs, formatLogs } from './logs.js'
import { PYTHON_MANIFEST_URL, setupPython } from './python.js'
import { partitionOfArn, partitionOfRegion } from './regions.js'
import { liveDeployment } from './rollback.js'
import {
  forwardedArgs,
  printConfig,
  runServerless,
  serverlessArgs,
  type ServerlessResult
} from './serverless.js'
import {
  identityOf,
  literalIdentity,
  literalValue,
  readBuild,
  readPackagedService,
  readServiceConfig,
  type Build,
  type Identity
} from './service.js'
import {
  condition,
  deleteStack,
  describeStack,
  firstFailure,
  regionsWithStack,
  serviceUrl,
  StackBusyError,
  waitUntilSettled,
  type StackAccess
} from './stack.js'
import { smokeFailure, smokeTest } from './smoke-test.js'
import { checkStageFits } from './stage.js'
import { PIP_HELPER, wheelTarget, wheelTargetEnv } from './wheels.js'
import type { Phases, Report } from './summary.js'

/**
 * The steps of a run, in the order main.ts lists them. Each reads what the earlier ones put in the
 * run context and adds its own part; none decides what Serverless decides.
 */

/** Inputs and the service as written: everything checked before anything is installed or created. */
export function start(report: Report, phases: Phases): RunContext {
  const inputs = readInputs()
  report.command = inputs.command
  const config = readServiceConfig(inputs.workingDirectory)
  checkFramework(config, { version: inputs.serverlessVersion, framework: inputs.framework })
  const ctx: RunContext = { inputs, config, report, phases, startedAt: Date.now(), caches: {}, cachePlan: [] }
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
  if ((inputs.command === 'deploy' || inputs.command === 'package') && config.doc)
    ctx.build = readBuild(config.doc, config.configFile)
  learnIdentity(ctx, known)
  return ctx
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
  const { inputs } = ctx
  // Packaging needs no AWS account unless the configuration reads from one (${ssm:}, ${cf:}) or the
  // service has layers (Serverless v3 then asks CloudFormation while packaging): a role or an account
  // check given for it is honoured, otherwise the environment's own credentials, if any, are used.
  if (inputs.command === 'package' && !inputs.roleToAssume && !inputs.allowedAccountIds.length) {
    ctx.credentials = { env: {}, exclusive: false }
    return
  }
  ctx.credentials = await resolveCredentials(inputs, stsRegion(ctx))
  ctx.report.accountId = ctx.credentials.accountId
  publishOutputs(ctx.report)
}

export async function installNode(ctx: RunContext): Promise<void> {
  const { config, inputs } = ctx
  await core.group('Node dependencies', async () => {
    const env = nodeEnv()
    const project = nodeProject(config.dir)
    // Without a lockfile nothing says what node_modules should hold: it is not cached.
    // Serverless' start caches travel with the cache that holds the framework: the project's
    // node_modules when it has a lockfile, else the framework the action provides.
    const starts = Object.values(startCacheDirs())
    const modules = project?.lockfile
      ? nodeModulesCache(config.dir, project.lockfile, project.manager, starts)
      : undefined
    if (modules) await restoreCache(ctx, modules, nodeModulesUpToDate(config.dir))
    const installed = await installNodeModules(config.dir, env)
    ctx.report.nodeModules = installed
    if (modules && installed === 'installed') planSave(ctx, modules)
    const options = {
      requested: inputs.serverlessVersion,
      framework: inputs.framework,
      cacheRoot: runnerDir('tool-cache'),
      env
    }
    const provided = ownFramework(config.dir)
      ? undefined
      : frameworkCache(providedPrefix(config, options).prefix, modules ? [] : starts)
    if (
      provided &&
      (await restoreCache(ctx, provided, existsSync(path.join(provided.paths[0], '.complete')))) === 'miss'
    )
      planSave(ctx, provided)
    ctx.framework = await prepareFramework(config, options)
  })
  ctx.report.serverlessVersion = `${ctx.framework?.name === 'osls' ? 'osls ' : ''}${ctx.framework?.version}`
  publishOutputs(ctx.report)
}

/** The post step saves this cache: its step is about to build it, and caching is on. */
function planSave(ctx: RunContext, spec: CacheSpec): void {
  if (ctx.caches[spec.name] !== 'off') ctx.cachePlan.push(spec)
}

/**
 * Restores one cache, unless caching is off, no cache service answers (said once, in a notice), or
 * the machine already has what it holds: a warm runner downloads nothing.
 */
async function restoreCache(ctx: RunContext, spec: CacheSpec, present = false): Promise<CacheOutcome> {
  if (ctx.inputs.cache && !present && ctx.cacheOff === undefined) {
    ctx.cacheOff = (await cacheServiceReachable()) ?? ''
    if (ctx.cacheOff)
      core.notice(`No caches restored or saved: ${ctx.cacheOff}. The run goes on without them.`, {
        title: 'Caching off'
      })
  }
  const outcome: CacheOutcome = !ctx.inputs.cache
    ? 'off'
    : present
      ? 'local'
      : ctx.cacheOff
        ? 'off'
        : await restore(spec)
  ctx.caches[spec.name] = outcome
  ctx.report.cacheHit = ctx.cacheOff ? undefined : cacheHit(ctx.caches)
  ctx.report.caches = Object.entries(ctx.caches)
    .map(([name, value]) => `${name}: ${value}`)
    .join(', ')
  publishOutputs(ctx.report)
  return outcome
}

/** Runs serverless in its own log group, titled with the command line the action chose. */
function serverless(
  ctx: RunContext,
  command: string[],
  args: string[],
  env: Record<string, string> = {}
): Promise<ServerlessResult> {
  const call = serverlessCall(ctx, command, args)
  call.env = { ...call.env, ...env }
  const title = ['serverless', ...serverlessArgs({ ...call, args: [] })].join(' ')
  return core.group(title, () => runServerless(call))
}

function serverlessCall(ctx: RunContext, command: string[], args: string[]) {
  if (!ctx.framework) throw new Error('the framework is not installed yet')
  return {
    entry: ctx.framework.entry,
    command,
    stage: ctx.inputs.stage,
    region: ctx.inputs.awsRegion,
    args,
    cwd: ctx.config.dir,
    env: { ...startCacheEnv(), ...frameworkEnv(ctx) }
  }
}

/**
 * What every serverless start on an empty machine would compute again: the validator of the config
 * schema, which Serverless compiles with ajv (about 2.5 s here) and keeps under
 * SLS_SCHEMA_CACHE_BASE_DIR, and Node's compiled code of serverless and its plugins
 * (NODE_COMPILE_CACHE, 0.7 s a start). Both are keyed by their content, so a stale entry is never used.
 */
function startCacheDirs(): { schema: string; compiled: string } {
  const dirs = {
    schema: runnerDir('tool-cache', 'serverless-python-deploy', 'serverless-schema'),
    compiled: runnerDir('tool-cache', 'serverless-python-deploy', 'node-compile-cache')
  }
  // The post step saves a cache only when all its paths exist.
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true })
  return dirs
}

/** The start caches, unless the environment chose its own (a person's own settings come first). */
function startCacheEnv(): Record<string, string> {
  const dirs = startCacheDirs()
  return {
    SLS_SCHEMA_CACHE_BASE_DIR: dirs.schema,
    NODE_COMPILE_CACHE: dirs.compiled
  }
}

/** Throws the diagnosis of a failed serverless run. */
function failed(ctx: RunContext, what: string, result: ServerlessResult): never {
  const found = diagnose(result.output, {
    command: ctx.inputs.command,
    dir: ctx.config.dir,
    configFile: ctx.config.configFile,
    stackName: ctx.identity?.stackName,
    region: ctx.identity?.region,
    platform: ctx.report.pipPlatform,
    pythonVersion: ctx.build?.pythonVersion
  })
  throw new UserError(
    found ? found.message : `serverless ${what} failed (exit code ${result.exitCode}); its output is above.`,
    { title: found?.title ?? `serverless ${what} failed`, ...found?.annotation }
  )
}

/**
 * What Serverless resolved, before anything that depends on it: `serverless print` when the values
 * packaging needs are not written out literally, and always before remove and info (which build
 * nothing, so no state file will tell). A deploy or package with literal values asks nothing here:
 * its state file tells the rest after packaging.
 */
export async function resolveService(ctx: RunContext): Promise<void> {
  const { inputs, config } = ctx
  const builds = inputs.command === 'deploy' || inputs.command === 'package'
  if (builds && ctx.build) return
  const call = serverlessCall(ctx, [], forwardedArgs('print', inputs.args))
  const result = await core.group('serverless print (what Serverless resolves)', () => {
    core.info(
      `[command]${process.execPath} ${call.entry} ${serverlessArgs({ ...call, command: ['print', '--format', 'json'] }).join(' ')}`
    )
    return printConfig(call)
  })
  if (result.exitCode !== 0 || !result.config) failed(ctx, 'print', result)
  const identity = identityOf(result.config, { stage: inputs.stage, region: inputs.awsRegion })
  if (!identity) {
    throw new UserError(
      `${path.basename(config.configFile)} resolves to no service name. Set service: to a name such as my-api.`,
      {
        title: 'No service name',
        file: config.configFile
      }
    )
  }
  useIdentity(ctx, identity)
  if (builds) ctx.build = readBuild(result.config, config.configFile)
}

function useIdentity(ctx: RunContext, identity: Identity): void {
  ctx.identity = identity
  learnIdentity(ctx, identity)
}

export async function preparePython(ctx: RunContext): Promise<void> {
  const { inputs } = ctx
  const build = ctx.build
  if (!build) throw new Error('the build is not resolved yet')
  warnAboutRuntime(ctx, build.runtime)
  if (build.dockerizePip) {
    core.notice(
      'custom.pythonRequirements.dockerizePip is on: serverless-python-requirements builds the dependencies in Docker, so the action sets up no Python of its own.'
    )
    return
  }
  const version = inputs.pythonVersion ?? build.pythonVersion
  if (inputs.pythonVersion && !inputs.pythonVersion.startsWith(build.pythonVersion)) {
    core.warning(
      `Input 'python-version' is '${inputs.pythonVersion}' but the functions run on ${build.runtime}: dependencies are built for ${inputs.pythonVersion} and run on ${build.runtime} in Lambda.`
    )
  }
  ctx.python = await setupPython({
    version,
    arch: os.arch(),
    manifestUrl: process.env.PYTHON_VERSIONS_MANIFEST_URL || PYTHON_MANIFEST_URL,
    binDir: runnerDir('temp', 'bin')
  })
  ctx.report.pythonVersion = ctx.python.version
  publishOutputs(ctx.report)
  if (build.ownPlatform) {
    core.info("pip's --platform comes from the service's own pipCmdExtraArgs: the action leaves it as it is.")
  } else {
    ctx.wheelTarget = wheelTarget(build.pythonVersion, build.architecture)
    ctx.report.pipPlatform = ctx.wheelTarget.label
    core.info(
      `pip builds for Lambda: ${build.architecture}, CPython ${build.pythonVersion}, ${ctx.wheelTarget.platforms.join(', ')}`
    )
  }
}

/** A runtime the framework does not know, or one Lambda has deprecated, gets a word before the build. */
function warnAboutRuntime(ctx: RunContext, runtime: string): void {
  const notes = runtimeNotes(runtime, ctx.framework, new Date().toISOString().slice(0, 10))
  if (notes.schema) core.notice(notes.schema.message, { title: notes.schema.title })
  if (notes.deprecated) core.warning(notes.deprecated.message, { title: notes.deprecated.title })
}

/** `serverless package`: builds the artifacts, and leaves Serverless' own account of the service. */
export async function packageService(ctx: RunContext): Promise<void> {
  const { inputs } = ctx
  // A deploy's package step takes the args package knows; the deploy step gets them all.
  const args = inputs.command === 'package' ? inputs.args : forwardedArgs('package', inputs.args)
  const started = Date.now()
  const python = ctx.build?.pythonRequirements && !ctx.build.dockerizePip ? pythonCacheOf(ctx) : undefined
  if (
    python &&
    !['hit', 'local', 'off'].includes(
      await restoreCache(
        ctx,
        python,
        python.paths.every(p => existsSync(p))
      )
    )
  )
    planSave(ctx, python)
  const zips = bytecodeFits(ctx) ? storeZipsEnv(runnerDir('temp'), process.env.NODE_OPTIONS) : {}
  const result = await serverless(ctx, ['package'], args, { ...pipTargetEnv(ctx), ...zips })
  if (result.exitCode !== 0) failed(ctx, 'package', result)
  const packaged = readPackagedService(ctx.config.dir, started - 1000)
  if (!packaged) throw new Error('serverless package left no .serverless/serverless-state.json')
  ctx.packaged = packaged
  useIdentity(ctx, packaged)
  checkStageFits({
    ...packaged,
    functionNames: packaged.functions.map(fn => fn.name),
    roleName: packaged.roleName
  })
}

/** The wheels serverless-python-requirements keeps, and the action's bytecode, for this target. */
function pythonCacheOf(ctx: RunContext): CacheSpec {
  const build = ctx.build as Build
  return pythonCache(ctx.config.dir, ctx.wheelTarget?.label ?? build.architecture, build.pythonVersion, [
    pythonRequirementsCacheDir(),
    pycCacheDir()
  ])
}

function pycCacheDir(): string {
  return runnerDir('tool-cache', 'serverless-python-deploy', 'pyc')
}

/**
 * The runner's folders: its temp folder (emptied after every job) for what this run writes for itself,
 * its tool cache (kept on self-hosted runners) for what later runs reuse. Outside a runner, the OS's.
 */
function runnerDir(kind: 'temp' | 'tool-cache', ...parts: string[]): string {
  const root =
    kind === 'temp'
      ? path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'serverless-python-deploy')
      : process.env.RUNNER_TOOL_CACHE || path.join(os.tmpdir(), 'tool-cache')
  return path.join(root, ...parts)
}

/** The environment that sends serverless-python-requirements' pip to the Lambda platform helper. */
function pipTargetEnv(ctx: RunContext): Record<string, string> {
  if (!ctx.wheelTarget) return {}
  const helper = runnerDir('temp', 'pip-lambda.py')
  mkdirSync(path.dirname(helper), { recursive: true })
  writeFileSync(helper, PIP_HELPER)
  return wheelTargetEnv(ctx.wheelTarget, helper)
}

/** Whether the action's Python is the runtime's own version, so that its bytecode is the one Lambda loads. */
function bytecodeFits(ctx: RunContext): boolean {
  return Boolean(ctx.python && ctx.build && ctx.python.version.startsWith(`${ctx.build.pythonVersion}.`))
}

/**
 * Bytecode for the runtime's Python in every artifact, so that cold starts do not compile; the size
 * the zips come to; and a word on what the zips carry that Lambda never runs.
 */
export async function optimiseArtifact(ctx: RunContext): Promise<void> {
  const build = ctx.build as Build
  const dir = path.join(ctx.config.dir, '.serverless')
  const python = ctx.python
  if (!python || !bytecodeFits(ctx)) {
    core.notice(
      `No bytecode added to the artifact: it must be compiled by Python ${build.pythonVersion}, the runtime's own, and ${python ? `Python ${python.version} (python-version)` : 'no Python of the action (dockerizePip)'} built the dependencies.`
    )
  } else {
    const reports = await addBytecode({
      dir,
      python: python.executable,
      cacheDir: runnerDir('tool-cache', 'serverless-python-deploy', 'artifacts'),
      pycCacheDir: pycCacheDir(),
      tempDir: runnerDir('temp')
    })
    const unused = neverRun(reports)
    if (unused.length) {
      const total = unused.reduce((sum, d) => sum + d.bytes, 0)
      core.notice(
        `The artifact carries ${unused.map(d => `${d.name} (${(d.bytes / 1024).toFixed(0)} KB)`).join(', ')}: ${(total / 1024 / 1024).toFixed(1)} MB that Lambda never runs (development servers, test and lint tools). Move them to requirements-dev.txt.`,
        { title: 'Packages Lambda never runs' }
      )
    }
  }
  const size = readdirSync(dir)
    .filter(name => name.endsWith('.zip'))
    .reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0)
  ctx.report.artifactSize = String(size)
  publishOutputs(ctx.report)
}

function access(ctx: RunContext): StackAccess {
  if (!ctx.identity) throw new Error('the service is not resolved yet')
  return { region: ctx.identity.region, credentials: ctx.credentials?.credentials }
}

/**
 * The stack once no other run is changing it: a deploy or remove of the same stage waits, bounded and
 * logged, instead of failing on "is in UPDATE_IN_PROGRESS state" or cancelling the other run.
 */
async function settledStack(ctx: RunContext) {
  const identity = ctx.identity as Identity
  try {
    return await waitUntilSettled(identity.stackName, access(ctx), {
      timeoutMs: STACK_WAIT_MS,
      pollMs: 15_000,
      log: message => core.info(message)
    })
  } catch (error) {
    if (!(error instanceof StackBusyError)) throw error
    throw new UserError(
      `Stack ${identity.stackName} is still ${error.info.status} after ${Math.round(error.waitedMs / 60000)} minutes: another deploy of stage ${identity.stage} is running, or one that was cut short left CloudFormation busy. Nothing was changed. Run again once it has finished (the CloudFormation console shows its events), and give the workflow a concurrency group per stage.`,
      { title: 'Stack busy' }
    )
  }
}

/** The other regions of the partition where a stack of the service's name exists. */
async function stackElsewhere(ctx: RunContext): Promise<string[]> {
  const identity = ctx.identity as Identity
  const partition = partitionOfRegion(identity.region)
  if (!partition) return []
  const found = await regionsWithStack(identity.stackName, partition.regions, ctx.credentials?.credentials)
  return found.filter(region => region !== identity.region)
}

/**
 * Before a deploy: waits out another run's update, and clears a stack whose first create failed
 * (ROLLBACK_COMPLETE holds nothing and CloudFormation cannot update it). A stack stuck in
 * UPDATE_ROLLBACK_FAILED is left alone with the command that frees it.
 */
export async function awaitStack(ctx: RunContext): Promise<void> {
  const identity = ctx.identity as Identity
  let stack = await settledStack(ctx)
  if (stack && condition(stack.status) === 'failed-create') {
    core.notice(
      `Stack ${stack.name} is ROLLBACK_COMPLETE: its first deploy failed and rolled back, so it holds nothing and CloudFormation cannot update it. Deleting it before deploying again.`
    )
    await deleteFailedStack(ctx, stack.name)
    stack = undefined
  }
  if (stack && condition(stack.status) === 'failed') {
    throw new UserError(rollbackFailedAdvice(stack.name, identity.region), { title: `Stack ${stack.status}` })
  }
  ctx.stackBefore = stack
  // What the stage serves now: a failed smoke test rolls back to exactly this.
  if (stack) ctx.previous = await liveDeployment(stack.name, access(ctx))
}

/** Long enough for a Lambda + API deploy to finish; short of the job's own timeout. */
const STACK_WAIT_MS = 20 * 60_000

async function deleteFailedStack(ctx: RunContext, name: string): Promise<void> {
  await deleteStack(name, access(ctx))
  const after = await waitUntilSettled(name, access(ctx), {
    timeoutMs: STACK_WAIT_MS,
    pollMs: 5000,
    log: m => core.info(m)
  })
  if (after)
    throw new UserError(`Stack ${name} could not be deleted (${after.status}: ${after.reason ?? ''}).`, {
      title: 'Stack not deleted'
    })
}

/** `serverless deploy --package .serverless`: deploys exactly what the package step built. */
export async function deployPackage(ctx: RunContext): Promise<void> {
  const identity = ctx.identity as Identity
  const started = new Date(Date.now() - 5000)
  ctx.deployStartedAt = started.getTime()
  const result = await serverless(ctx, ['deploy', '--package', '.serverless'], ctx.inputs.args)
  if (result.exitCode === 0) return
  // The cause is the first resource that failed, from the stack's events, and the stage's state after.
  const failure = await firstFailure(identity.stackName, started, access(ctx)).catch(() => undefined)
  const after = await describeStack(identity.stackName, access(ctx)).catch(() => undefined)
  if (!failure) failed(ctx, 'deploy', result)
  const serving =
    after && after.status === 'UPDATE_ROLLBACK_COMPLETE'
      ? ` CloudFormation rolled the stack back: stage ${identity.stage} still serves the previous deployment.`
      : after && after.status === 'ROLLBACK_COMPLETE'
        ? ' It was the first deploy of the stage and rolled back: nothing serves yet; the next deploy clears the failed stack first.'
        : ''
  throw new UserError(
    `CloudFormation failed to deploy ${identity.stackName}: ${failure.logicalId} (${failure.type}) ${failure.status}: ${failure.reason}.${serving}`,
    { title: 'Deploy failed in CloudFormation' }
  )
}

/** The URL from the stack's outputs, not from the CLI's text. */
export async function readUrl(ctx: RunContext): Promise<void> {
  const identity = ctx.identity as Identity
  const stack = await describeStack(identity.stackName, access(ctx))
  if (!stack) throw await missingStack(ctx)
  ctx.report.url = serviceUrl(stack.outputs)
  publishOutputs(ctx.report)
  if (!ctx.report.url)
    core.warning(
      `Stack ${identity.stackName} has no HttpApiUrl, ServiceEndpoint or function URL output; url is empty.`
    )
}

/** The stack is not where Serverless says the service lives: say where it is, if anywhere. */
async function missingStack(ctx: RunContext): Promise<UserError> {
  const identity = ctx.identity as Identity
  const elsewhere = await stackElsewhere(ctx)
  const where = elsewhere.length
    ? ` A stack of that name exists in ${elsewhere.join(', ')}: set aws-region (or provider.region) to ${elsewhere.length === 1 ? 'it' : 'the one you mean'}.`
    : ` No region of the ${partitionOfRegion(identity.region)?.id ?? 'aws'} partition has a stack of that name: deploy the stage first.`
  return new UserError(
    `Stack ${identity.stackName} does not exist in ${identity.region}${ctx.report.accountId ? ` (account ${ctx.report.accountId})` : ''}.${where}`,
    { title: 'No such stack' }
  )
}

export async function showInfo(ctx: RunContext): Promise<void> {
  const identity = ctx.identity as Identity
  if (!(await describeStack(identity.stackName, access(ctx)))) throw await missingStack(ctx)
  const result = await serverless(ctx, ['info'], ctx.inputs.args)
  if (result.exitCode !== 0) failed(ctx, 'info', result)
}

/** `serverless remove`; a stage that is already gone is a success with a notice, so a teardown can run twice. */
export async function removeStack(ctx: RunContext): Promise<void> {
  const identity = ctx.identity as Identity
  const stack = await settledStack(ctx)
  if (!stack) {
    const elsewhere = await stackElsewhere(ctx)
    core.notice(
      `Stack ${identity.stackName} does not exist in ${identity.region}: stage ${identity.stage} is already removed, nothing to do.${elsewhere.length ? ` (A stack of that name exists in ${elsewhere.join(', ')}: set aws-region to remove that one.)` : ''}`,
      { title: 'Nothing to remove' }
    )
    ctx.report.removed = 'already gone'
    return
  }
  const result = await serverless(ctx, ['remove'], ctx.inputs.args)
  if (result.exitCode !== 0) {
    // Removed meanwhile (another teardown): the goal is reached.
    if (
      /does not exist/.test(serverlessError(result.output) ?? '') &&
      !(await describeStack(identity.stackName, access(ctx)))
    ) {
      core.notice(`Stack ${identity.stackName} was removed meanwhile; nothing left to do.`)
      return
    }
    failed(ctx, 'remove', result)
  }
  ctx.report.removed = 'removed'
}

/**
 * The smoke test: GET the stage's URL (or smoke-test-url) plus smoke-test-path until it answers as
 * expected. When it does not, the functions' own log events since the deploy are read for the report.
 */
export async function smokeTestDeploy(ctx: RunContext): Promise<void> {
  const { inputs, report } = ctx
  if (!inputs.smokeTestPath) {
    report.smoke = 'off (smoke-test-path is empty)'
    return
  }
  // A rehearsal against LocalStack or moto reports an AWS URL that nothing serves.
  if (!inputs.smokeTestUrl && process.env.AWS_ENDPOINT_URL) {
    report.smoke = 'not run: AWS_ENDPOINT_URL is set (a rehearsal; set smoke-test-url to probe one)'
    core.info(`Smoke test ${report.smoke}.`)
    return
  }
  const base = inputs.smokeTestUrl ?? report.url
  if (!base) {
    report.smoke = 'not run: the stack reports no URL (set smoke-test-url)'
    core.warning(`Smoke test ${report.smoke}.`)
    return
  }
  const result = await smokeTest({
    base,
    path: inputs.smokeTestPath,
    timeoutMs: inputs.smokeTestTimeoutSeconds * 1000,
    expect: inputs.smokeTestExpect,
    log: message => core.info(message)
  })
  ctx.smoke = result
  report.smokeStatus = result.status === undefined ? '' : String(result.status)
  report.smoke = `${result.passed ? '✅' : '❌'} GET ${result.url}: ${result.status !== undefined ? `HTTP ${result.status}` : result.error} (${result.attempts} attempt${result.attempts === 1 ? '' : 's'}, ${result.seconds.toFixed(1)}s)`
  publishOutputs(report)
  if (result.passed) {
    core.info(`Smoke test passed: ${report.smoke}`)
    return
  }
  const names = ctx.packaged?.functions.map(fn => fn.name) ?? []
  if (names.length && ctx.deployStartedAt) {
    const events = await functionLogs(names, {
      region: (ctx.identity as Identity).region,
      credentials: ctx.credentials?.credentials,
      since: ctx.deployStartedAt
    }).catch(error => {
      core.warning(
        `The functions' logs could not be read: ${error instanceof Error ? error.message : String(error)}`
      )
      return []
    })
    report.functionLogs = events.length
      ? formatLogs(events)
      : `No log events from ${names.join(', ')} since the deploy: the request may not have reached a function.`
  }
}

/**
 * After a failed smoke test: back to the deployment the stage served before this run (Serverless v3
 * keeps it in its bucket; serverless rollback --timestamp redeploys its template), a check that the
 * rolled-back stage answers, and the step fails either way.
 */
export async function rollBackIfFailed(ctx: RunContext): Promise<void> {
  const { inputs, report } = ctx
  const smoke = ctx.smoke
  if (!smoke || smoke.passed) return
  const identity = ctx.identity as Identity
  report.rolledBack = 'false'
  if (!inputs.rollbackOnFailure) {
    report.rollback = 'not asked for (rollback-on-failure: false): the stage keeps the failing deployment'
  } else if (!ctx.previous) {
    report.rollback = `nothing to roll back to: this was the first deploy of stage ${identity.stage}`
  } else if ((await liveDeployment(identity.stackName, access(ctx)))?.timestamp === ctx.previous.timestamp) {
    report.rollback =
      'nothing to roll back: this run deployed nothing new, and the stage serves what it served before'
  } else {
    const result = await serverless(
      ctx,
      ['rollback', '--timestamp', ctx.previous.timestamp],
      forwardedArgs('rollback', inputs.args)
    )
    if (result.exitCode !== 0) {
      report.rollback = `failed: ${serverlessError(result.output) ?? `exit code ${result.exitCode}`}`
    } else {
      report.rolledBack = 'true'
      const again = await smokeTest({
        base: inputs.smokeTestUrl ?? (report.url as string),
        path: inputs.smokeTestPath as string,
        timeoutMs: inputs.smokeTestTimeoutSeconds * 1000,
        expect: inputs.smokeTestExpect,
        log: message => core.info(message)
      })
      report.rollback = `rolled back to the deployment of ${new Date(Number(ctx.previous.timestamp)).toISOString()} (${ctx.previous.directory}); ${again.passed ? `it answers: HTTP ${again.status}` : `it does not answer either (${again.status !== undefined ? `HTTP ${again.status}` : again.error})`}`
    }
  }
  publishOutputs(report)
  throw new UserError(
    [
      smokeFailure(smoke, inputs.smokeTestExpect),
      report.functionLogs ? `The functions' logs since the deploy:\n${report.functionLogs}` : undefined,
      `Rollback: ${report.rollback}.`
    ]
      .filter(Boolean)
      .join('\n'),
    {
      title:
        report.rolledBack === 'true' ? 'Smoke test failed and the stage was rolled back' : 'Smoke test failed'
    }
  )
}

/** The sticky pull-request comment: after every deploy or remove of a preview, passed or failed. */
export async function commentOnPullRequest(ctx: RunContext): Promise<void> {
  const { inputs, report } = ctx
  // Previews come and go with deploy and remove; info and package change nothing to report.
  if (!inputs.commentOnPr || !report.service || !report.stage) return
  if (inputs.command !== 'deploy' && inputs.command !== 'remove') return
  const pullRequest = pullRequestOf()
  if (!pullRequest) {
    core.info('comment-on-pr is set, but this run is not for a pull request: no comment.')
    return
  }
  if (!inputs.githubToken) {
    core.warning('comment-on-pr is set, but github-token is empty: no comment.')
    return
  }
  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com'
  const body = previewBody({
    service: report.service,
    stage: report.stage,
    command: inputs.command,
    url: report.url,
    commit: pullRequest.headSha ?? process.env.GITHUB_SHA,
    smoke: report.smoke,
    removed: inputs.command === 'remove' && !report.error,
    failed: report.error,
    runUrl: process.env.GITHUB_RUN_ID
      ? `${server}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
      : undefined
  })
  const result = await upsertComment({
    token: inputs.githubToken,
    apiUrl: process.env.GITHUB_API_URL ?? 'https://api.github.com',
    pullRequest,
    marker: marker(report.service, report.stage),
    body
  })
  if ('refused' in result) {
    core.warning(
      `The pull request comment was not written (${result.refused}). Give the job permissions: pull-requests: write (and issues: write for GHES), or set comment-on-pr: false.`,
      { title: 'No pull request comment' }
    )
    return
  }
  report.commentUrl = result.url
  publishOutputs(report)
  core.info(
    `${result.created ? 'Commented' : 'Updated the comment'} on pull request #${pullRequest.number}: ${result.url}`
  )
}
