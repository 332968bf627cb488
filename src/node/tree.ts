import { createHash } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync
} from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'

const inflate = promisify(gunzip)

/**
 * Packages in flight: their tarballs inflate on libuv's thread pool while this thread reads and compares
 * the files of the one before, so both of a runner's cores work.
 */
const PACKAGES_IN_FLIGHT = 8

/**
 * Whether a node_modules holds exactly what package-lock.json gives: every package's files equal to
 * the files of its tarball, the tarball equal to the lockfile's integrity hash, and nothing else
 * (no extra file, no link out of the tree). A node_modules restored from a cache or left by an earlier
 * job is used only when this holds: a cache entry written by anyone who can write the cache, or a
 * file an earlier job changed, would otherwise run with the deploy role. Tarballs come from npm's own
 * content-addressed cache (content-v2, named by their hash), which a verified tarball proves itself
 * against; measured on the starter's tree (666 packages, 25,800 files, 200 MB): about a second.
 */

export interface TreeCheck {
  ok: boolean
  packages: number
  files: number
  /** Why the tree is not what the lockfile gives: the first difference found. */
  problem?: string
}

interface LockPackage {
  version?: string
  resolved?: string
  integrity?: string
  link?: boolean
  optional?: boolean
  dev?: boolean
}

/** npm's own lockfile entries written into node_modules, which npm reads but never runs. */
const NPM_OWN = new Set(['.package-lock.json'])

/** Where npm's cache keeps the content of an integrity hash, and the hash to check it against. */
function contentPath(
  cache: string,
  integrity: string
): { file: string; algorithm: string; digest: string } | undefined {
  const [algorithm, digest] = integrity.split(/\s+/)[0].split(/-(.*)/s)
  if (!algorithm || !digest) return undefined
  const hex = Buffer.from(digest, 'base64').toString('hex')
  return {
    file: path.join(
      cache,
      '_cacache',
      'content-v2',
      algorithm,
      hex.slice(0, 2),
      hex.slice(2, 4),
      hex.slice(4)
    ),
    algorithm,
    digest
  }
}

/** The tarball of an integrity hash in one of npm's caches, checked against that hash. */
function tarball(
  integrity: string,
  caches: string[],
  project: string,
  resolved?: string
): Buffer | undefined {
  const first = contentPath('', integrity)
  if (!first) return undefined
  const candidates = caches.map(cache => contentPath(cache, integrity)?.file as string)
  // A `file:` dependency's tarball is the project's own file.
  if (resolved?.startsWith('file:')) candidates.push(path.resolve(project, resolved.slice(5)))
  for (const file of candidates) {
    if (!existsSync(file)) continue
    const data = readFileSync(file)
    if (createHash(first.algorithm).update(data).digest('base64') === first.digest) return data
  }
  return undefined
}

/** The regular files of a tarball, by their path inside the package (npm strips the first folder). */
async function tarFiles(data: Buffer): Promise<Map<string, Buffer>> {
  // Inflated into one buffer of the size gzip's trailer records (ISIZE, RFC 1952): zlib's default 16 KiB
  // chunks, concatenated afterwards, cost a fifth of the whole check.
  const size = data.length >= 18 ? data.readUInt32LE(data.length - 4) : 0
  const tar = await inflate(data, { chunkSize: Math.max(64 * 1024, size + 1) })
  const files = new Map<string, Buffer>()
  let offset = 0
  let longName: string | undefined
  let pax: Record<string, string> = {}
  const text = (start: number, length: number) =>
    tar
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0.*$/s, '')
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512)
    if (header.every(byte => byte === 0)) break
    let name = text(offset, 100)
    const prefix = text(offset + 345, 155)
    if (prefix) name = `${prefix}/${name}`
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8)
    const type = String.fromCharCode(header[156] || 48)
    const body = tar.subarray(offset + 512, offset + 512 + size)
    offset += 512 + Math.ceil(size / 512) * 512
    if (type === 'x') {
      for (const match of body.toString('utf8').matchAll(/\d+ ([^=]+)=([^\n]*)\n/g)) pax[match[1]] = match[2]
      continue
    }
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '')
      continue
    }
    if (longName) name = longName
    if (pax.path) name = pax.path
    longName = undefined
    pax = {}
    if (type === '0' || type === '\0' || type === '7')
      files.set(path.posix.normalize(name.split('/').slice(1).join('/')), body)
  }
  return files
}

/** Checks a project's node_modules against its package-lock.json (v2 or v3) and npm's caches. */
export async function checkTree(project: string, lockfile: string, caches: string[]): Promise<TreeCheck> {
  // Absolute, as the .bin links' targets are when the walk resolves them.
  const dir = path.resolve(project)
  const modules = path.join(dir, 'node_modules')
  const fail = (problem: string, packages = 0, files = 0): TreeCheck => ({
    ok: false,
    packages,
    files,
    problem
  })
  if (!existsSync(modules)) return fail('there is no node_modules')
  let lock: { lockfileVersion?: number; packages?: Record<string, LockPackage> }
  try {
    lock = JSON.parse(readFileSync(lockfile, 'utf8')) as typeof lock
  } catch {
    return fail(`${path.basename(lockfile)} is not JSON`)
  }
  if (!lock.packages)
    return fail(`${path.basename(lockfile)} is a version 1 lockfile, which names no installed paths`)
  // What the lockfile says is there, in its order: the first package that fails is the one reported.
  const installed: { key: string; where: string; entry: LockPackage }[] = []
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') && !key.includes('/node_modules/')) continue
    const where = path.join(dir, key)
    if (!existsSync(where)) {
      // npm leaves out optional packages for other platforms.
      if (entry.optional) continue
      return fail(`${key} is missing`)
    }
    if (entry.link) return fail(`${key} is a link (a workspace or file: folder), which cannot be checked`)
    if (!entry.integrity) return fail(`${key} has no integrity hash in the lockfile`)
    installed.push({ key, where, entry })
  }
  const results: PackageCheck[] = new Array(installed.length)
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < installed.length) {
      const index = next++
      results[index] = await checkPackage(installed[index], dir, caches)
      if (results[index].problem) failed = true
    }
  }
  await Promise.all(Array.from({ length: Math.min(PACKAGES_IN_FLIGHT, installed.length) }, worker))
  const expected = new Set<string>()
  let packages = 0
  let files = 0
  for (const result of results) {
    // Packages run in the lockfile's order, so every one before a failed one has finished.
    if (!result) break
    if (result.problem) return fail(result.problem, packages, files)
    packages++
    files += result.files.length
    for (const file of result.files) expected.add(file)
  }
  const extra = unexpected(modules, expected)
  if (extra) return fail(extra, packages, files)
  return { ok: true, packages, files }
}

interface PackageCheck {
  /** Its files' absolute paths, each equal to its tarball's. */
  files: string[]
  problem?: string
}

/** One package: its tarball proved against the lockfile's hash, then every file of it against the tarball. */
async function checkPackage(
  { key, where, entry }: { key: string; where: string; entry: LockPackage },
  dir: string,
  caches: string[]
): Promise<PackageCheck> {
  const data = tarball(entry.integrity as string, caches, dir, entry.resolved)
  if (!data)
    return { files: [], problem: `the tarball of ${key} is in no npm cache, so its files cannot be checked` }
  const members = [...(await tarFiles(data))].map(([name, content]) => ({
    file: path.join(where, name),
    content
  }))
  for (const { file, content } of members) {
    // Read at once, not looked at first: a link in a file's place is refused by the walk afterwards.
    let found: Buffer
    try {
      found = readFileSync(file)
    } catch {
      return { files: [], problem: `${path.relative(dir, file)} is missing` }
    }
    if (!found.equals(content))
      return { files: [], problem: `${path.relative(dir, file)} differs from its package's tarball` }
  }
  return { files: members.map(member => member.file) }
}

/**
 * The first file no package brought, or link that leads anywhere but to a package's own file (npm's
 * .bin links are the only links it makes).
 */
function unexpected(modules: string, expected: Set<string>): string | undefined {
  const walk = (folder: string): string | undefined => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name)
      if (entry.isDirectory()) {
        const found = walk(full)
        if (found) return found
      } else if (entry.isSymbolicLink()) {
        const target = path.resolve(folder, readlinkSync(full))
        if (path.basename(folder) !== '.bin' || !expected.has(target))
          return `${path.relative(path.dirname(modules), full)} is a link that leads outside the packages' files`
      } else if (!expected.has(full) && !(folder === modules && NPM_OWN.has(entry.name))) {
        return `${path.relative(path.dirname(modules), full)} belongs to no package of the lockfile`
      }
    }
    return undefined
  }
  return walk(modules)
}

/**
 * The lockfile's tarballs, gathered from npm's caches into a folder laid out as npm's cache: what a
 * node_modules cache entry carries along, so that a restored tree can be proved, without the rest of
 * a runner's npm cache. Hard links where the file systems allow.
 */
export function gatherTarballs(lockfile: string, caches: string[], into: string): number {
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages?: Record<string, LockPackage> }
  let gathered = 0
  for (const entry of Object.values(lock.packages ?? {})) {
    if (!entry.integrity || entry.link) continue
    const target = contentPath(into, entry.integrity)
    if (!target || existsSync(target.file)) continue
    const source = caches
      .map(cache => contentPath(cache, entry.integrity as string)?.file)
      .find(file => file && existsSync(file))
    if (!source) continue
    mkdirSync(path.dirname(target.file), { recursive: true })
    try {
      linkSync(source, target.file)
    } catch {
      copyFileSync(source, target.file)
    }
    gathered++
  }
  return gathered
}
