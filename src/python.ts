import * as tc from '@actions/tool-cache'
import { HttpClient } from '@actions/http-client'
import { createHash } from 'node:crypto'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { UserError } from './errors.js'
import type { Exec } from './exec.js'

/**
 * The manifest actions/setup-python reads, pinned to one commit of actions/python-versions
 * (2026-08-12), with its sha256: a manifest that moved would be a manifest nobody reviewed. Its
 * builds run `setup.sh` into the shared tool cache. Updating it: take a newer commit's
 * versions-manifest.json, and its sha256 (sha256sum of the raw file).
 */
export const PYTHON_MANIFEST = {
  url: 'https://raw.githubusercontent.com/actions/python-versions/7ecd5646f5754416c84a566afefc50324526a3d9/versions-manifest.json',
  sha256: 'a347426f697c90e5569ef8dadf2a4467bb9ae2459c9f11c26b78b7ed8c1c51ba'
}

export interface Interpreter {
  /** Full version, `3.11.9`. */
  version: string
  executable: string
  /** platform.machine() of the interpreter (x86_64, aarch64): the code it can load. */
  machine: string
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
  source: DownloadSource
  /** Where the `python3`, `python3.X` and `pip` shims go; it is put first on PATH. */
  binDir: string
}

const PROBE =
  'import json, platform, sys; print(json.dumps({"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3], "machine": platform.machine()}))'

/** Runs a candidate rather than trusting its name: pyenv shims exist for versions that are not selected. */
export async function probe(
  command: string,
  deps: Pick<PythonDeps, 'exec' | 'env'>
): Promise<{ executable: string; version: string; machine: string } | undefined> {
  try {
    const result = await deps.exec(command, ['-c', PROBE], { env: deps.env, silent: true })
    if (result.exitCode !== 0) return undefined
    return JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as {
      executable: string
      version: string
      machine: string
    }
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

/** A file of the manifest; `sha256` is a mirror's addition (actions/python-versions gives none). */
type ManifestFile = tc.IToolReleaseFile & { sha256?: string }
type Manifest = (Omit<tc.IToolRelease, 'files'> & { files: ManifestFile[] })[]

/**
 * The build a version resolves to, for this machine: tool-cache matches the OS release exactly, so the
 * newest build for the platform is the fallback. `sha256` when the manifest gives one (a mirror's).
 */
export async function pickRelease(
  manifest: Manifest,
  version: string,
  arch: string
): Promise<{ version: string; url: string; sha256?: string } | undefined> {
  const exact = await tc.findFromManifest(version, true, manifest as tc.IToolRelease[], arch)
  const exactFile = exact?.files[0] as ManifestFile | undefined
  if (exact && exactFile)
    return { version: exact.version, url: exactFile.download_url, sha256: exactFile.sha256 }
  const candidates = manifest.filter(release => release.stable && matches(version, release.version))
  for (const release of candidates) {
    const files = release.files
      .filter(file => file.platform === process.platform && file.arch === arch)
      .sort((a, b) =>
        (b.platform_version ?? '').localeCompare(a.platform_version ?? '', undefined, { numeric: true })
      )
    if (files[0]) return { version: release.version, url: files[0].download_url, sha256: files[0].sha256 }
  }
  return undefined
}

/** What a download of Python needs besides the manifest: GitHub's API, for a release asset's digest. */
export interface DownloadSource {
  manifestUrl: string
  /** The manifest's own sha256, when it is the pinned one. */
  manifestSha256?: string
  /** GITHUB_API_URL, and a token for it (github-token: the API allows few unauthenticated calls). */
  apiUrl: string
  token?: string
}

function https(what: string, url: string): URL {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (parsed?.protocol !== 'https:')
    throw new UserError(
      `${what} is '${url}': Python builds are downloaded over https only, so that what setup.sh installs is what was published. Use an https:// URL.`,
      { title: 'Python download refused' }
    )
  return parsed
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

/**
 * The sha256 a build must have: the manifest's, or for a GitHub release asset, the digest GitHub
 * records for it (release assets carry one since 2025).
 */
async function expectedDigest(
  release: { url: string; sha256?: string },
  source: DownloadSource,
  http: HttpClient
): Promise<string> {
  if (release.sha256) return release.sha256.toLowerCase()
  const asset = /^https:\/\/github\.com\/([^/]+)\/([^/]+)\/releases\/download\/([^/]+)\/([^/]+)$/.exec(
    release.url
  )
  if (asset) {
    const [, owner, repo, tag, name] = asset
    const response = await http.getJson<{ assets?: { name?: string; digest?: string }[] }>(
      `${source.apiUrl}/repos/${owner}/${repo}/releases/tags/${tag}`,
      source.token ? { authorization: `Bearer ${source.token}` } : {}
    )
    const digest = response.result?.assets?.find(entry => entry.name === decodeURIComponent(name))?.digest
    if (digest?.startsWith('sha256:')) return digest.slice('sha256:'.length).toLowerCase()
  }
  throw new UserError(
    `The Python build ${release.url} has no checksum to verify it against (the manifest names none, and it is no GitHub release asset with a digest). Nothing was installed. Use a manifest that gives each file's sha256, or install that Python before this step.`,
    { title: 'Python download not verified' }
  )
}

/** How long a connection to the manifest or a build may stay silent. */
const SOCKET_TIMEOUT_MS = 60_000

/**
 * A build into the runner's temp folder, through the same time-bounded client (tool-cache's
 * downloadTool has no socket timeout, so a stalled transfer would wait until the job's timeout).
 */
async function downloadFile(http: HttpClient, url: string): Promise<string> {
  const response = await http.get(url)
  if (response.message.statusCode !== 200) {
    response.message.resume()
    throw new Error(`HTTP ${response.message.statusCode}`)
  }
  const dir = mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'python-download-'))
  const file = path.join(dir, path.basename(new URL(url).pathname) || 'python.tar.gz')
  await pipeline(response.message, createWriteStream(file))
  return file
}

/** Why the network refused, in a word a person recognises, for messages. */
function reason(error: unknown): string {
  const code =
    (error as { code?: string; cause?: { code?: string } }).code ??
    (error as { cause?: { code?: string } }).cause?.code
  return code
    ? `${code}${(error as Error).message?.includes(code) ? '' : `: ${(error as Error).message}`}`
    : String((error as Error).message ?? error)
}

/**
 * Downloads a build from the manifest actions/setup-python uses, pinned to one commit and checked
 * against its sha256, and verifies the build's archive before its installer (setup.sh) runs, with
 * the child environment a Python installer gets (no token, no credentials).
 */
export async function download(
  version: string,
  arch: string,
  source: DownloadSource,
  deps: PythonDeps
): Promise<Interpreter> {
  const manifestUrl = https('The Python versions manifest', source.manifestUrl)
  // A stalled connection fails the step in a minute instead of holding the job until its timeout.
  const http = new HttpClient('serverless-python-deploy', [], { socketTimeout: SOCKET_TIMEOUT_MS })
  const where = `Python ${version} is not on this runner (not on PATH, not in the tool cache)`
  let text: string
  try {
    const response = await http.get(manifestUrl.href)
    if (response.message.statusCode !== 200) throw new Error(`HTTP ${response.message.statusCode}`)
    text = await response.readBody()
  } catch (error) {
    throw new UserError(
      `${where}, and its versions manifest could not be read from ${manifestUrl.host} (${reason(error)}). Install that Python in an earlier step (actions/setup-python), or let the runner reach ${manifestUrl.host}.`,
      { title: 'Python not available' }
    )
  }
  if (source.manifestSha256 && sha256(Buffer.from(text)) !== source.manifestSha256)
    throw new UserError(
      `The Python versions manifest from ${manifestUrl.href} is not the pinned one (its sha256 differs). Nothing was installed.`,
      { title: 'Python download not verified' }
    )
  const release = await pickRelease(JSON.parse(text) as Manifest, version, arch)
  if (!release) {
    throw new UserError(
      `Python ${version} has no build for ${process.platform}/${arch} in ${manifestUrl.href}. Set python-version (or provider.runtime) to a released Lambda Python version, or install that Python before this step.`
    )
  }
  https(`Python ${release.version}'s download URL`, release.url)
  const digest = await expectedDigest(release, source, http)
  deps.log(`Downloading Python ${release.version} from ${release.url} (sha256 ${digest})`)
  let archive: string
  try {
    archive = await downloadFile(http, release.url)
  } catch (error) {
    throw new UserError(
      `${where}, and its download from ${new URL(release.url).host} failed (${reason(error)}). Install that Python in an earlier step (actions/setup-python), or let the runner reach ${new URL(release.url).host}.`,
      { title: 'Python not available' }
    )
  }
  const got = sha256(readFileSync(archive))
  if (got !== digest) {
    rmSync(path.dirname(archive), { recursive: true, force: true })
    throw new UserError(
      `The Python ${release.version} build from ${release.url} has sha256 ${got}, not ${digest}: it is not what was published. Nothing was installed.`,
      { title: 'Python download not verified' }
    )
  }
  const extracted = await tc.extractTar(archive)
  rmSync(path.dirname(archive), { recursive: true, force: true })
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
    (await download(options.version, options.arch, options.source, deps))
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
    // While the action packages, pip writes no bytecode: the artifact step compiles every module for
    // the runtime's Python (or none, where the action's Python is another version, whose .pyc Lambda
    // would never load), so pip's own compile would be work done twice and bytes shipped for nothing.
    // An explicit flag, because pip reads PIP_NO_COMPILE inverted (PIP_NO_COMPILE=1 compiles).
    'if [ -n "$SPD_PIP_NO_COMPILE" ] && [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ "$3" = "install" ]; then',
    '  shift 3',
    '  set -- -m pip install --no-compile "$@"',
    'fi',
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
