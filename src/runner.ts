import * as core from '@actions/core'

/**
 * The runner's protocol, as the action speaks it: log lines and annotations on stdout, outputs, state,
 * exported variables, PATH additions and the job summary in the files the runner names. Steps speak it
 * through this interface only, so that a test can read what a run told the runner without parsing it.
 */
export type AnnotationProperties = core.AnnotationProperties

export interface Runner {
  info: (message: string) => void
  debug: (message: string) => void
  notice: (message: string, properties?: AnnotationProperties) => void
  warning: (message: string, properties?: AnnotationProperties) => void
  error: (message: string, properties?: AnnotationProperties) => void
  group: <T>(title: string, work: () => Promise<T>) => Promise<T>
  setOutput: (name: string, value: string) => void
  saveState: (name: string, value: string) => void
  exportVariable: (name: string, value: string) => void
  addPath: (dir: string) => void
  /** Masks a value in every later log line. */
  setSecret: (value: string) => void
  getIDToken: (audience: string) => Promise<string>
  /** Appends Markdown (with HTML) to the job summary. */
  appendSummary: (markdown: string) => Promise<void>
  /** The step's exit code: 1 fails it. */
  setExitCode: (code: number) => void
}

/** The runner itself, through @actions/core. */
export const actionsRunner: Runner = {
  info: message => core.info(message),
  debug: message => core.debug(message),
  notice: (message, properties) => core.notice(message, properties),
  warning: (message, properties) => core.warning(message, properties),
  error: (message, properties) => core.error(message, properties),
  group: (title, work) => core.group(title, work),
  setOutput: (name, value) => core.setOutput(name, value),
  saveState: (name, value) => core.saveState(name, value),
  exportVariable: (name, value) => core.exportVariable(name, value),
  addPath: dir => core.addPath(dir),
  setSecret: value => core.setSecret(value),
  getIDToken: audience => core.getIDToken(audience),
  appendSummary: async markdown => {
    await core.summary.addRaw(markdown, true).write()
  },
  setExitCode: code => {
    process.exitCode = code
  }
}
