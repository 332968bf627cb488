/**
 * A failure the user can fix. Its message is the whole annotation: it names what is wrong, the value
 * and the fix, so main.ts prints it as it is instead of a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError'
}
