import { withRetry, type RetryOptions } from '../../src/retry.js'

function options(overrides: Partial<RetryOptions> = {}) {
  const slept: number[] = []
  const logged: string[] = []
  let clock = 0
  const base: RetryOptions = {
    attempts: 4,
    maxElapsedMs: 60_000,
    baseDelayMs: 1000,
    maxDelayMs: 5000,
    retryable: error =>
      (error as Error).message.startsWith('transient') ? (error as Error).message : undefined,
    log: message => logged.push(message),
    sleep: async ms => {
      slept.push(ms)
      clock += ms
    },
    random: () => 1,
    now: () => clock,
    ...overrides
  }
  return { base, slept, logged }
}

function failing(errors: string[], value = 'ok') {
  let calls = 0
  const work = async () => {
    calls++
    const next = errors.shift()
    if (next) throw new Error(next)
    return value
  }
  return { work, calls: () => calls }
}

describe('withRetry', () => {
  it('retries transient failures with exponential, capped delays and logs each reason', async () => {
    const { base, slept, logged } = options()
    const { work, calls } = failing(['transient 500', 'transient Throttling', 'transient reset'])
    await expect(withRetry('sts:AssumeRoleWithWebIdentity', work, base)).resolves.toBe('ok')
    expect(calls()).toBe(4)
    expect(slept).toEqual([1000, 2000, 4000])
    expect(logged).toEqual([
      'sts:AssumeRoleWithWebIdentity failed (transient 500); retry 1 of 3 in 1.0s',
      'sts:AssumeRoleWithWebIdentity failed (transient Throttling); retry 2 of 3 in 2.0s',
      'sts:AssumeRoleWithWebIdentity failed (transient reset); retry 3 of 3 in 4.0s'
    ])
  })

  it('jitters the delay between zero and the exponential bound', async () => {
    const { base, slept } = options({ random: () => 0.25, maxDelayMs: 1500 })
    const { work } = failing(['transient a', 'transient b', 'transient c'])
    await withRetry('x', work, base)
    expect(slept).toEqual([250, 375, 375])
  })

  it('does not retry a final error', async () => {
    const { base, slept } = options()
    const { work, calls } = failing(['AccessDenied'])
    await expect(withRetry('x', work, base)).rejects.toThrow('AccessDenied')
    expect(calls()).toBe(1)
    expect(slept).toEqual([])
  })

  it('gives up after the last attempt with the last error', async () => {
    const { base } = options({ attempts: 2 })
    const { work, calls } = failing(['transient 1', 'transient 2', 'transient 3'])
    await expect(withRetry('x', work, base)).rejects.toThrow('transient 2')
    expect(calls()).toBe(2)
  })

  it('gives up when the next wait would pass the time bound', async () => {
    const { base, slept } = options({ maxElapsedMs: 2500 })
    const { work, calls } = failing(['transient 1', 'transient 2', 'transient 3'])
    await expect(withRetry('x', work, base)).rejects.toThrow('transient 2')
    expect(calls()).toBe(2)
    expect(slept).toEqual([1000])
  })
})
