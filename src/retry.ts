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

const realSleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms))

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
