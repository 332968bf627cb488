import { describeStack } from '../stack.js'
import { known, stackAccess, type RunContext } from '../context.js'
import { serverlessError } from '../diagnosis.js'
import { failed, serverless } from '../serverless.js'
import { settledStack, stackElsewhere } from './stack-state.js'

/** Tearing a stage down. */

/** `serverless remove`; a stage that is already gone is a success with a notice, so a teardown can run twice. */
export async function removeStack(ctx: RunContext): Promise<void> {
  const identity = known(ctx, 'identity')
  const stack = await settledStack(ctx)
  if (!stack) {
    const elsewhere = await stackElsewhere(ctx)
    ctx.edges.runner.notice(
      `Stack ${identity.stackName} does not exist in ${identity.region}: stage ${identity.stage} is already removed, nothing to do.${elsewhere.length ? ` (A stack of that name exists in ${elsewhere.join(', ')}: set aws-region to remove that one.)` : ''}`,
      { title: 'Nothing to remove' }
    )
    ctx.report.removed = 'already gone'
    return
  }
  const result = await serverless(ctx, ['remove'], ctx.inputs.args)
  if (result.exitCode !== 0) {
    // Removed meanwhile (another teardown): the goal is reached.
    if (
      /does not exist/.test(serverlessError(result.output) ?? '') &&
      !(await describeStack(identity.stackName, stackAccess(ctx)))
    ) {
      ctx.edges.runner.notice(`Stack ${identity.stackName} was removed meanwhile; nothing left to do.`)
      ctx.report.removed = 'removed'
      return
    }
    failed(ctx, 'remove', result)
  }
  ctx.report.removed = 'removed'
}
