import * as actionsExec from '@actions/exec'

/**
 * Starting a child process. Every child the action starts goes through one Exec, and each call names
 * its whole environment: nothing is inherited by accident (child-env.ts builds what each kind of child
 * may see). Runs are echoed as the runner shows them (`[command]…`) unless silent.
 */
export interface ExecOptions {
  env: Record<string, string>
  cwd?: string
  /** Capture without echoing. */
  silent?: boolean
  /** Written to the child's stdin. */
  input?: string
  /** Each chunk of output as it comes, for callers that keep a tail of it. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Resolves with the exit code, never rejects on one; rejects when the tool cannot be started at all. */
export type Exec = (tool: string, args: string[], options: ExecOptions) => Promise<ExecResult>

/** How much of each stream a result keeps. */
const KEEP = 8 * 1024 * 1024

/** The runner's own exec, which echoes each command line and streams its output into the step's log. */
export const actionsExecRunner: Exec = async (tool, args, options) => {
  let stdout = ''
  let stderr = ''
  // A tail is enough for what callers read (a JSON document, an error block); the log has the rest.
  const keep = (text: string, chunk: string) => (text + chunk).slice(-KEEP)
  const exitCode = await actionsExec.exec(tool, args, {
    cwd: options.cwd,
    env: options.env,
    silent: options.silent,
    ignoreReturnCode: true,
    input: options.input === undefined ? undefined : Buffer.from(options.input),
    listeners: {
      stdout: chunk => {
        stdout = keep(stdout, chunk.toString())
        options.onOutput?.(chunk.toString(), 'stdout')
      },
      stderr: chunk => {
        stderr = keep(stderr, chunk.toString())
        options.onOutput?.(chunk.toString(), 'stderr')
      }
    }
  })
  return { exitCode, stdout, stderr }
}
