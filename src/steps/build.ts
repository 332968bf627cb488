import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { addBytecode, neverRun, storeZipsEnv } from '../artifact.js'
import { pythonBuildKey, pythonCache, pythonRequirementsCacheDir } from '../cache.js'
import { envFor, known, learnIdentity, tell, type RunContext } from '../context.js'
import { runtimeNotes } from '../framework.js'
import { PYTHON_MANIFEST_URL, setupPython } from '../python.js'
import { failed, forwardedArgs, serverless } from '../serverless.js'
import { readPackagedService } from '../service.js'
import { checkStageFits } from '../stage.js'
import { wheelTarget, wheelTargetEnv } from '../wheels.js'
import { tellCaches } from './prepare.js'

/**
 * Building: the runtime's Python in the runner, `serverless package` with pip aimed at Lambda's
 * platform, and bytecode in the artifact.
 */

export async function preparePython(ctx: RunContext): Promise<void> {
  const { inputs, edges } = ctx
  const build = known(ctx, 'build')
  warnAboutRuntime(ctx, build.runtime)
  if (build.dockerizePip) {
    edges.runner.notice(
      'custom.pythonRequirements.dockerizePip is on: serverless-python-requirements builds the dependencies in Docker, so the action sets up no Python of its own.'
    )
    return
  }
  const version = inputs.pythonVersion ?? build.pythonVersion
  if (inputs.pythonVersion && !inputs.pythonVersion.startsWith(build.pythonVersion)) {
    edges.runner.warning(
      `Input 'python-version' is '${inputs.pythonVersion}' but the functions run on ${build.runtime}: dependencies are built for ${inputs.pythonVersion} and run on ${build.runtime} in Lambda.`
    )
  }
  ctx.python = await setupPython(
    {
      version,
      arch: edges.arch,
      manifestUrl: edges.env.PYTHON_VERSIONS_MANIFEST_URL || PYTHON_MANIFEST_URL,
      binDir: ctx.paths.temp('bin')
    },
    {
      exec: edges.exec,
      env: envFor(ctx, 'python'),
      setupEnv: envFor(ctx, 'python-setup'),
      log: edges.runner.info,
      addPath: edges.runner.addPath
    }
  )
  tell(ctx, { pythonVersion: ctx.python.version })
  if (build.ownPlatform) {
    edges.runner.info(
      "pip's --platform comes from the service's own pipCmdExtraArgs: the action leaves it as it is."
    )
  } else {
    ctx.wheelTarget = wheelTarget(build.pythonVersion, build.architecture)
    ctx.report.pipPlatform = ctx.wheelTarget.label
    edges.runner.info(
      `pip builds for Lambda: ${build.architecture}, CPython ${build.pythonVersion}, ${ctx.wheelTarget.platforms.join(', ')}`
    )
  }
}

/** A runtime the framework does not know, or one Lambda has deprecated, gets a word before the build. */
function warnAboutRuntime(ctx: RunContext, runtime: string): void {
  const today = new Date(ctx.edges.clock.now()).toISOString().slice(0, 10)
  const notes = runtimeNotes(runtime, ctx.framework, today)
  if (notes.schema) ctx.edges.runner.notice(notes.schema.message, { title: notes.schema.title })
  if (notes.deprecated) ctx.edges.runner.warning(notes.deprecated.message, { title: notes.deprecated.title })
}

/** `serverless package`: builds the artifacts, and leaves Serverless' own account of the service. */
export async function packageService(ctx: RunContext): Promise<void> {
  const { inputs } = ctx
  const build = known(ctx, 'build')
  // The package command takes every arg; a deploy's package step only those package knows.
  const args = ctx.traits.serverless === 'package' ? inputs.args : forwardedArgs('package', inputs.args)
  const started = ctx.edges.clock.now()
  const buildKey = pythonBuildKey(
    ctx.config.dir,
    ctx.wheelTarget?.label ?? build.architecture,
    build.pythonVersion
  )
  // serverless-python-requirements builds in a cache of this build's own, in the runner's temp folder:
  // what it installs there is shipped, so nothing of it comes from a cache or an earlier job.
  const xdg = ctx.paths.temp('python-build', buildKey)
  const downloads = path.join(
    pythonRequirementsCacheDir({ ...ctx.edges.env, XDG_CACHE_HOME: xdg }),
    'downloadCacheslspyc'
  )
  if (build.pythonRequirements && !build.dockerizePip) {
    const python = pythonCache(downloads, buildKey)
    const outcome = await ctx.caches.restore(python, existsSync(downloads))
    if (outcome === 'miss' || outcome === 'partial') ctx.caches.planSave(python)
    tellCaches(ctx)
  }
  dropBuiltWheels(downloads)
  const zips = bytecodeFits(ctx) ? storeZipsEnv(ctx.edges.env.NODE_OPTIONS) : {}
  const pip = ctx.wheelTarget ? wheelTargetEnv(ctx.wheelTarget) : {}
  const result = await serverless(ctx, ['package'], args, { ...pip, ...zips, XDG_CACHE_HOME: xdg })
  dropBuiltWheels(downloads)
  if (result.exitCode !== 0) failed(ctx, 'package', result)
  const packaged = readPackagedService(ctx.config.dir, started - 1000)
  if (!packaged) throw new Error('serverless package left no .serverless/serverless-state.json')
  ctx.packaged = packaged
  ctx.identity = packaged
  learnIdentity(ctx, packaged)
  checkStageFits({
    ...packaged,
    functionNames: packaged.functions.map(fn => fn.name),
    roleName: packaged.roleName
  })
}

/**
 * pip reuses the wheels it built from source distributions (wheels/ in its cache) without checking
 * them against anything: they are built again in every run, and never kept for the next.
 */
function dropBuiltWheels(downloads: string): void {
  rmSync(path.join(downloads, 'wheels'), { recursive: true, force: true })
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
  const { edges } = ctx
  const build = known(ctx, 'build')
  const dir = path.join(ctx.config.dir, '.serverless')
  const python = ctx.python
  if (!python || !bytecodeFits(ctx)) {
    edges.runner.notice(
      `No bytecode added to the artifact: it must be compiled by Python ${build.pythonVersion}, the runtime's own, and ${python ? `Python ${python.version} (python-version)` : 'no Python of the action (dockerizePip)'} built the dependencies.`
    )
  } else {
    const reports = await addBytecode({
      dir,
      python: python.executable,
      exec: edges.exec,
      env: envFor(ctx, 'python'),
      log: edges.runner.info
    })
    const unused = neverRun(reports)
    if (unused.length) {
      const total = unused.reduce((sum, d) => sum + d.bytes, 0)
      edges.runner.notice(
        `The artifact carries ${unused.map(d => `${d.name} (${(d.bytes / 1024).toFixed(0)} KB)`).join(', ')}: ${(total / 1024 / 1024).toFixed(1)} MB that Lambda never runs (development servers, test and lint tools). Move them to requirements-dev.txt.`,
        { title: 'Packages Lambda never runs' }
      )
    }
  }
  const size = readdirSync(dir)
    .filter(name => name.endsWith('.zip'))
    .reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0)
  tell(ctx, { artifactSize: String(size) })
}
