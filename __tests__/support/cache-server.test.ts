import { restoreCache, saveCache } from '@actions/cache'
import { BlobClient, BlockBlobClient } from '@azure/storage-blob'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { cacheVersion, startCacheServer, type CacheServer } from './cache-server.js'

// The real toolkit runs in-process here. It reads its environment at call time, so pointing
// process.env at the server before each call is all the wiring it needs.
const SERVICE = 'twirp/github.actions.results.api.v1.CacheService/'
// The toolkit compresses with zstd when `zstd --version` answers, else gzip; the version hash follows.
const zstd = spawnSync('zstd', ['--quiet', '--version'], { encoding: 'utf8' })
const compression = zstd.status === 0 && zstd.stdout.trim() ? 'zstd-without-long' : 'gzip'

let server: CacheServer
let root: string
let workspace: string
const originalEnv = { ...process.env }

function setEnv(values: Record<string, string>): void {
  Object.assign(process.env, values)
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cache-server-test-'))
  workspace = path.join(root, 'workspace')
  await mkdir(path.join(root, 'runner-temp'), { recursive: true })
  await mkdir(workspace, { recursive: true })
  server = await startCacheServer()
  // Without RUNNER_TEMP the toolkit writes archives under /home/actions/temp.
  setEnv({ ...server.env, GITHUB_WORKSPACE: workspace, RUNNER_TEMP: path.join(root, 'runner-temp') })
})

afterAll(async () => {
  await server?.stop()
  if (root) await rm(root, { recursive: true, force: true })
  for (const name of Object.keys(process.env)) if (!(name in originalEnv)) delete process.env[name]
  Object.assign(process.env, originalEnv)
})

/** Runs toolkit calls with stdout captured: @actions/core logs (info, ::warning::) go there. */
async function captured<T>(work: () => Promise<T>): Promise<{ value: T; log: string }> {
  const write = process.stdout.write
  let log = ''
  process.stdout.write = ((chunk: string | Uint8Array) => {
    log += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    return true
  }) as typeof process.stdout.write
  try {
    const value = await work()
    return { value, log }
  } finally {
    process.stdout.write = write
  }
}

async function writeTree(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), content)
  }
}

async function readTree(dir: string): Promise<Record<string, string>> {
  const tree: Record<string, string> = {}
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    tree[path.relative(dir, file)] = (await readFile(file)).toString('base64')
  }
  return tree
}

function encoded(files: Record<string, string | Buffer>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([name, value]) => [name, Buffer.from(value).toString('base64')])
  )
}

async function twirp(
  method: string,
  body: Record<string, unknown>,
  token = server.env.ACTIONS_RUNTIME_TOKEN
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${SERVICE}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body)
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const rpcs = (from = 0) =>
  server.requests.slice(from).map(request => `${request.rpc ?? `${request.method} blob`} ${request.status}`)

test('saves a folder through the real toolkit and restores it into the emptied folder', async () => {
  const dir = path.join(workspace, 'build')
  const files = {
    'a.txt': 'alpha\n',
    'nested/deeper/b.txt': 'beta\n',
    // Incompressible, so the archive is a few hundred KB rather than a few bytes.
    'blob.bin': randomBytes(300_000)
  }
  await writeTree(dir, files)
  const from = server.requests.length

  const saved = await captured(() => saveCache([dir], 'build-linux-1'))
  expect(saved.value).toBeGreaterThan(0)
  expect(rpcs(from)).toEqual(['CreateCacheEntry 200', 'PUT blob 201', 'FinalizeCacheEntryUpload 200'])
  const entry = server.entries().find(candidate => candidate.key === 'build-linux-1')
  expect(entry).toEqual({
    key: 'build-linux-1',
    version: cacheVersion([dir], compression),
    size: expect.any(Number),
    finalized: true
  })
  expect(entry?.size).toBeGreaterThan(300_000)

  await rm(dir, { recursive: true })
  const restored = await captured(() => restoreCache([dir], 'build-linux-1'))
  expect(restored.value).toBe('build-linux-1')
  expect(restored.log).toContain('Cache restored successfully')
  expect(await readTree(dir)).toEqual(encoded(files))
  const lookup = server.requests.filter(request => request.rpc === 'GetCacheEntryDownloadURL').at(-1)
  expect(lookup?.body).toEqual({ key: 'build-linux-1', version: entry?.version })
  expect(server.requests.at(-1)).toMatchObject({ method: 'GET', status: 200 })
})

test('restore keys match by prefix, newest first, after the exact key and a prefix match of the key', async () => {
  const dir = path.join(workspace, 'deps')
  for (const [key, content] of [
    ['deps-linux-aaa', 'first'],
    ['deps-linux-bbb', 'second'],
    ['other-linux-ccc', 'third']
  ]) {
    await writeTree(dir, { 'which.txt': content })
    expect((await captured(() => saveCache([dir], key))).value).toBeGreaterThan(0)
  }
  const restore = async (key: string, restoreKeys: string[]) => {
    await rm(dir, { recursive: true, force: true })
    const { value, log } = await captured(() => restoreCache([dir], key, restoreKeys))
    return {
      key: value,
      content: existsSync(dir) ? await readFile(path.join(dir, 'which.txt'), 'utf8') : '',
      log
    }
  }

  const viaRestoreKey = await restore('deps-linux-zzz', ['deps-linux-'])
  expect(viaRestoreKey).toMatchObject({ key: 'deps-linux-bbb', content: 'second' })
  expect(viaRestoreKey.log).toContain('Cache hit for restore-key: deps-linux-bbb')
  // An exact hit wins over newer entries that merely share the prefix.
  expect(await restore('deps-linux-aaa', ['deps-'])).toMatchObject({
    key: 'deps-linux-aaa',
    content: 'first'
  })
  // The primary key is itself tried as a prefix before the restore keys.
  expect(await restore('deps-linux-', ['other-'])).toMatchObject({ key: 'deps-linux-bbb', content: 'second' })
  // Restore keys are tried in order; the first one with any match decides.
  expect(await restore('nothing', ['zzz-', 'other-', 'deps-'])).toMatchObject({
    key: 'other-linux-ccc',
    content: 'third'
  })
  expect(await restore('nothing', ['zzz-'])).toMatchObject({ key: undefined, content: '' })
})

test('a restore only sees entries of the same version (same paths and compression)', async () => {
  const dir = path.join(workspace, 'versioned')
  const elsewhere = path.join(workspace, 'versioned-elsewhere')
  await writeTree(dir, { 'v.txt': 'v' })
  expect((await captured(() => saveCache([dir], 'versioned-key'))).value).toBeGreaterThan(0)

  const missed = await captured(() => restoreCache([elsewhere], 'versioned-key', ['versioned-']))
  expect(missed.value).toBeUndefined()
  expect(existsSync(elsewhere)).toBe(false)
  const lookup = server.requests.filter(request => request.rpc === 'GetCacheEntryDownloadURL').at(-1)
  expect(lookup?.body?.version).toBe(cacheVersion([elsewhere], compression))
  expect(lookup?.body?.version).not.toBe(cacheVersion([dir], compression))

  // The same call with the saved paths hits, so the miss above is down to the version alone.
  expect((await captured(() => restoreCache([dir], 'versioned-key'))).value).toBe('versioned-key')
})

test('an entry that was created but never finalized is not restorable and still holds its key', async () => {
  const dir = path.join(workspace, 'unfinished')
  await writeTree(dir, { 'u.txt': 'u' })
  const version = cacheVersion([dir], compression)

  // What a job that died mid-upload leaves behind: a reservation and an uploaded blob, no finalize.
  const created = await twirp('CreateCacheEntry', { key: 'unfinished-key', version })
  expect(created).toMatchObject({ status: 200, body: { ok: true } })
  const upload = await fetch(String(created.body.signed_upload_url), {
    method: 'PUT',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'partial'
  })
  expect(upload.status).toBe(201)
  expect(server.entries()).toContainEqual({ key: 'unfinished-key', version, size: 7, finalized: false })

  expect((await captured(() => restoreCache([dir], 'unfinished-key', ['unfinished-']))).value).toBeUndefined()
  const lookup = await twirp('GetCacheEntryDownloadURL', { key: 'unfinished-key', version })
  expect(lookup).toEqual({ status: 200, body: { ok: false, signed_download_url: '', matched_key: '' } })

  const again = await captured(() => saveCache([dir], 'unfinished-key'))
  expect(again.value).toBe(-1)
  expect(again.log).toContain('Failed to save: Unable to reserve cache with key unfinished-key')

  // Finalizing is what makes it visible; a size that doesn't match the blob is refused.
  const wrongSize = await twirp('FinalizeCacheEntryUpload', {
    key: 'unfinished-key',
    version,
    size_bytes: '8'
  })
  expect(wrongSize.body).toMatchObject({ ok: false, message: expect.stringContaining('7 bytes') })
  const finalized = await twirp('FinalizeCacheEntryUpload', {
    key: 'unfinished-key',
    version,
    size_bytes: '7'
  })
  expect(finalized.body).toMatchObject({ ok: true, entry_id: expect.stringMatching(/^\d+$/) })
  expect((await twirp('GetCacheEntryDownloadURL', { key: 'unfinished-key', version })).body).toMatchObject({
    ok: true,
    matched_key: 'unfinished-key'
  })
  // Once finalized, the upload URL no longer writes.
  const late = await fetch(String(created.body.signed_upload_url), {
    method: 'PUT',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'overwrite'
  })
  expect(late.status).toBe(403)
})

test('a second save under the same key and version is refused (409) and the first content stays', async () => {
  const dir = path.join(workspace, 'same')
  await writeTree(dir, { 'content.txt': 'original' })
  expect((await captured(() => saveCache([dir], 'same-key'))).value).toBeGreaterThan(0)

  await writeTree(dir, { 'content.txt': 'replacement' })
  const from = server.requests.length
  const second = await captured(() => saveCache([dir], 'same-key'))
  expect(second.value).toBe(-1)
  // The toolkit logs this with core.info, not as a warning, and does not throw.
  expect(second.log).toContain(
    'Failed to save: Unable to reserve cache with key same-key, another job may be creating this cache.'
  )
  expect(second.log).not.toContain('::warning::')
  expect(rpcs(from)).toEqual(['CreateCacheEntry 409'])
  expect(server.entries().filter(entry => entry.key === 'same-key')).toHaveLength(1)

  await rm(dir, { recursive: true })
  expect((await captured(() => restoreCache([dir], 'same-key'))).value).toBe('same-key')
  expect(await readFile(path.join(dir, 'content.txt'), 'utf8')).toBe('original')

  // Uniqueness is per key and version: the same key for other paths is a separate entry.
  const other = path.join(workspace, 'same-other')
  await writeTree(other, { 'content.txt': 'other paths' })
  expect((await captured(() => saveCache([other], 'same-key'))).value).toBeGreaterThan(0)
})

test('checks the runtime token and the blob signatures', async () => {
  const unauthenticated = await twirp('GetCacheEntryDownloadURL', { key: 'k', version: 'v' }, 'wrong-token')
  expect(unauthenticated).toEqual({
    status: 401,
    body: { code: 'unauthenticated', msg: expect.any(String) }
  })
  expect((await twirp('NoSuchMethod', {})).status).toBe(404)

  const version = cacheVersion(['signed'], compression)
  const created = await twirp('CreateCacheEntry', { key: 'signed-key', version })
  const uploadUrl = new URL(String(created.body.signed_upload_url))
  uploadUrl.searchParams.set('sig', 'forged')
  const forged = await fetch(uploadUrl, {
    method: 'PUT',
    headers: { 'x-ms-blob-type': 'BlockBlob' },
    body: 'x'
  })
  expect(forged.status).toBe(403)
  expect(forged.headers.get('x-ms-error-code')).toBe('AuthenticationFailed')
  // The upload URL grants writes only.
  expect((await fetch(String(created.body.signed_upload_url))).status).toBe(403)
})

test('takes staged blocks and a block list, and serves ranged reads, through the Azure SDK', async () => {
  // @actions/cache switches from Put Blob to Put Block + Put Block List above 128 MiB; a small
  // maxSingleShotSize takes the same SDK path with a small payload.
  const version = cacheVersion(['blocks'], compression)
  const created = await twirp('CreateCacheEntry', { key: 'blocks-key', version })
  const data = randomBytes(5000)
  const from = server.requests.length
  await new BlockBlobClient(String(created.body.signed_upload_url)).uploadData(data, {
    blockSize: 1024,
    maxSingleShotSize: 1024,
    concurrency: 3
  })
  const uploads = server.requests.slice(from)
  expect(uploads.filter(request => request.query.comp === 'block' && request.status === 201)).toHaveLength(5)
  expect(
    uploads.filter(request => request.query.comp === 'blocklist' && request.status === 201)
  ).toHaveLength(1)

  const finalized = await twirp('FinalizeCacheEntryUpload', {
    key: 'blocks-key',
    version,
    size_bytes: '5000'
  })
  expect(finalized.body.ok).toBe(true)
  const lookup = await twirp('GetCacheEntryDownloadURL', { key: 'blocks-key', version })
  const downloadFrom = server.requests.length
  const downloaded = await new BlobClient(String(lookup.body.signed_download_url)).downloadToBuffer(
    0,
    undefined,
    {
      blockSize: 2048,
      concurrency: 2
    }
  )
  expect(Buffer.compare(downloaded, data)).toBe(0)
  expect(server.requests.slice(downloadFrom).filter(request => request.status === 206)).toHaveLength(3)
})

test('failAll answers every call with a 500, in Twirp and in Azure shape', async () => {
  const broken = await startCacheServer({ failAll: true })
  try {
    const response = await fetch(`${broken.url}${SERVICE}GetCacheEntryDownloadURL`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${broken.env.ACTIONS_RUNTIME_TOKEN}`
      },
      body: '{}'
    })
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({ code: 'internal', msg: expect.any(String) })
    const blob = await fetch(`${broken.url}productionresultssa0/actions-cache/anything`)
    expect(blob.status).toBe(500)
    expect(blob.headers.get('x-ms-error-code')).toBe('InternalError')
    expect(broken.requests.map(request => request.status)).toEqual([500, 500])
  } finally {
    await broken.stop()
  }
})

test('a stopped server: restore warns and misses, save logs and returns -1, and the blobs are gone', async () => {
  const gone = await startCacheServer()
  await gone.stop()
  expect(existsSync(gone.blobDir)).toBe(false)
  const dir = path.join(workspace, 'unreachable')
  await writeTree(dir, { 'x.txt': 'x' })
  setEnv(gone.env)
  try {
    const restored = await captured(() => restoreCache([dir], 'unreachable-key'))
    expect(restored.value).toBeUndefined()
    expect(restored.log).toContain(
      '::warning::Failed to restore: Failed to GetCacheEntryDownloadURL: Unable to make request: ECONNREFUSED'
    )
    const saved = await captured(() => saveCache([dir], 'unreachable-key'))
    expect(saved.value).toBe(-1)
    expect(saved.log).toContain('Failed to save: Unable to reserve cache with key unreachable-key')
  } finally {
    setEnv(server.env)
  }
})
