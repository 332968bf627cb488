import { LAMBDA_PYTHON_LIFECYCLE } from '../defaults.js'
import type { FunctionPlan, RuntimePlan } from './model.js'

/** Where each runtime the functions will run on stands in Lambda's published lifecycle, on `today`. */

const DAY_MS = 24 * 60 * 60 * 1000
const MILESTONES = ['deprecated', 'blockCreate', 'blockUpdate'] as const

function dayNumber(date: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw new Error(`Not a YYYY-MM-DD date: ${JSON.stringify(date)}`)
  }
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS
}

export function runtimePlans(functions: FunctionPlan[], today: string): RuntimePlan[] {
  const now = dayNumber(today)
  const byRuntime = new Map<string, string[]>()
  for (const fn of functions) {
    if (!fn.runtime || fn.status === 'removed') continue
    byRuntime.set(fn.runtime, [...(byRuntime.get(fn.runtime) ?? []), fn.name])
  }
  return [...byRuntime.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([runtime, names]) => {
      const dates = LAMBDA_PYTHON_LIFECYCLE[runtime]
      if (!dates) return { runtime, functions: names.sort(), phase: 'unknown' }
      const passed = MILESTONES.filter(milestone => dayNumber(dates[milestone]) <= now)
      const upcoming = MILESTONES.find(milestone => dayNumber(dates[milestone]) > now)
      const phase: RuntimePlan['phase'] = passed.includes('blockUpdate')
        ? 'update-blocked'
        : passed.includes('blockCreate')
          ? 'create-blocked'
          : passed.includes('deprecated')
            ? 'deprecated'
            : 'supported'
      return {
        runtime,
        functions: names.sort(),
        phase,
        ...dates,
        ...(upcoming
          ? {
              next: {
                milestone: upcoming,
                date: dates[upcoming],
                days: Math.round(dayNumber(dates[upcoming]) - now)
              }
            }
          : {})
      }
    })
}
