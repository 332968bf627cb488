import * as tc from '@actions/tool-cache'
import { HttpClient } from '@actions/http-client'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { UserError } from './errors.js'
import type { Exec } from './exec.js'

/** The manifest actions/setup-python reads; its builds run `setup.sh` into the shared tool cache. */
export const PYTHON_MANIFEST_URL =
  'https://raw.githubusercontent.com/actions/python-versions/main/versions-manifest.json'

export interface Interpreter {
  /** Full version, `3.11.9`. */
  version: string
  executable: string
  source: 'path' | 'tool-cache' | 'download'
  /** The folder of the `python3`, `python3.X` and `pip` shims, once exposed: first on every child's PATH. */
  shims?: string
}

/** The edges Python setup touches. */
export interface PythonDeps {
  exec: Exec
  /** The environment of the action's own Python (child-env.ts: 'python'). */
  env: Record<string, string>
  /** The environment of a downloaded build's installer (child-env.ts: 'python-setup'). */
  setupEnv: Record<string, string>
  log: (message: string) => void
  /** Puts a folder on PATH for the job's later steps. */
  addPath: (dir: string) => void
}

export interface PythonOptions {
  /** `3.11` or `3.11.9`. */
  version: string
  arch: string
  manifestUrl: string
  /** Where the `python3`, `python3.X` and `pip` shims go; it is put first on PATH. */
  binDir: string
}

const PROBE =
  'import json, sys; print(json.dumps({"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]}))'

/** Runs a candidate rather than trusting its name: pyenv shims exist for versions that are not selected. */
export async function probe(
  command: string,
  deps: Pick<PythonDeps, 'exec' | 'env'>
): Promise<{ executable: string; version: string } | undefined> {
  try {
    const result = await deps.exec(command, ['-c', PROBE], { env: deps.env, silent: true })
    if (result.exitCode !== 0) return undefined
    return JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as { executable: string; version: string }
  } catch {
    return undefined
  }
}

function matches(wanted: string, actual: string): boolean {
  return actual === wanted || actual.startsWith(`${wanted}.`)
}

export async function findOnPath(
  version: string,
  deps: Pick<PythonDeps, 'exec' | 'env'>
): Promise<Interpreter | undefined> {
  const minor = version.split('.').slice(0, 2).join('.')
  for (const command of [`python${minor}`, 'python3']) {
    const found = await probe(command, deps)
    if (found && matches(version, found.version)) return { ...found, source: 'path' }
  }
  return undefined
}

export async function findInToolCache(
  version: string,
  arch: string,
  deps: Pick<PythonDeps, 'exec' | 'env'>
): Promise<Interpreter | undefined> {
  const dir = tc.find('Python', version, arch)
  if (!dir) return undefined
  const found = await probe(path.join(dir, 'bin', 'python3'), deps)
  return found && matches(version, found.version) ? { ...found, source: 'tool-cache' } : undefined
}

type Manifest = tc.IToolRelease[]

/** Picks a build for this machine; tool-cache matches the OS release exactly, so fall back to the newest build for the platform. */
export async function pickRelease(
  manifest: Manifest,
  version: string,
  arch: string
): Promise<{ version: string; url: string } | undefined> {
  const exact = await tc.findFromManifest(version, true, manifest, arch)
  if (exact?.files[0]) return { version: exact.version, url: exact.files[0].download_url }
  const candidates = manifest.filter(release => release.stable && matches(version, release.version))
  for (const release of candidates) {
    const files = release.files
      .filter(file => file.platform === process.platform && file.arch === arch)
      .sort((a, b) =>
        (b.platform_version ?? '').localeCompare(a.platform_version ?? '', undefined, { numeric: true })
      )
    if (files[0]) return { version: release.version, url: files[0].download_url }
  }
  return undefined
}

export async function download(
  version: string,
  arch: string,
  manifestUrl: string,
  deps: PythonDeps
): Promise<Interpreter> {
  const http = new HttpClient('serverless-python-deploy')
  const response = await http.getJson<Manifest>(manifestUrl)
  const release = await pickRelease(response.result ?? [], version, arch)
  if (!release) {
    throw new UserError(
      `Python ${version} has no build for ${process.platform}/${arch} in ${manifestUrl}. Set python-version (or provider.runtime) to a released Lambda Python version, or install that Python before this step.`
    )
  }
  deps.log(`Downloading Python ${release.version} from ${release.url}`)
  const archive = await tc.downloadTool(release.url)
  const extracted = await tc.extractTar(archive)
  // The build's own installer lays it out in $RUNNER_TOOL_CACHE/Python/<version>/<arch>, as setup-python does.
  const setup = await deps.exec('bash', ['./setup.sh'], { cwd: extracted, env: deps.setupEnv })
  if (setup.exitCode !== 0)
    throw new Error(
      `Python ${release.version}'s setup.sh failed (exit code ${setup.exitCode}); its output is above`
    )
  const installed = await findInToolCache(release.version, arch, deps)
  if (!installed)
    throw new Error(
      `Python ${release.version} was installed from ${release.url} but is not in the tool cache`
    )
  return { ...installed, source: 'download' }
}

export async function setupPython(options: PythonOptions, deps: PythonDeps): Promise<Interpreter> {
  const interpreter =
    (await findOnPath(options.version, deps)) ??
    (await findInToolCache(options.version, options.arch, deps)) ??
    (await download(options.version, options.arch, options.manifestUrl, deps))
  const shims = expose(interpreter, options.binDir, deps.addPath)
  deps.log(`Python ${interpreter.version} (${interpreter.source}): ${interpreter.executable}`)
  return { ...interpreter, shims }
}

/**
 * Makes `python`, `python3`, `python3.X`, `pip` and `pip3` this interpreter for every later process, so
 * serverless-python-requirements' default `pythonBin` finds it. Wrappers rather than symlinks keep a
 * virtual environment's interpreter working as one.
 */
export function expose(interpreter: Interpreter, binDir: string, addPath: (dir: string) => void): string {
  mkdirSync(binDir, { recursive: true })
  const minor = interpreter.version.split('.').slice(0, 2).join('.')
  const quoted = `'${interpreter.executable.replace(/'/g, `'\\''`)}'`
  // While the action packages, SPD_PIP_HELPER is set in serverless' environment only: then the
  // `-m pip install` that serverless-python-requirements runs goes to the helper that targets
  // Lambda's platform (wheels.ts). Everywhere else the shim is the interpreter, nothing more.
  const shim = [
    '#!/bin/sh',
    // No Python the action starts needs AWS credentials, pip least of all (serverless-python-
    // requirements starts it from the credentialed serverless process).
    'unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN',
    'if [ -n "$SPD_PIP_HELPER" ] && [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ "$3" = "install" ]; then',
    '  shift 3',
    `  exec ${quoted} "$SPD_PIP_HELPER" "$@"`,
    'fi',
    `exec ${quoted} "$@"`,
    ''
  ].join('\n')
  for (const name of ['python', 'python3', `python${minor}`]) {
    writeFileSync(path.join(binDir, name), shim, { mode: 0o755 })
  }
  for (const name of ['pip', 'pip3', `pip${minor}`]) {
    writeFileSync(
      path.join(binDir, name),
      `#!/bin/sh\nunset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN\nexec ${quoted} -m pip "$@"\n`,
      { mode: 0o755 }
    )
  }
  // For the job's later steps, as setup-python does: a tool-cache build's own scripts folder, then the
  // shims. The action's own children get the shims first on PATH from the run context instead.
  if (interpreter.source !== 'path') addPath(path.dirname(interpreter.executable))
  addPath(binDir)
  return binDir
}
