import * as exec from '@actions/exec'
import path from 'node:path'
import type { Command } from './inputs.js'

export interface ServerlessRun {
  bin: string
  command: Command
  stage: string
  region: string
  args: string[]
  cwd: string
  /** Added to the environment of the serverless process only (credentials among them). */
  env: Record<string, string>
}

/** How much of serverless' output is kept for diagnosis; the log has all of it. */
const KEEP = 64 * 1024

export function serverlessArgs(run: Pick<ServerlessRun, 'command' | 'stage' | 'region' | 'args'>): string[] {
  return [run.command, '--stage', run.stage, '--region', run.region, ...run.args]
}

/**
 * The environment serverless runs in: the action's own Node first on PATH, so serverless and its
 * plugins run on the runner's node24 rather than whatever node the image has, and no prompts,
 * telemetry or notifications.
 */
export function serverlessEnv(
  extra: Record<string, string>,
  base: NodeJS.ProcessEnv = process.env
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value
  return {
    ...env,
    PATH: [path.dirname(process.execPath), env.PATH].filter(Boolean).join(path.delimiter),
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_INTERACTIVE_SETUP_DISABLE: '1',
    CI: env.CI ?? 'true',
    ...extra
  }
}

export async function runServerless(run: ServerlessRun): Promise<{ exitCode: number; output: string }> {
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP)
  }
  const exitCode = await exec.exec(run.bin, serverlessArgs(run), {
    cwd: run.cwd,
    env: serverlessEnv(run.env),
    ignoreReturnCode: true,
    listeners: { stdout: keep, stderr: keep }
  })
  return { exitCode, output }
}
