import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { smokeFailure, smokeTest, smokeUrl } from '../../src/smoke-test.js'

/** A loopback API: answers with the given statuses in turn (then the last one), or never answers. */
async function api(
  statuses: number[] | 'never'
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0
  const server: Server = createServer((_request, response) => {
    hits++
    if (statuses === 'never') return // holds the connection open: no status, no body
    const status = statuses[Math.min(hits - 1, statuses.length - 1)]
    response
      .writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': `req-${hits}` })
      .end(status >= 500 ? '{"message":"Internal Server Error"}\nline 2\n' : '{"status":"ok"}')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () =>
      new Promise(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

const expect200to399 = [{ from: 200, to: 399 }]

describe('smokeTest', () => {
  it('passes once a fresh route stops answering 503, backing off between tries', async () => {
    const server = await api([503, 503, 404, 200])
    const slept: number[] = []
    try {
      const result = await smokeTest({
        base: `${server.url}/dev/`,
        path: '/health',
        timeoutMs: 60_000,
        expect: expect200to399,
        clock: { now: Date.now, sleep: async (ms: number) => void slept.push(ms) }
      })
      expect(result).toMatchObject({
        passed: true,
        status: 200,
        attempts: 4,
        url: `${server.url}/dev/health`
      })
      expect(slept).toEqual([1000, 2000, 4000])
    } finally {
      await server.close()
    }
  })

  it('fails on a URL that always answers 500, keeping the status, headers and body', async () => {
    const server = await api([500])
    try {
      const result = await smokeTest({
        base: server.url,
        path: '/health',
        timeoutMs: 2500,
        expect: expect200to399
      })
      expect(result.passed).toBe(false)
      expect(result.status).toBe(500)
      expect(result.attempts).toBeGreaterThanOrEqual(2)
      const message = smokeFailure(result, expect200to399)
      expect(message).toMatch(
        /^The smoke test failed: GET http:\/\/127\.0\.0\.1:\d+\/health answered HTTP 500 after \d+ attempts in \d+s; expected 200-399\./
      )
      expect(message).toContain('  x-amzn-requestid: req-')
      expect(message).toContain('Body:\n  {"message":"Internal Server Error"}\n  line 2')
    } finally {
      await server.close()
    }
  })

  it('fails at the timeout, not later, for a URL that never answers', async () => {
    const server = await api('never')
    const started = Date.now()
    try {
      const result = await smokeTest({
        base: server.url,
        path: '/health',
        timeoutMs: 3000,
        expect: expect200to399
      })
      const elapsed = Date.now() - started
      expect(result.passed).toBe(false)
      expect(result.status).toBeUndefined()
      expect(result.error).toMatch(/no answer within \d+s/)
      expect(elapsed).toBeGreaterThanOrEqual(2500)
      expect(elapsed).toBeLessThan(5000)
    } finally {
      await server.close()
    }
  })

  it('takes the statuses the workflow expects, not just 2xx', async () => {
    const server = await api([401])
    try {
      const result = await smokeTest({
        base: server.url,
        path: '/',
        timeoutMs: 1000,
        expect: [{ from: 401, to: 401 }]
      })
      expect(result).toMatchObject({ passed: true, status: 401, attempts: 1 })
    } finally {
      await server.close()
    }
  })

  it('says why a refused connection did not answer', async () => {
    const server = await api([200])
    await server.close()
    const result = await smokeTest({ base: server.url, path: '/', timeoutMs: 500, expect: expect200to399 })
    expect(result).toMatchObject({ passed: false, error: 'ECONNREFUSED' })
  })
})

describe('smokeUrl', () => {
  it("keeps a REST stage's path and joins without doubled slashes", () => {
    expect(smokeUrl('https://abc.execute-api.eu-west-1.amazonaws.com/dev', '/health')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/dev/health'
    )
    expect(smokeUrl('https://api.example.com/', 'health')).toBe('https://api.example.com/health')
  })
})
