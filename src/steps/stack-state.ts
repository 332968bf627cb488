import { known, stackAccess, type RunContext } from '../context.js'
import { UserError } from '../errors.js'
import { partitionOfRegion } from '../regions.js'
import { regionsWithStack, StackBusyError, waitUntilSettled, type StackInfo } from '../stack.js'

/** What the release and teardown steps ask about the stage's stack before they change it. */

/** Long enough for a Lambda + API deploy to finish; short of the job's own timeout. */
export const STACK_WAIT_MS = 20 * 60_000

/**
 * The stack once no other run is changing it: a deploy or remove of the same stage waits, bounded and
 * logged, instead of failing on "is in UPDATE_IN_PROGRESS state" or cancelling the other run.
 */
export async function settledStack(ctx: RunContext, pollMs = 15_000): Promise<StackInfo | undefined> {
  const identity = known(ctx, 'identity')
  try {
    return await waitUntilSettled(identity.stackName, stackAccess(ctx), {
      timeoutMs: STACK_WAIT_MS,
      pollMs,
      log: ctx.edges.runner.info,
      clock: ctx.edges.clock
    })
  } catch (error) {
    if (!(error instanceof StackBusyError)) throw error
    throw new UserError(
      `Stack ${identity.stackName} is still ${error.info.status} after ${Math.round(error.waitedMs / 60000)} minutes: another deploy of stage ${identity.stage} is running, or one that was cut short left CloudFormation busy. Nothing was changed. Run again once it has finished (the CloudFormation console shows its events), and give the workflow a concurrency group per stage.`,
      { title: 'Stack busy' }
    )
  }
}

/** The other regions of the partition where a stack of the service's name exists. */
export async function stackElsewhere(ctx: RunContext): Promise<string[]> {
  const identity = known(ctx, 'identity')
  const partition = partitionOfRegion(identity.region)
  if (!partition) return []
  const found = await regionsWithStack(identity.stackName, partition.regions, stackAccess(ctx))
  return found.filter(region => region !== identity.region)
}

/** The stack is not where Serverless says the service lives: say where it is, if anywhere. */
export async function missingStack(ctx: RunContext): Promise<UserError> {
  const identity = known(ctx, 'identity')
  const elsewhere = await stackElsewhere(ctx)
  const where = elsewhere.length
    ? ` A stack of that name exists in ${elsewhere.join(', ')}: set aws-region (or provider.region) to ${elsewhere.length === 1 ? 'it' : 'the one you mean'}.`
    : ` No region of the ${partitionOfRegion(identity.region)?.id ?? 'aws'} partition has a stack of that name: deploy the stage first.`
  return new UserError(
    `Stack ${identity.stackName} does not exist in ${identity.region}${ctx.report.accountId ? ` (account ${ctx.report.accountId})` : ''}.${where}`,
    { title: 'No such stack' }
  )
}
