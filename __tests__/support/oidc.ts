import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Issuer {
  url: string
  requestToken: string
  /** Audiences asked for, one per request. */
  audiences: string[]
  tokens: string[]
  close: () => Promise<void>
}

function base64url(value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

/** A JWT shaped like GitHub's; moto does not check signatures, so the signature is filler. */
export function githubToken(audience: string, overrides: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    jti: `jti-${now}`,
    sub: 'repo:octo-org/fastapi-service:ref:refs/heads/main',
    aud: audience,
    ref: 'refs/heads/main',
    sha: 'd6e1f0c0ffee',
    repository: 'octo-org/fastapi-service',
    repository_owner: 'octo-org',
    run_id: '4242',
    run_attempt: '1',
    actor: 'octocat',
    workflow: 'deploy',
    event_name: 'push',
    ref_type: 'branch',
    job_workflow_ref: 'octo-org/fastapi-service/.github/workflows/deploy.yml@refs/heads/main',
    iss: 'https://token.actions.githubusercontent.com',
    nbf: now - 5,
    iat: now,
    exp: now + 600,
    ...overrides
  }
  return `${base64url({ alg: 'RS256', typ: 'JWT', kid: 'test' })}.${base64url(claims)}.${base64url('signature')}`
}

/** The runner's token endpoint: ACTIONS_ID_TOKEN_REQUEST_URL with `&audience=`, bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
export async function startIssuer(
  options: { failFirst?: number; claims?: Record<string, unknown> } = {}
): Promise<Issuer> {
  const requestToken = `request-token-${Math.random().toString(36).slice(2)}`
  const audiences: string[] = []
  const tokens: string[] = []
  let failures = options.failFirst ?? 0
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    if (request.headers.authorization !== `Bearer ${requestToken}`) return void response.writeHead(401).end()
    if (failures-- > 0) return void response.writeHead(500).end('{"message":"internal error"}')
    const audience = url.searchParams.get('audience') ?? ''
    audiences.push(audience)
    const value = githubToken(audience, options.claims)
    tokens.push(value)
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token?api-version=2.0`,
    requestToken,
    audiences,
    tokens,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

export type Fault = 'Throttling' | '500' | 'AccessDenied' | 'NoProvider'

const FAULTS: Record<Fault, [number, string, string]> = {
  Throttling: [400, 'Throttling', 'Rate exceeded'],
  '500': [500, 'InternalFailure', 'We encountered an internal error'],
  AccessDenied: [403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'],
  NoProvider: [
    400,
    'InvalidIdentityToken',
    'No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com'
  ]
}

export interface FaultProxy {
  endpoint: string
  /** Calls of the faulted action seen, faulted or not. */
  assumeCalls: number
  /** Every credential value STS handed out through this proxy, for leak checks. */
  secrets: string[]
  close: () => Promise<void>
}

/**
 * Sits in front of moto and answers the first `count` calls of an AWS query-API action (STS's
 * AssumeRoleWithWebIdentity by default, or CloudFormation's DescribeStacks…) with a fault.
 */
export async function startFaultProxy(
  target: string,
  fault: Fault,
  count: number,
  action = 'AssumeRoleWithWebIdentity'
): Promise<FaultProxy> {
  const upstream = new URL(target)
  const state = { assumeCalls: 0, secrets: [] as string[] }
  let remaining = count
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', chunk => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks)
      if (body.toString().includes(`Action=${action}`)) {
        state.assumeCalls++
        if (remaining-- > 0) {
          const [status, code, message] = FAULTS[fault]
          const xml = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>`
          return void response.writeHead(status, { 'content-type': 'text/xml' }).end(xml)
        }
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: request.url,
          method: request.method,
          headers: { ...request.headers, host: upstream.host }
        },
        reply => {
          const parts: Buffer[] = []
          reply.on('data', chunk => parts.push(chunk))
          reply.on('end', () => {
            const text = Buffer.concat(parts).toString()
            for (const match of text.matchAll(/<(AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)</g))
              state.secrets.push(match[2])
            response.writeHead(reply.statusCode ?? 502, reply.headers).end(text)
          })
        }
      )
      forward.on('error', () => response.writeHead(502).end())
      forward.end(body)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `http://localhost:${(server.address() as AddressInfo).port}`,
    get assumeCalls() {
      return state.assumeCalls
    },
    secrets: state.secrets,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}
