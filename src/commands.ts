import type { Command } from './inputs.js'

/**
 * What each command is, as the steps ask it: whether it builds the service, when it needs an AWS
 * account, and whether the pull request comment reports it. The steps read this table instead of
 * comparing command names, so that a new command is one row here and one list of steps in main.ts.
 */
export interface CommandTraits {
  /** Runs Python and `serverless package`, and so knows its build before anything else runs. */
  builds: boolean
  /**
   * `always`: credentials before anything else, so that a refusal comes first. `when-asked`: only
   * when role-to-assume or allowed-account-ids is given (packaging needs an account only when
   * serverless.yml reads from one); otherwise the environment's own credentials, if any.
   */
  credentials: 'always' | 'when-asked'
  /**
   * What the pull request comment says: a preview's URL and smoke test (previews come and go with
   * deploy and remove), or the plan; false for commands that change nothing a reviewer needs to see.
   */
  comments: 'preview' | 'plan' | false
  /** The serverless command that is the user's own and so takes `args` whole; the ones the action adds take only what they know. */
  serverless: 'deploy' | 'package' | 'info' | 'remove'
}

export const COMMAND_TRAITS: Readonly<Record<Command, CommandTraits>> = {
  deploy: { builds: true, credentials: 'always', comments: 'preview', serverless: 'deploy' },
  package: { builds: true, credentials: 'when-asked', comments: false, serverless: 'package' },
  info: { builds: false, credentials: 'always', comments: false, serverless: 'info' },
  remove: { builds: false, credentials: 'always', comments: 'preview', serverless: 'remove' },
  plan: { builds: true, credentials: 'always', comments: 'plan', serverless: 'package' }
}
