import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { addBytecode, neverRun, preloadEnv } from '../artifact.js'
import { pythonPins, toolShim } from '../python-pins.js'
import { pythonBuildKey, pythonCache, pythonRequirementsCacheDir } from '../cache.js'
import { envFor, known, learnIdentity, tell, type RunContext } from '../context.js'
import { runtimeNotes } from '../framework.js'
import { PYTHON_MANIFEST, setupPython } from '../python.js'
import { failed, forwardedArgs, serverless } from '../serverless.js'
import { readPackagedService, type ServiceFunction } from '../packaged.js'
import { checkStageFits } from '../stage.js'
import { UserError } from '../errors.js'
import {
  describeFailure,
  describeProblems,
  dynamicCheck,
  needsBoto,
  removeReadOnly,
  runsTarget,
  staticCheck,
  unpack,
  type Unpacked
} from '../verify.js'
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
      source: {
        // A mirror's manifest (PYTHON_VERSIONS_MANIFEST_URL) is not pinned: its files must give their sha256.
        ...(edges.env.PYTHON_VERSIONS_MANIFEST_URL
          ? { manifestUrl: edges.env.PYTHON_VERSIONS_MANIFEST_URL }
          : { manifestUrl: PYTHON_MANIFEST.url, manifestSha256: PYTHON_MANIFEST.sha256 }),
        apiUrl: edges.env.GITHUB_API_URL || 'https://api.github.com',
        token: inputs.githubToken
      },
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
  keepOnlyDownloads(downloads)
  const pins =
    build.pythonRequirements && !build.dockerizePip
      ? await pythonPins(ctx.pythonProject, {
          pythonVersion: build.pythonVersion,
          architecture: build.architecture,
          file: ctx.paths.temp('python-pins', `${buildKey}.txt`),
          exec: ctx.edges.exec,
          env: envFor(ctx, 'python'),
          ownShims: ctx.python?.shims
        })
      : undefined
  if (pins?.tool && ctx.python?.shims) toolShim(ctx.python.shims, pins.tool)
  if (pins) ctx.edges.runner.info(`Python dependencies: ${pins.how}`)
  const preloads = [
    ...(build.pythonRequirements ? ['layer-link.cjs'] : []),
    ...(bytecodeFits(ctx) ? ['store-zips.cjs'] : []),
    ...(pins?.file ? ['python-pins.cjs'] : [])
  ]
  const pipLog = ctx.paths.temp('pip.log')
  rmSync(pipLog, { force: true })
  const env = {
    ...(ctx.wheelTarget ? { ...wheelTargetEnv(ctx.wheelTarget), SPD_PIP_LOG: pipLog } : {}),
    ...preloadEnv(ctx.edges.env.NODE_OPTIONS, preloads),
    ...(pins?.file ? { SPD_PYTHON_PINS: pins.file } : {}),
    XDG_CACHE_HOME: xdg,
    // The Python shims (python.ts) then pass --no-compile to serverless-python-requirements' pip.
    SPD_PIP_NO_COMPILE: '1'
  }
  const result = await serverless(ctx, ['package'], args, env)
  // Not saved with the downloads (the post step saves that folder).
  rmSync(path.join(downloads, 'wheels'), { recursive: true, force: true })
  if (result.exitCode !== 0) {
    // pip's own words, which some serverless-python-requirements releases do not print.
    const pip = existsSync(pipLog) ? readFileSync(pipLog, 'utf8').slice(-64 * 1024) : ''
    failed(
      ctx,
      'package',
      pip && !result.output.includes(pip.slice(-200))
        ? { ...result, output: `${pip}\n${result.output}` }
        : result
    )
  }
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
 * Of serverless-python-requirements' cache folder, only pip's downloads stay, which pip checks against
 * the index's hashes. pip reuses the wheels it built from source distributions (wheels/) without
 * checking them against anything, and the plugin ships its static caches (<hash>_<arch>_slspyc) as it
 * finds them; this build's folder is in RUNNER_TEMP, which an earlier step of the job shares. So both
 * are built again in every run, and never kept for the next.
 */
function keepOnlyDownloads(downloads: string): void {
  rmSync(path.join(downloads, 'wheels'), { recursive: true, force: true })
  const root = path.dirname(downloads)
  if (!existsSync(root)) return
  for (const entry of readdirSync(root))
    if (entry !== path.basename(downloads)) rmSync(path.join(root, entry), { recursive: true, force: true })
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
  if (build.slim) {
    edges.runner.notice(
      "custom.pythonRequirements.slim is on, so serverless-python-requirements strips bytecode and the action adds none back: every cold start compiles what it imports (the template's starter imports in 1.45 s without bytecode, 0.68 s with it). For bytecode, set slim: false: the action compiles it for the runtime's Python and adds it after the plugin's build.",
      { title: 'No bytecode (slim)' }
    )
  } else if (!python || !bytecodeFits(ctx)) {
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

/**
 * Every zip verified before anything is uploaded: the static check always (unless verify: off), and
 * the dynamic one (verify: full) where the runner can run the target's machine code with the runtime's
 * Python. A problem stops the run here, before any AWS call that changes something.
 */
export async function verifyArtifact(ctx: RunContext): Promise<void> {
  const { inputs, edges } = ctx
  const build = known(ctx, 'build')
  const packaged = known(ctx, 'packaged')
  const functions = packaged.functions.filter(fn => fn.artifact)
  tell(ctx, { artifactSha256: artifactDigests(packaged.functions) })
  if (inputs.verify === 'off') {
    ctx.report.verification = 'off (verify: off)'
    return
  }
  const python = ctx.python?.executable ?? 'python3'
  const deps = { exec: edges.exec, python, env: envFor(ctx, 'python') }
  const started = edges.clock.now()
  const notRun = inputs.verify === 'full' ? dynamicNotRun(ctx) : undefined
  const workDir = ctx.paths.temp('verify')
  // Unpacking needs only the zips: it runs beside the static check, on the runner's other core, and is
  // thrown away if the static check refuses them.
  const unpacking = inputs.verify === 'full' && !notRun ? unpack(deps, functions, workDir) : undefined
  unpacking?.catch(() => undefined)
  try {
    const found = await staticCheck(deps, {
      runtime: build.runtime,
      architecture: build.architecture,
      functions
    })
    ctx.report.packages = found.packages
    ctx.artifactSizes = Object.fromEntries(found.zips.map(zip => [zip.path, zip.unzipped]))
    const lines = [
      `static: ${found.zips.length} zip${found.zips.length === 1 ? '' : 's'}, ${found.packages.length} packages, ${found.problems.length} problems (${found.seconds.toFixed(2)} s)`
    ]
    for (const note of found.notes) edges.runner.info(`Artifact check: ${note.message}`)
    if (found.problems.length) {
      ctx.report.verification = lines.join('; ')
      throw new UserError(
        `The artifact would not run on Lambda (${build.runtime}, ${build.architecture}); nothing was uploaded.\n${describeProblems(found.problems)}`,
        { title: 'Artifact would not run on Lambda' }
      )
    }
    if (notRun) lines.push(notRun)
    else if (unpacking) lines.push(await runDynamic(ctx, deps, functions, await unpacking))
    ctx.report.verification = `${lines.join('; ')}; ${((edges.clock.now() - started) / 1000).toFixed(1)} s in all`
    edges.runner.info(`Artifact verified: ${ctx.report.verification}`)
  } finally {
    if (unpacking) {
      await unpacking.catch(() => undefined)
      removeReadOnly(workDir)
    }
  }
}

/** Why the dynamic check cannot run on this runner, in one line for the summary; undefined if it can. */
function dynamicNotRun(ctx: RunContext): string | undefined {
  const build = known(ctx, 'build')
  if (!ctx.python || !bytecodeFits(ctx))
    return `dynamic: not run (it needs Python ${build.pythonVersion}, the runtime's own, and the action's Python is ${ctx.python?.version ?? 'none (dockerizePip)'})`
  if (!runsTarget(ctx.python.machine, build.architecture))
    return `dynamic: not run (the action's Python is ${ctx.python.machine}, which cannot load ${build.architecture} code; run the job on an ${build.architecture} runner for it); the static checks passed`
  return undefined
}

/** The dynamic check, from the unpacked zips; what it found, in one line for the summary. */
async function runDynamic(
  ctx: RunContext,
  deps: { exec: RunContext['edges']['exec']; python: string; env: Record<string, string> },
  functions: ServiceFunction[],
  unpacked: Unpacked
): Promise<string> {
  const { inputs } = ctx
  const identity = known(ctx, 'identity')
  const spec = {
    functions,
    region: identity.region,
    stage: identity.stage,
    path: inputs.smokeTestPath,
    expect: inputs.smokeTestExpect
  }
  let report = await dynamicCheck(deps, spec, unpacked)
  // Lambda provides boto3 and botocore to every function: a handler that relies on that gets them.
  if (!report.passed && needsBoto(report))
    report = await dynamicCheck(deps, { ...spec, boto: await lambdaBoto(ctx, deps) }, unpacked)
  const failed = report.functions.find(fn => !fn.passed)
  if (failed) {
    throw new UserError(
      `${failed.name} fails before it is deployed: the check imported its handler${failed.invocations.length ? ' and called it' : ''} as Lambda would, with no credentials and no network; nothing was uploaded.\n${describeFailure(failed)}`,
      { title: 'Function fails its check' }
    )
  }
  return `dynamic: ${report.functions
    .map(
      fn =>
        `${fn.key} imported in ${fn.importSeconds?.toFixed(2)} s${fn.invocations.map(call => `, GET ${call.path} → ${call.status} (${call.kind})`).join('')}`
    )
    .join('; ')}`
}

/** boto3 and botocore as a Lambda runtime provides them, installed for this run only. */
async function lambdaBoto(
  ctx: RunContext,
  deps: { exec: RunContext['edges']['exec']; python: string; env: Record<string, string> }
): Promise<string> {
  const dir = ctx.paths.temp('lambda-runtime', `python${known(ctx, 'build').pythonVersion}`)
  if (existsSync(path.join(dir, 'boto3'))) return dir
  ctx.edges.runner.info(
    `Installing boto3 for the check, as the ${known(ctx, 'build').runtime} runtime provides it to functions`
  )
  const result = await deps.exec(
    deps.python,
    ['-m', 'pip', 'install', '--quiet', '--only-binary=:all:', '--target', dir, 'boto3'],
    {
      env: deps.env
    }
  )
  if (result.exitCode !== 0)
    throw new Error(`pip could not install boto3 for the check (exit code ${result.exitCode})`)
  return dir
}

/** The sha256 of what will be uploaded: one digest for one zip, a JSON map of file names for several. */
function artifactDigests(functions: ServiceFunction[]): string | undefined {
  const zips = [
    ...new Set(functions.flatMap(fn => [...(fn.artifact ? [fn.artifact] : []), ...fn.layers]))
  ].sort()
  const digests = zips.map(zip => [
    path.basename(zip),
    createHash('sha256').update(readFileSync(zip)).digest('hex')
  ])
  if (digests.length <= 1) return digests[0]?.[1]
  return JSON.stringify(Object.fromEntries(digests))
}
