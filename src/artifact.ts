import * as core from '@actions/core'
import * as exec from '@actions/exec'
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import path from 'node:path'

/**
 * Artifacts that start fast. Lambda's /var/task is read-only, so Python cannot keep the bytecode it
 * compiles: an artifact without __pycache__ recompiles every module it imports on every cold start.
 * After `serverless package`, each zip gets bytecode compiled by the runtime's own Python version
 * (unchecked-hash .pyc, which zip timestamps cannot invalidate), is written again deterministically,
 * and the compiled CloudFormation template learns the new hashes, so that `serverless deploy
 * --package` deploys exactly these zips. The same input zip is transformed once: the result is kept
 * by its hash.
 */

export interface ArtifactReport {
  file: string
  size: number
  /** What each distribution adds to the zip, in bytes (from its dist-info RECORD). */
  distributions: Record<string, number>
}

export interface TransformOptions {
  /** The .serverless folder. */
  dir: string
  /** The runtime's Python: compiles for its own version. */
  python: string
  /** Where transformed zips are kept by input hash (the runner's tool cache). */
  cacheDir: string
  /** Where each module's bytecode is kept by its path and content, across artifacts and runs. */
  pycCacheDir: string
  /** Where the helper script is written. */
  tempDir: string
}

/** Bump when the transform changes, so that results kept from an older one are not reused. */
const TRANSFORM_VERSION = '4'

const TRANSFORM = String.raw`"""Adds bytecode to a Lambda zip, deterministically (serverless-python-deploy)."""
import hashlib, importlib.util, json, os, shutil, sys, zipfile
from importlib import _bootstrap_external

source, target, pyc_cache = sys.argv[1], sys.argv[2], sys.argv[3]
TAG = sys.implementation.cache_tag


def pyc_name(name):
    folder, base = os.path.split(name)
    return (folder + "/" if folder else "") + "__pycache__/" + base[:-3] + "." + TAG + ".pyc"


def bytecode(name, data, prefix):
    """Unchecked-hash bytecode: valid whatever the zip's timestamps, never stat'ed at import."""
    dfile = prefix + "/" + name
    key = hashlib.sha256(dfile.encode() + b"\0" + TAG.encode() + b"\0" + data).hexdigest()
    cached = os.path.join(pyc_cache, key[:2], key + ".pyc")
    if os.path.exists(cached):
        with open(cached, "rb") as f:
            return f.read(), True
    try:
        code = compile(data, dfile, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None, False  # a file Python cannot compile (a template, another version's syntax) stays source only
    pyc = _bootstrap_external._code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    with open(cached + ".tmp", "wb") as f:
        f.write(pyc)
    os.replace(cached + ".tmp", cached)
    return pyc, False


def main():
    with zipfile.ZipFile(source) as z:
        infos = z.infolist()
        files = [i.filename for i in infos if not i.filename.endswith("/")]
        # Layers unpack under /opt (their content sits in python/), functions under /var/task.
        prefix = "/opt" if files and all(n.startswith("python/") for n in files) else "/var/task"
        compiled, reused, pycs, stored = 0, 0, {}, []
        for name in sorted(files):
            if name.endswith(".py"):
                pyc, hit = bytecode(name, z.read(name), prefix)
                if pyc is not None:
                    pycs[pyc_name(name)] = pyc
                    reused, compiled = reused + hit, compiled + (not hit)
        # Timestamp-based bytecode from pip: the zip's 1980 dates invalidate it, so it goes.
        stale = [n for n in files if n.endswith(".pyc")]
        # Entries serverless-python-requirements stored uncompressed (STORE_PRELOAD): compressed here, once.
        stored = [i for i in infos if i.compress_type == zipfile.ZIP_STORED and i.file_size and not i.is_dir()]
        if stale or stored:
            with zipfile.ZipFile(target, "w") as out:
                for info in infos:
                    if info.filename.endswith(".pyc"):
                        continue
                    data = z.read(info.filename)
                    if info.is_dir():
                        out.writestr(info, data)
                    else:
                        out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
        else:
            shutil.copyfile(source, target)
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        for name in sorted(pycs):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, pycs[name])
    sizes = {i.filename: i.compress_size for i in zipfile.ZipFile(target).infolist()}
    # What each distribution adds: the files its RECORD names, and their bytecode.
    distributions = {}
    with zipfile.ZipFile(target) as z:
        for name in sizes:
            if name.endswith(".dist-info/RECORD"):
                folder = name.split("/")[-2]
                dist = folder[: -len(".dist-info")].rsplit("-", 1)[0]
                base = name[: -len(folder) - len("/RECORD")]
                owned = set()
                for line in z.read(name).decode("utf-8", "replace").splitlines():
                    path = base + line.split(",")[0]
                    owned.add(path)
                    if path.endswith(".py"):
                        owned.add(pyc_name(path))
                distributions[dist] = sum(sizes.get(p, 0) for p in owned)
    print(json.dumps({"distributions": distributions, "compiled": compiled, "reused": reused, "compressed": len(stored)}))


if __name__ == "__main__":
    main()
`

function sha256(file: string, encoding: 'hex' | 'base64'): string {
  return createHash('sha256').update(readFileSync(file)).digest(encoding)
}

/**
 * serverless-python-requirements writes its zips at DEFLATE level 9 in JavaScript (pako, in
 * lib/zipTree.js): measured here, half of `serverless package`'s CPU time, for zips the transform below
 * rewrites anyway. Preloaded into serverless when the transform will run, this makes the plugin store
 * them uncompressed; the transform then compresses every entry once, with zlib. Whatever does not load
 * that file (another plugin version, another layout) is left as it is, and its zips stay valid.
 */
const STORE_PRELOAD = `'use strict'
// serverless-python-deploy: serverless-python-requirements stores its zips; the action compresses them.
const Module = require('node:module')
const path = require('node:path')
const load = Module._load
const ZIP_TREE = ['', 'serverless-python-requirements', 'lib', 'zipTree.js'].join(path.sep)
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments)
  // Only the plugin's own require('./zipTree'): other modules' exports are not touched.
  if (typeof request !== 'string' || !['zipTree', 'zipTree.js'].includes(path.basename(request))) return loaded
  let file = ''
  try {
    file = Module._resolveFilename(request, parent, isMain)
  } catch {}
  if (file.endsWith(ZIP_TREE) && typeof loaded.writeZip === 'function' && !loaded.writeZip.stores) {
    const writeZip = loaded.writeZip
    loaded.writeZip = Object.assign(
      function (zip) {
        const generate = zip.generateNodeStream
        zip.generateNodeStream = function (options) {
          return generate.call(this, { ...options, compression: 'STORE' })
        }
        return writeZip.apply(this, arguments)
      },
      { stores: true }
    )
  }
  return loaded
}
`

/** NODE_OPTIONS that preload STORE_PRELOAD, after the ones the environment already has. */
export function storeZipsEnv(tempDir: string, nodeOptions: string | undefined): Record<string, string> {
  const preload = path.join(tempDir, 'spd-store-zips.cjs')
  mkdirSync(tempDir, { recursive: true })
  writeFileSync(preload, STORE_PRELOAD)
  return { NODE_OPTIONS: [nodeOptions, `--require ${JSON.stringify(preload)}`].filter(Boolean).join(' ') }
}

/** Transforms every zip under .serverless and points the compiled template at the new ones. */
export async function addBytecode(options: TransformOptions): Promise<ArtifactReport[]> {
  const helper = path.join(options.tempDir, 'spd-artifact.py')
  mkdirSync(options.tempDir, { recursive: true })
  writeFileSync(helper, TRANSFORM)
  const version = (
    await exec.getExecOutput(options.python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      silent: true
    })
  ).stdout.trim()
  mkdirSync(options.cacheDir, { recursive: true })
  const zips = readdirSync(options.dir).filter(name => name.endsWith('.zip'))
  const replaced = new Map<string, string>()
  const reports: ArtifactReport[] = []
  for (const name of zips) {
    const file = path.join(options.dir, name)
    const before = sha256(file, 'base64')
    const key = createHash('sha256')
      .update(`${TRANSFORM_VERSION}\n${version}\n${before}`)
      .digest('hex')
      .slice(0, 32)
    const cached = path.join(options.cacheDir, `${key}.zip`)
    const cachedReport = path.join(options.cacheDir, `${key}.json`)
    let distributions: Record<string, number>
    // The zip may be a link into serverless-python-requirements' own cache (layer: true): it is
    // replaced by a file of its own, never written through, so that cache stays as the plugin made it.
    const out = `${file}.spd`
    if (existsSync(cached) && existsSync(cachedReport)) {
      copyFileSync(cached, out)
      distributions = JSON.parse(readFileSync(cachedReport, 'utf8')) as Record<string, number>
      core.info(`${name}: the same zip as an earlier run's, transformed then`)
    } else {
      const result = await exec.getExecOutput(options.python, [helper, file, out, options.pycCacheDir], {
        silent: true,
        ignoreReturnCode: true
      })
      if (result.exitCode !== 0) {
        throw new Error(
          `Adding bytecode to ${name} failed (exit code ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-5).join('\n')}`
        )
      }
      const made = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
        distributions: Record<string, number>
        compiled: number
        reused: number
        compressed: number
      }
      distributions = made.distributions
      core.info(
        `${name}: bytecode for ${made.compiled + made.reused} modules (${made.reused} from the bytecode cache), ${made.compressed} stored entries compressed`
      )
      copyFileSync(out, cached)
      writeFileSync(cachedReport, JSON.stringify(distributions))
    }
    renameSync(out, file)
    replaced.set(before, sha256(file, 'base64'))
    reports.push({ file: name, size: statSync(file).size, distributions })
  }
  pointTemplatesAt(options.dir, replaced)
  prune(options.cacheDir, 40)
  return reports
}

/**
 * Serverless put each zip's hash in the template (AWS::Lambda::Version's CodeSha256, which Lambda
 * checks) and in its state file, from which `deploy --package` uploads the template.
 */
function pointTemplatesAt(dir: string, replaced: Map<string, string>): void {
  for (const name of ['cloudformation-template-update-stack.json', 'serverless-state.json']) {
    const file = path.join(dir, name)
    if (!existsSync(file)) continue
    let text = readFileSync(file, 'utf8')
    for (const [before, after] of replaced) text = text.split(before).join(after)
    writeFileSync(file, text)
  }
}

/** Keeps the newest entries of the transform cache. */
function prune(dir: string, keep: number): void {
  const entries = readdirSync(dir)
    .filter(name => name.endsWith('.zip'))
    .map(name => ({ name, time: statSync(path.join(dir, name)).mtimeMs }))
    .sort((a, b) => b.time - a.time)
  for (const entry of entries.slice(keep)) {
    rmSync(path.join(dir, entry.name), { force: true })
    rmSync(path.join(dir, entry.name.replace(/\.zip$/, '.json')), { force: true })
  }
}

/**
 * Distributions a Lambda function never runs: development servers, test and lint tools. They belong
 * in requirements-dev.txt.
 */
const NEVER_RUN =
  /^(uvicorn|uvloop|httptools|watchfiles|websockets|gunicorn|hypercorn|pytest.*|pluggy|iniconfig|coverage|hypothesis|black|ruff|flake8|mypy|pylint|isort|ipython|jupyter.*)$/i

export function neverRun(reports: ArtifactReport[]): { name: string; bytes: number }[] {
  const found = new Map<string, number>()
  for (const report of reports)
    for (const [name, bytes] of Object.entries(report.distributions))
      if (NEVER_RUN.test(name)) found.set(name, (found.get(name) ?? 0) + bytes)
  return [...found].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes)
}
