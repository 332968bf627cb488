import * as core from '@actions/core'
import { sleep as realSleep } from './clock.js'
export interface RetryOptions {
  /** Most attempts in all, the first included. */
  attempts: number
  /** No new attempt starts once this much time has passed since the first. */
  maxElapsedMs: number
  baseDelayMs: number
  maxDelayMs: number
  /** The reason to retry, or undefined when the error is final. */
  retryable: (error: unknown) => string | undefined
  log: (message: string) => void
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  now?: () => number
}

/** Exponential backoff with full jitter, bounded in attempts and in total time; each retry is logged with its reason. */
export async function withRetry<T>(what: string, work: () => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? realSleep
  const random = options.random ?? Math.random
  const now = options.now ?? Date.now
  const started = now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      const reason = options.retryable(error)
      const delay = Math.round(
        random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1))
      )
      if (!reason || attempt >= options.attempts || now() - started + delay > options.maxElapsedMs)
        throw error
      options.log(
        `${what} failed (${reason}); retry ${attempt} of ${options.attempts - 1} in ${(delay / 1000).toFixed(1)}s`
      )
      await sleep(delay)
    }
  }
}

/** Throttling, 5xx and dropped connections are worth another try; refusals and bad input are not. */
export function transientReason(error: unknown): string | undefined {
  const e = error as {
    name?: string
    code?: string
    $metadata?: { httpStatusCode?: number }
    statusCode?: number
    message?: string
  }
  const name = e?.name ?? ''
  if (
    /Throttl|RequestLimitExceeded|TooManyRequests|IDPCommunicationError|ServiceUnavailable|InternalFailure|SlowDown|RequestTimeout/.test(
      name
    )
  )
    return name
  const status = e?.$metadata?.httpStatusCode ?? e?.statusCode
  if (status && status >= 500) return `HTTP ${status}`
  if (
    /ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE|EAI_AGAIN|socket hang up/.test(
      `${e?.code ?? ''} ${e?.message ?? ''}`
    )
  )
    return e?.code ?? 'connection reset'
  // core.getIDToken wraps the token endpoint's failures in a plain Error naming the status code.
  if (/Failed to get ID Token[\s\S]*(5\d\d|Error Code : 5)/.test(e?.message ?? ''))
    return 'token endpoint error'
  return undefined
}

/**
 * The policy for the action's own AWS calls (STS, CloudFormation, Logs): the SDK clients make one
 * attempt each and this retries, so every retry is logged with its reason and bounded in attempts and
 * time. AccessDenied and validation errors are not transient: they fail at once, not after minutes.
 */
export const AWS_RETRY = { attempts: 5, maxElapsedMs: 60_000, baseDelayMs: 1000, maxDelayMs: 15_000 }

export type RetryDeps = Partial<Pick<RetryOptions, 'sleep' | 'random' | 'now' | 'log'>>

/** One AWS call under AWS_RETRY. */
export function awsCall<T>(what: string, work: () => Promise<T>, deps: RetryDeps = {}): Promise<T> {
  return withRetry(what, work, {
    ...AWS_RETRY,
    retryable: transientReason,
    log: message => core.info(message),
    ...deps
  })
}
