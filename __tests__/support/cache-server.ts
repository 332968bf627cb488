/**
 * A loopback stand-in for GitHub Actions' cache service v2, faithful enough that the real
 * `@actions/cache` (6.3.x) saves and restores through it, in-process or from a spawned dist/index.js.
 *
 * What the toolkit speaks (node_modules/@actions/cache/lib):
 * - Twirp JSON over POST, `Authorization: Bearer $ACTIONS_RUNTIME_TOKEN`, to
 *   `$ACTIONS_RESULTS_URL/twirp/github.actions.results.api.v1.CacheService/{CreateCacheEntry,
 *   FinalizeCacheEntryUpload,GetCacheEntryDownloadURL}`. Field names are the proto names (key, version,
 *   restore_keys, size_bytes; ok, signed_upload_url, signed_download_url, matched_key, entry_id, message).
 * - The archive goes to the signed upload URL through @azure/storage-blob's BlockBlobClient.uploadFile:
 *   Put Blob up to 128 MiB, Put Block + Put Block List above that. An IP host makes the SDK read the URL
 *   path-style (/{account}/{container}/{blob}), so the signed URLs can point back at this server.
 * - Restores download the signed download URL with a plain GET, because the toolkit only uses the Azure
 *   SDK's ranged downloads for hosts ending in .blob.core.windows.net. Ranged GET and HEAD are served too.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'

/** An entry as a test sees it. `size` is the number of archive bytes stored for it. */
export interface CacheEntry {
  key: string
  version: string
  size: number
  finalized: boolean
}

/** One request the server answered, in arrival order. */
export interface CacheRequest {
  method: string
  /** The URL path without the query (the SAS query of blob URLs is in `query`). */
  path: string
  query: Record<string, string>
  /** The Twirp method for service calls, e.g. 'CreateCacheEntry'. */
  rpc?: string
  /** The parsed JSON body of Twirp calls. */
  body?: Record<string, unknown>
  /** The status answered; 0 until the answer is written. */
  status: number
}

export interface CacheServerOptions {
  /** Answer every request with a 500, as a service outage would. */
  failAll?: boolean
}

export interface CacheServer {
  /** The service base URL, with the trailing slash the runner gives ACTIONS_RESULTS_URL. */
  url: string
  /** Exactly what a child process running @actions/cache needs to reach this server. */
  env: Record<string, string>
  entries(): CacheEntry[]
  requests: CacheRequest[]
  /** The temp folder holding the archives; stop() removes it. */
  blobDir: string
  stop(): Promise<void>
}

const SERVICE = '/twirp/github.actions.results.api.v1.CacheService/'
// Path-style blob URLs: /{account}/{container}/{blob}. The names mimic the hosted service's storage.
const ACCOUNT = 'productionresultssa0'
const CONTAINER = 'actions-cache'
const STORAGE_VERSION = '2025-01-05'
const MAX_JSON_BODY = 1024 * 1024

/**
 * The version the toolkit sends with every call (cacheUtils.getCacheVersion): sha256 over the paths as
 * given, the compression method and (on Windows without cross-OS) 'windows-only', plus a salt.
 * `compressionMethod` is 'zstd-without-long' when zstd is on PATH, otherwise 'gzip'.
 */
export function cacheVersion(paths: string[], compressionMethod: string, windowsOnly = false): string {
  const components = [...paths, compressionMethod, ...(windowsOnly ? ['windows-only'] : []), '1.0']
  return createHash('sha256').update(components.join('|')).digest('hex')
}

interface StoredEntry {
  id: number
  key: string
  version: string
  finalized: boolean
  blobName: string
  uploadSig: string
  downloadSig: string
  /** Bytes of the committed blob; undefined until a Put Blob or Put Block List lands. */
  blobSize: number | undefined
  /** Staged, uncommitted blocks: block id -> file. */
  blocks: Map<string, string>
}

class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

interface Exchange {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  record: CacheRequest
}

function reply(ex: Exchange, status: number, headers: Record<string, string | number>, body?: string): void {
  ex.record.status = status
  ex.res.writeHead(status, headers).end(body)
}

function twirpReply(ex: Exchange, body: Record<string, unknown>): void {
  reply(ex, 200, { 'content-type': 'application/json' }, JSON.stringify(body))
}

// Twirp's error shape: the HTTP status mapped from the code, and {code, msg}.
function twirpError(ex: Exchange, error: TwirpError): void {
  reply(
    ex,
    error.status,
    { 'content-type': 'application/json' },
    JSON.stringify({ code: error.code, msg: error.message })
  )
}

// Azure Storage's error shape: x-ms-error-code and an XML body.
function storageError(ex: Exchange, error: StorageError): void {
  const requestId = randomUUID()
  const xml =
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${error.code}</Code>` +
    `<Message>${error.message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`
  reply(
    ex,
    error.status,
    {
      'content-type': 'application/xml',
      'x-ms-error-code': error.code,
      'x-ms-request-id': requestId,
      'x-ms-version': STORAGE_VERSION
    },
    xml
  )
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new TwirpError(400, 'malformed', 'request body too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

// The toolkit sends proto field names; protojson also accepts the lowerCamel JSON names, so do we.
function field(body: Record<string, unknown>, protoName: string, jsonName: string): unknown {
  return body[protoName] ?? body[jsonName]
}

function stringField(body: Record<string, unknown>, protoName: string, jsonName = protoName): string {
  const value = field(body, protoName, jsonName)
  if (value === undefined) return ''
  if (typeof value !== 'string') throw new TwirpError(400, 'malformed', `${protoName} must be a string`)
  return value
}

function etag(): string {
  return `"0x8DC${randomBytes(6).toString('hex').toUpperCase()}"`
}

function sas(permissions: string, sig: string): string {
  const expiry = new Date(Date.now() + 60 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return new URLSearchParams({ sv: STORAGE_VERSION, se: expiry, sr: 'b', sp: permissions, sig }).toString()
}

export async function startCacheServer(options: CacheServerOptions = {}): Promise<CacheServer> {
  const blobDir = await mkdtemp(path.join(os.tmpdir(), 'cache-server-'))
  const token = `runtime-token-${randomBytes(12).toString('hex')}`
  const stored: StoredEntry[] = []
  const byBlob = new Map<string, StoredEntry>()
  const requests: CacheRequest[] = []
  let nextId = 1
  let base = ''

  const blobFile = (entry: StoredEntry): string => path.join(blobDir, `${entry.id}.blob`)

  function createCacheEntry(body: Record<string, unknown>): Record<string, unknown> {
    const key = stringField(body, 'key')
    const version = stringField(body, 'version')
    if (!key || !version) throw new TwirpError(400, 'invalid_argument', 'key and version are required')
    // The hosted service answers a duplicate with 409 already_exists; the toolkit turns that into a
    // ReserveCacheError and logs "Failed to save: Unable to reserve cache with key ...". A reservation
    // that was never finalized blocks the key as well ("another job may be creating this cache").
    if (stored.some(entry => entry.key === key && entry.version === version))
      throw new TwirpError(
        409,
        'already_exists',
        'cache entry with the same key, version, and scope already exists'
      )
    const entry: StoredEntry = {
      id: nextId++,
      key,
      version,
      finalized: false,
      blobName: randomUUID(),
      uploadSig: randomBytes(24).toString('base64'),
      downloadSig: randomBytes(24).toString('base64'),
      blobSize: undefined,
      blocks: new Map()
    }
    stored.push(entry)
    byBlob.set(entry.blobName, entry)
    const signedUploadUrl = `${base}${ACCOUNT}/${CONTAINER}/${entry.blobName}?${sas('cw', entry.uploadSig)}`
    return { ok: true, signed_upload_url: signedUploadUrl }
  }

  function finalizeCacheEntryUpload(body: Record<string, unknown>): Record<string, unknown> {
    const key = stringField(body, 'key')
    const version = stringField(body, 'version')
    const sizeBytes = Number(field(body, 'size_bytes', 'sizeBytes') ?? 0)
    const entry = stored.find(candidate => candidate.key === key && candidate.version === version)
    if (!entry) throw new TwirpError(404, 'not_found', 'cache entry not found')
    if (entry.finalized) throw new TwirpError(409, 'already_exists', 'cache entry has already been finalized')
    // ok:false with a message makes the toolkit throw FinalizeCacheError, which it logs as a warning.
    if (entry.blobSize === undefined) return { ok: false, message: `No archive was uploaded for key ${key}` }
    if (entry.blobSize !== sizeBytes)
      return {
        ok: false,
        message: `The uploaded archive has ${entry.blobSize} bytes, the finalize request announced ${sizeBytes}`
      }
    entry.finalized = true
    return { ok: true, entry_id: String(entry.id) }
  }

  function getCacheEntryDownloadURL(body: Record<string, unknown>): Record<string, unknown> {
    const key = stringField(body, 'key')
    const version = stringField(body, 'version')
    const restoreKeys = field(body, 'restore_keys', 'restoreKeys') ?? []
    if (!Array.isArray(restoreKeys) || restoreKeys.some(value => typeof value !== 'string'))
      throw new TwirpError(400, 'malformed', 'restore_keys must be a list of strings')
    // Only finalized entries of the same version are visible; newest first, as the service documents.
    const visible = stored.filter(entry => entry.finalized && entry.version === version).reverse()
    // The documented order: exact key, then prefix matches of the key, then each restore key as a prefix.
    const match =
      visible.find(entry => entry.key === key) ??
      [key, ...(restoreKeys as string[])]
        .map(prefix => visible.find(entry => entry.key.startsWith(prefix)))
        .find(entry => entry !== undefined)
    // A miss is not an error for the service: 200 with ok=false, which the toolkit reports as a miss.
    if (!match) return { ok: false, signed_download_url: '', matched_key: '' }
    return {
      ok: true,
      signed_download_url: `${base}${ACCOUNT}/${CONTAINER}/${match.blobName}?${sas('r', match.downloadSig)}`,
      matched_key: match.key
    }
  }

  async function handleTwirp(ex: Exchange): Promise<void> {
    const method = ex.url.pathname.slice(SERVICE.length)
    ex.record.rpc = method
    try {
      if (ex.req.method !== 'POST')
        throw new TwirpError(404, 'bad_route', `unsupported method ${ex.req.method} (only POST is allowed)`)
      if (ex.req.headers.authorization !== `Bearer ${token}`)
        throw new TwirpError(401, 'unauthenticated', 'invalid or missing runtime token')
      if (!String(ex.req.headers['content-type'] ?? '').startsWith('application/json'))
        throw new TwirpError(404, 'bad_route', 'unexpected Content-Type, only application/json is served')
      let body: Record<string, unknown>
      try {
        const text = (await readBody(ex.req, MAX_JSON_BODY)).toString('utf8')
        const parsed: unknown = text ? JSON.parse(text) : {}
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object')
        body = parsed as Record<string, unknown>
      } catch (error) {
        if (error instanceof TwirpError) throw error
        throw new TwirpError(400, 'malformed', `the request body is not a JSON object: ${String(error)}`)
      }
      ex.record.body = body
      switch (method) {
        case 'CreateCacheEntry':
          return twirpReply(ex, createCacheEntry(body))
        case 'FinalizeCacheEntryUpload':
          return twirpReply(ex, finalizeCacheEntryUpload(body))
        case 'GetCacheEntryDownloadURL':
          return twirpReply(ex, getCacheEntryDownloadURL(body))
        default:
          throw new TwirpError(404, 'bad_route', `no handler for path "${ex.url.pathname}"`)
      }
    } catch (error) {
      if (error instanceof TwirpError) return twirpError(ex, error)
      throw error
    }
  }

  function blobHeaders(entry: StoredEntry): Record<string, string> {
    return {
      etag: `"0x8DC${entry.id.toString(16).toUpperCase().padStart(12, '0')}"`,
      'last-modified': new Date().toUTCString(),
      'x-ms-request-id': randomUUID(),
      'x-ms-version': STORAGE_VERSION
    }
  }

  async function putBlob(ex: Exchange, entry: StoredEntry): Promise<void> {
    if (ex.req.headers['x-ms-blob-type'] !== 'BlockBlob')
      throw new StorageError(
        400,
        'MissingRequiredHeader',
        'An HTTP header that is mandatory is missing: x-ms-blob-type'
      )
    await pipeline(ex.req, createWriteStream(blobFile(entry)))
    entry.blobSize = (await stat(blobFile(entry))).size
    // Put Blob replaces the blob and drops any uncommitted blocks, as Azure does.
    await dropBlocks(entry)
    reply(ex, 201, {
      ...blobHeaders(entry),
      etag: etag(),
      'x-ms-request-server-encrypted': 'true',
      'content-length': 0
    })
  }

  async function putBlock(ex: Exchange, entry: StoredEntry, blockId: string): Promise<void> {
    const file = path.join(blobDir, `${entry.id}.block.${createHash('sha1').update(blockId).digest('hex')}`)
    await pipeline(ex.req, createWriteStream(file))
    entry.blocks.set(blockId, file)
    reply(ex, 201, { ...blobHeaders(entry), 'x-ms-request-server-encrypted': 'true', 'content-length': 0 })
  }

  async function putBlockList(ex: Exchange, entry: StoredEntry): Promise<void> {
    const xml = (await readBody(ex.req, MAX_JSON_BODY)).toString('utf8')
    const ids = [...xml.matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)].map(match => match[2])
    const files = ids.map(id => entry.blocks.get(id))
    if (files.some(file => file === undefined))
      throw new StorageError(400, 'InvalidBlockList', 'The specified block list is invalid.')
    // Streamed block by block: the toolkit stages 64 MiB blocks for archives over 128 MiB.
    await writeFile(blobFile(entry), '')
    for (const file of files as string[])
      await pipeline(createReadStream(file), createWriteStream(blobFile(entry), { flags: 'a' }))
    entry.blobSize = (await stat(blobFile(entry))).size
    await dropBlocks(entry)
    reply(ex, 201, {
      ...blobHeaders(entry),
      etag: etag(),
      'x-ms-request-server-encrypted': 'true',
      'content-length': 0
    })
  }

  async function dropBlocks(entry: StoredEntry): Promise<void> {
    await Promise.all([...entry.blocks.values()].map(file => unlink(file).catch(() => undefined)))
    entry.blocks.clear()
  }

  async function getBlob(ex: Exchange, entry: StoredEntry): Promise<void> {
    if (entry.blobSize === undefined)
      throw new StorageError(404, 'BlobNotFound', 'The specified blob does not exist.')
    const size = entry.blobSize
    const headers: Record<string, string | number> = {
      ...blobHeaders(entry),
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-creation-time': new Date().toUTCString(),
      'x-ms-lease-state': 'available',
      'x-ms-lease-status': 'unlocked',
      'x-ms-server-encrypted': 'true'
    }
    // The Azure SDK asks with x-ms-range, plain clients with Range.
    const range = String(ex.req.headers['x-ms-range'] ?? ex.req.headers.range ?? '')
    let start = 0
    let end = size - 1
    let status = 200
    if (range) {
      const parsed = /^bytes=(\d+)-(\d*)$/.exec(range)
      if (!parsed)
        throw new StorageError(
          400,
          'InvalidHeaderValue',
          'The value for one of the HTTP headers is not in the correct format.'
        )
      start = Number(parsed[1])
      end = parsed[2] ? Math.min(Number(parsed[2]), size - 1) : size - 1
      if (start >= size)
        throw new StorageError(
          416,
          'InvalidRange',
          'The range specified is invalid for the current size of the resource.'
        )
      status = 206
      headers['content-range'] = `bytes ${start}-${end}/${size}`
    }
    headers['content-length'] = end - start + 1
    ex.record.status = status
    ex.res.writeHead(status, headers)
    if (ex.req.method === 'HEAD' || size === 0) return void ex.res.end()
    await pipeline(createReadStream(blobFile(entry), { start, end }), ex.res)
  }

  async function handleBlob(ex: Exchange): Promise<void> {
    try {
      const [, account, container, blobName] = ex.url.pathname.split('/')
      const entry = account === ACCOUNT && container === CONTAINER ? byBlob.get(blobName) : undefined
      if (!entry) throw new StorageError(404, 'ResourceNotFound', 'The specified resource does not exist.')
      const sig = ex.url.searchParams.get('sig')
      const method = ex.req.method ?? ''
      const writing = method === 'PUT'
      // Each signed URL grants only what it was issued for: the upload URL writes, the download URL reads.
      // The upload URL stops working once the entry is finalized, so a finished entry can't be rewritten.
      const allowed = writing ? sig === entry.uploadSig && !entry.finalized : sig === entry.downloadSig
      if (!allowed)
        throw new StorageError(
          403,
          'AuthenticationFailed',
          'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.'
        )
      const comp = ex.url.searchParams.get('comp')
      if (method === 'PUT' && comp === null) return await putBlob(ex, entry)
      if (method === 'PUT' && comp === 'block') {
        const blockId = ex.url.searchParams.get('blockid')
        if (!blockId) throw new StorageError(400, 'InvalidQueryParameterValue', 'blockid is required')
        return await putBlock(ex, entry, blockId)
      }
      if (method === 'PUT' && comp === 'blocklist') return await putBlockList(ex, entry)
      if ((method === 'GET' || method === 'HEAD') && comp === null) return await getBlob(ex, entry)
      throw new StorageError(405, 'UnsupportedHttpVerb', "The resource doesn't support specified Http Verb.")
    } catch (error) {
      if (error instanceof StorageError) return storageError(ex, error)
      throw error
    }
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const record: CacheRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0
    }
    requests.push(record)
    const ex: Exchange = { req, res, url, record }
    const isTwirp = url.pathname.startsWith(SERVICE)
    if (options.failAll) {
      // Drain the body so the client isn't left writing into a closed socket.
      req.resume()
      if (isTwirp) return twirpError(ex, new TwirpError(500, 'internal', 'emulated cache service outage'))
      return storageError(
        ex,
        new StorageError(500, 'InternalError', 'The server encountered an internal error.')
      )
    }
    const handled = isTwirp ? handleTwirp(ex) : handleBlob(ex)
    handled.catch((error: unknown) => {
      if (res.headersSent) return void res.destroy()
      const message = error instanceof Error ? error.message : String(error)
      if (isTwirp) twirpError(ex, new TwirpError(500, 'internal', message))
      else storageError(ex, new StorageError(500, 'InternalError', message))
    })
  })

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

  let stopped: Promise<void> | undefined
  return {
    url: base,
    env: {
      // v2 is chosen when this is set to anything (config.getCacheServiceVersion); the runner sets 'True'.
      ACTIONS_CACHE_SERVICE_V2: 'True',
      ACTIONS_RESULTS_URL: base,
      // Required: the Twirp client throws "Unable to get the ACTIONS_RUNTIME_TOKEN env variable" without it.
      ACTIONS_RUNTIME_TOKEN: token,
      // Anything but github.com, *.ghe.com or *.localhost counts as GHES, and the toolkit then falls back
      // to the v1 protocol, which this server does not speak. Pinned so a loopback value can't slip in.
      GITHUB_SERVER_URL: 'https://github.com',
      // The runner exports the effective cache-mode only when the service sends one; pinned so a value
      // inherited from an outer CI job (e.g. 'read' on a fork PR) can't turn saves into no-ops.
      ACTIONS_CACHE_MODE: 'write'
    },
    entries: () =>
      stored.map(entry => ({
        key: entry.key,
        version: entry.version,
        size: entry.blobSize ?? 0,
        finalized: entry.finalized
      })),
    requests,
    blobDir,
    stop: () =>
      (stopped ??= (async () => {
        await new Promise<void>(resolve => {
          server.close(() => resolve())
          // Keep-alive sockets from the SDK or undici would otherwise hold close() open.
          server.closeAllConnections()
        })
        await rm(blobDir, { recursive: true, force: true })
      })())
  }
}
