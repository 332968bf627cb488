import { LAMBDA_PYTHON_LIFECYCLE } from '../../../src/defaults.js'
import type { FunctionPlan } from '../../../src/plan/model.js'
import { runtimePlans } from '../../../src/plan/runtimes.js'

function fn(name: string, runtime: string, status: FunctionPlan['status'] = 'updated'): FunctionPlan {
  return {
    logicalId: name,
    name,
    status,
    code: 'changed',
    config: [],
    environment: { added: [], removed: [], changed: [] },
    runtime,
    unknownLayers: 0,
    overLimit: false
  }
}

function shift(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86400000).toISOString().slice(0, 10)
}

const dates = LAMBDA_PYTHON_LIFECYCLE['python3.11']

describe('runtimePlans', () => {
  it("groups the functions by runtime and counts the days to the runtime's next date", () => {
    const [plan] = runtimePlans([fn('b', 'python3.11'), fn('a', 'python3.11')], shift(dates.deprecated, -10))
    expect(plan).toEqual({
      runtime: 'python3.11',
      functions: ['a', 'b'],
      phase: 'supported',
      ...dates,
      next: { milestone: 'deprecated', date: dates.deprecated, days: 10 }
    })
  })

  it('deprecated from its date on, then blocked for new functions, then for updates', () => {
    const phase = (today: string) => runtimePlans([fn('a', 'python3.11')], today)[0]
    expect(phase(dates.deprecated)).toMatchObject({
      phase: 'deprecated',
      next: { milestone: 'blockCreate', date: dates.blockCreate }
    })
    expect(phase(dates.blockCreate)).toMatchObject({
      phase: 'create-blocked',
      next: { milestone: 'blockUpdate' }
    })
    const blocked = phase(shift(dates.blockUpdate, 1))
    expect(blocked.phase).toBe('update-blocked')
    expect(blocked.next).toBeUndefined()
  })

  it('a runtime without dates is unknown; removed functions do not count', () => {
    expect(runtimePlans([fn('js', 'nodejs20.x'), fn('gone', 'python3.8', 'removed')], '2026-01-01')).toEqual([
      { runtime: 'nodejs20.x', functions: ['js'], phase: 'unknown' }
    ])
  })

  it('refuses a date that is not YYYY-MM-DD', () => {
    expect(() => runtimePlans([fn('a', 'python3.11')], '04/12/2026')).toThrow(/YYYY-MM-DD/)
  })
})
