import os from 'node:os'
import path from 'node:path'
import type { Env } from './child-env.js'

/**
 * The runner's folders, and what the action keeps in each: its temp folder (emptied after every job
 * on hosted runners) for what this run writes for itself, its tool cache (kept on self-hosted
 * runners) for what later runs may reuse. Outside a runner, the OS's temp folder stands in for both.
 */
export interface RunnerPaths {
  /** The action's own folder in the runner's temp folder. */
  temp: (...parts: string[]) => string
  /** The action's own folder in the runner's tool cache. */
  toolCache: (...parts: string[]) => string
  /** The tool cache itself, where actions/setup-python lays out Python builds. */
  toolCacheRoot: string
}

export function runnerPaths(env: Env): RunnerPaths {
  const temp = path.join(env.RUNNER_TEMP || os.tmpdir(), 'serverless-python-deploy')
  const toolCacheRoot = env.RUNNER_TOOL_CACHE || path.join(os.tmpdir(), 'tool-cache')
  const toolCache = path.join(toolCacheRoot, 'serverless-python-deploy')
  return {
    temp: (...parts) => path.join(temp, ...parts),
    toolCache: (...parts) => path.join(toolCache, ...parts),
    toolCacheRoot
  }
}
