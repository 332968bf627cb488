import * as core from '@actions/core'
import { withRetry, type RetryOptions } from './retry.js'

export interface EndpointCheck {
  answered: boolean
  /** For the log and the job summary: `HTTP 200` or why it did not answer. */
  detail: string
}

export interface EndpointOptions {
  fetch?: typeof fetch
  retry?: Pick<RetryOptions, 'sleep' | 'random' | 'now' | 'log'>
  timeoutMs?: number
}

class NoAnswer extends Error {}

/**
 * Whether a freshly deployed URL answers. Any status below 500 counts: an API may well refuse an
 * anonymous GET. A 5xx or a failed connection is retried for a while, since API Gateway and a cold
 * Lambda can take a moment after a deploy.
 */
export async function checkEndpoint(url: string, options: EndpointOptions = {}): Promise<EndpointCheck> {
  const get = options.fetch ?? fetch
  try {
    const status = await withRetry(
      `GET ${url}`,
      async () => {
        let response: Response
        try {
          response = await get(url, {
            redirect: 'manual',
            signal: AbortSignal.timeout(options.timeoutMs ?? 10_000)
          })
        } catch (error) {
          // fetch says only 'fetch failed'; the reason (ECONNREFUSED, a timeout, DNS) is its cause.
          const failure = error as { message?: string; cause?: { message?: string } }
          throw new NoAnswer(failure?.cause?.message ?? failure?.message ?? String(error))
        }
        await response.body?.cancel()
        if (response.status >= 500) throw new NoAnswer(`HTTP ${response.status}`)
        return response.status
      },
      {
        attempts: 6,
        maxElapsedMs: 60_000,
        baseDelayMs: 2000,
        maxDelayMs: 10_000,
        retryable: error => (error instanceof NoAnswer ? error.message : undefined),
        log: message => core.info(message),
        ...options.retry
      }
    )
    return { answered: true, detail: `HTTP ${status}` }
  } catch (error) {
    return { answered: false, detail: error instanceof Error ? error.message : String(error) }
  }
}
