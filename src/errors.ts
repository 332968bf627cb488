/** Where an error annotation points, and its title, as the runner shows them (core.error's properties). */
export interface Annotation {
  title?: string
  /** Relative to the repository root, or absolute. */
  file?: string
  startLine?: number
  startColumn?: number
}

/**
 * A failure the user can fix. Its message is the whole annotation: it names what is wrong, the value
 * and the fix, so main.ts prints it as it is instead of a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError'
  constructor(
    message: string,
    readonly annotation: Annotation = {}
  ) {
    super(message)
  }
}
