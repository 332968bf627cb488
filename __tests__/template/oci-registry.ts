/**
 * A loopback OCI distribution registry, in memory, with just what the devcontainers CLI speaks when it
 * publishes a Dev Container Template (`devcontainer templates publish`) and pulls it back
 * (`devcontainer templates apply`), so that the tests run the real CLI end to end without a network.
 *
 * What the CLI sends (devcontainers/cli at f683c29f64a20109b4453e5149807e390ff65133,
 * src/spec-configuration/containerCollectionsOCI.ts and containerCollectionsOCIPush.ts):
 * - publish: GET /v2/<name>/tags/list (404 = never published), HEAD /v2/<name>/manifests/<digest>,
 *   HEAD /v2/<name>/blobs/<digest>, POST /v2/<name>/blobs/uploads/ (202 + Location),
 *   PUT <Location>?digest=<digest> (201), PUT /v2/<name>/manifests/<tag> (201), once per tag;
 * - apply: GET /v2/<name>/manifests/<tag>, then GET /v2/<name>/blobs/<layer digest>, whose sha256 it checks.
 * It talks plain HTTP to a registry named `localhost[:port]` (src/spec-utils/httpRequest.ts: `plainHTTP`),
 * so the server listens on the address `localhost` resolves to. Nothing here asks for credentials, so the
 * CLI never authenticates (it only does on a 401 or 403).
 */
import { createHash, randomUUID } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RegistryRequest {
  method: string
  path: string
  status: number
}

export interface OciRegistry {
  /** `localhost:<port>`: the registry part of a template id, e.g. localhost:5000/owner/repo/template:1. */
  host: string
  requests: RegistryRequest[]
  /** Tags pushed to a repository (e.g. 'owner/repo/fastapi-lambda'), in push order. */
  tags(repository: string): string[]
  /** The manifest a tag points at, parsed. */
  manifest(repository: string, tag: string): OciManifest | undefined
  blob(digest: string): Buffer | undefined
  stop(): Promise<void>
}

export interface OciManifest {
  schemaVersion: number
  mediaType: string
  config: { mediaType: string; digest: string; size: number }
  layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[]
  annotations?: Record<string, string>
}

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json'
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

async function body(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export async function startOciRegistry(): Promise<OciRegistry> {
  const blobs = new Map<string, Buffer>()
  /** repository → tag or digest → manifest bytes */
  const manifests = new Map<string, Map<string, Buffer>>()
  const tagOrder = new Map<string, string[]>()
  const uploads = new Set<string>()
  const requests: RegistryRequest[] = []

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const method = request.method ?? 'GET'
    const record: RegistryRequest = { method, path: url.pathname, status: 0 }
    requests.push(record)
    const send = (status: number, headers: Record<string, string> = {}, data?: Buffer | string): void => {
      record.status = status
      response.writeHead(status, headers)
      response.end(method === 'HEAD' ? undefined : data)
    }
    const error = (status: number, code: string, message: string): void =>
      send(status, { 'Content-Type': 'application/json' }, JSON.stringify({ errors: [{ code, message }] }))

    if (url.pathname === '/v2/' || url.pathname === '/v2') return send(200, {}, '{}')

    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname)
    if (upload) {
      const [, repository, session] = upload
      if (method === 'POST' && session === '') {
        const id = randomUUID()
        uploads.add(id)
        return send(202, { Location: `/v2/${repository}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id })
      }
      if (method === 'PUT' && uploads.has(session)) {
        const data = await body(request)
        const digest = url.searchParams.get('digest') ?? ''
        if (sha256(data) !== digest)
          return error(400, 'DIGEST_INVALID', `content is ${sha256(data)}, not ${digest}`)
        uploads.delete(session)
        blobs.set(digest, data)
        return send(201, { Location: `/v2/${repository}/blobs/${digest}`, 'Docker-Content-Digest': digest })
      }
      return error(404, 'BLOB_UPLOAD_UNKNOWN', `no upload ${session}`)
    }

    const route = /^\/v2\/(.+)\/(manifests|blobs|tags)\/([^/]+)$/.exec(url.pathname)
    if (!route) return error(404, 'NAME_UNKNOWN', url.pathname)
    const [, repository, kind, reference] = route

    if (kind === 'tags' && reference === 'list' && method === 'GET') {
      const tags = tagOrder.get(repository)
      if (!tags) return error(404, 'NAME_UNKNOWN', repository)
      return send(200, { 'Content-Type': 'application/json' }, JSON.stringify({ name: repository, tags }))
    }

    if (kind === 'blobs' && (method === 'GET' || method === 'HEAD')) {
      const data = blobs.get(reference)
      if (!data) return error(404, 'BLOB_UNKNOWN', reference)
      return send(
        200,
        {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(data.length),
          'Docker-Content-Digest': reference
        },
        data
      )
    }

    if (kind === 'manifests') {
      const stored = manifests.get(repository) ?? new Map<string, Buffer>()
      if (method === 'GET' || method === 'HEAD') {
        const data = stored.get(reference)
        if (!data) return error(404, 'MANIFEST_UNKNOWN', `${repository}:${reference}`)
        return send(
          200,
          {
            'Content-Type': MANIFEST_TYPE,
            'Content-Length': String(data.length),
            'Docker-Content-Digest': sha256(data)
          },
          data
        )
      }
      if (method === 'PUT') {
        const data = await body(request)
        const manifest = JSON.parse(data.toString()) as OciManifest
        // A registry refuses a manifest whose blobs it does not hold (the config blob included).
        const missing = [manifest.config, ...manifest.layers]
          .map(d => d.digest)
          .filter(digest => !blobs.has(digest))
        if (missing.length > 0) return error(400, 'MANIFEST_BLOB_UNKNOWN', missing.join(', '))
        const digest = sha256(data)
        stored.set(reference, data)
        stored.set(digest, data)
        manifests.set(repository, stored)
        if (!reference.startsWith('sha256:')) {
          const tags = tagOrder.get(repository) ?? []
          if (!tags.includes(reference)) tags.push(reference)
          tagOrder.set(repository, tags)
        }
        return send(201, {
          Location: `/v2/${repository}/manifests/${digest}`,
          'Docker-Content-Digest': digest
        })
      }
    }
    return error(405, 'UNSUPPORTED', `${method} ${url.pathname}`)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((e: unknown) => {
      if (!response.headersSent) response.writeHead(500)
      response.end(String(e))
    })
  })
  // The CLI resolves `localhost` itself: listen where it will connect, and nowhere else.
  const { address } = await lookup('localhost')
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, address, () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    host: `localhost:${port}`,
    requests,
    tags: repository => [...(tagOrder.get(repository) ?? [])],
    manifest: (repository, tag) => {
      const data = manifests.get(repository)?.get(tag)
      return data ? (JSON.parse(data.toString()) as OciManifest) : undefined
    },
    blob: digest => blobs.get(digest),
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
