import { sdkClients, type AwsClients } from './aws.js'
import { actionsCacheStore, type CacheStore } from './cache.js'
import type { Env } from './child-env.js'
import { systemClock, type Clock } from './clock.js'
import { actionsExecRunner, type Exec } from './exec.js'
import { actionsRunner, type Runner } from './runner.js'

/**
 * Everything a run touches outside itself. run() takes them as one value, so that a test can run the
 * real steps in process against an environment, a clock, child processes, AWS and a runner it plays.
 */
export interface Edges {
  /** The environment the runner gave the step, read once. */
  env: Env
  clock: Clock
  exec: Exec
  aws: AwsClients
  runner: Runner
  cache: CacheStore
  /** The repository's root: GITHUB_WORKSPACE, else the working directory. */
  workspace: string
  /** The Node that runs the action: serverless runs on it too. */
  node: string
  platform: NodeJS.Platform
  arch: string
}

export function realEdges(): Edges {
  const env = { ...process.env }
  return {
    env,
    clock: systemClock,
    exec: actionsExecRunner,
    aws: sdkClients,
    runner: actionsRunner,
    cache: actionsCacheStore(env),
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    node: process.execPath,
    platform: process.platform,
    arch: process.arch
  }
}
