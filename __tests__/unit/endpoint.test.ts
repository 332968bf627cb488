import { jest } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

jest.unstable_mockModule('@actions/core', () => ({ info: () => undefined }))
const { checkEndpoint } = await import('../../src/endpoint.js')

/** A loopback API that answers with the given statuses in turn, then with the last one. */
async function api(
  statuses: number[]
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0
  const server: Server = createServer((_request, response) => {
    const status = statuses[Math.min(hits++, statuses.length - 1)]
    response.writeHead(status, { 'content-type': 'application/json' }).end('{}')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

function retry() {
  const slept: number[] = []
  const logged: string[] = []
  return {
    slept,
    logged,
    options: {
      sleep: async (ms: number) => void slept.push(ms),
      random: () => 1,
      log: (m: string) => void logged.push(m)
    }
  }
}

describe('checkEndpoint', () => {
  it('accepts any status below 500 at once', async () => {
    const server = await api([403])
    const { options, slept } = retry()
    try {
      expect(await checkEndpoint(server.url, { retry: options })).toEqual({
        answered: true,
        detail: 'HTTP 403'
      })
      expect(server.hits()).toBe(1)
      expect(slept).toEqual([])
    } finally {
      await server.close()
    }
  })

  it('waits out 5xx answers while the API warms up, logging why', async () => {
    const server = await api([503, 502, 200])
    const { options, slept, logged } = retry()
    try {
      expect(await checkEndpoint(server.url, { retry: options })).toEqual({
        answered: true,
        detail: 'HTTP 200'
      })
      expect(server.hits()).toBe(3)
      expect(slept).toEqual([2000, 4000])
      expect(logged[0]).toContain('failed (HTTP 503)')
    } finally {
      await server.close()
    }
  })

  it('reports an API that keeps failing', async () => {
    const server = await api([500])
    const { options } = retry()
    try {
      expect(await checkEndpoint(server.url, { retry: options })).toEqual({
        answered: false,
        detail: 'HTTP 500'
      })
      expect(server.hits()).toBe(6)
    } finally {
      await server.close()
    }
  })

  it('reports a URL nothing listens on', async () => {
    const server = await api([200])
    await server.close()
    const { options } = retry()
    const check = await checkEndpoint(server.url, { retry: options })
    expect(check.answered).toBe(false)
    expect(check.detail).toMatch(/ECONNREFUSED/)
  })
})
