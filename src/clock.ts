/**
 * Time, as the run sees it. Every wait (retries, a busy stack, the smoke test) takes its sleep from
 * here, so that tests run the same code on a clock they control instead of waiting for real.
 */
export interface Clock {
  now: () => number
  sleep: (ms: number) => Promise<void>
}

export const sleep = (ms: number): Promise<void> => new Promise<void>(resolve => setTimeout(resolve, ms))

export const systemClock: Clock = { now: () => Date.now(), sleep }
