import { systemClock, type Clock } from './clock.js'
import { statusExpected, type StatusRange } from './inputs.js'

/**
 * A deploy is done when the API answers, not when CloudFormation says so. The smoke test GETs the
 * deployed base URL plus a path until the status is one the workflow expects, or the time runs out;
 * a fresh route can answer 404 or 503 for a few seconds, so it backs off and tries again.
 */

export interface SmokeOptions {
  /** Base URL: the stage's own, or smoke-test-url. */
  base: string
  path: string
  timeoutMs: number
  expect: StatusRange[]
  log?: (message: string) => void
  fetch?: typeof fetch
  clock?: Clock
}

export interface SmokeResult {
  passed: boolean
  url: string
  attempts: number
  /** The last HTTP status seen; undefined when nothing ever answered. */
  status?: number
  headers?: Record<string, string>
  /** The first lines of the last body. */
  body?: string
  /** Why the last attempt did not answer (a refused connection, a timeout). */
  error?: string
  seconds: number
}

const BODY_LINES = 20
const BODY_CHARS = 2000

/** `https://x/dev` + `/health` keeps the stage's path: `https://x/dev/health`. */
export function smokeUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`
}

export function describeStatuses(ranges: StatusRange[]): string {
  return ranges.map(r => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(', ')
}

export async function smokeTest(options: SmokeOptions): Promise<SmokeResult> {
  const get = options.fetch ?? fetch
  const { sleep, now } = options.clock ?? systemClock
  const url = smokeUrl(options.base, options.path)
  const started = now()
  const deadline = started + options.timeoutMs
  let result: SmokeResult
  for (let attempt = 1; ; attempt++) {
    // No attempt outlives the deadline: a URL that never answers fails at the timeout, not later.
    const budget = Math.max(1, Math.min(10_000, deadline - now()))
    const answer = await probe(get, url, budget)
    const passed = answer.status !== undefined && statusExpected(answer.status, options.expect)
    result = { ...answer, passed, url, attempts: attempt, seconds: 0 }
    if (passed) break
    const wait = Math.min(8000, 1000 * 2 ** (attempt - 1))
    if (now() + wait >= deadline) break
    options.log?.(
      `GET ${url}: ${result.status !== undefined ? `HTTP ${result.status}` : result.error}; expecting ${describeStatuses(options.expect)}, trying again in ${wait / 1000}s`
    )
    await sleep(wait)
  }
  result.seconds = (now() - started) / 1000
  return result
}

async function probe(
  get: typeof fetch,
  url: string,
  timeoutMs: number
): Promise<Pick<SmokeResult, 'status' | 'headers' | 'body' | 'error'>> {
  try {
    const response = await get(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
    const text = await response.text().catch(() => '')
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: text.split('\n').slice(0, BODY_LINES).join('\n').slice(0, BODY_CHARS)
    }
  } catch (error) {
    // fetch says only 'fetch failed'; the reason (ECONNREFUSED, a timeout, DNS) is its cause.
    const failure = error as { name?: string; message?: string; cause?: { code?: string; message?: string } }
    const reason =
      failure?.name === 'TimeoutError'
        ? `no answer within ${Math.round(timeoutMs / 1000)}s`
        : (failure?.cause?.code ?? failure?.cause?.message ?? failure?.message ?? String(error))
    return { error: reason }
  }
}

/** What a failed smoke test shows: the last status, the headers and the first lines of the body. */
export function smokeFailure(result: SmokeResult, expect: StatusRange[]): string {
  const lines = [
    `The smoke test failed: GET ${result.url} ${result.status !== undefined ? `answered HTTP ${result.status}` : `did not answer (${result.error})`} after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'} in ${Math.round(result.seconds)}s; expected ${describeStatuses(expect)}.`
  ]
  if (result.headers) {
    lines.push('Headers:', ...Object.entries(result.headers).map(([name, value]) => `  ${name}: ${value}`))
  }
  if (result.body) lines.push('Body:', ...result.body.split('\n').map(line => `  ${line}`))
  return lines.join('\n')
}
