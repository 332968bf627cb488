import {
  type CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Output,
  type Stack,
  type StackEvent
} from '@aws-sdk/client-cloudformation'
import type { AwsClients, AwsCredentials } from './aws.js'
import type { Clock } from './clock.js'
import { awsCall, type RetryDeps } from './retry.js'

/**
 * The service's CloudFormation stack, read by the action itself: its state before a command, its
 * outputs after, the first failure in its events, and the regions where a stack of its name lives.
 * The SDK's own configuration applies, so AWS_ENDPOINT_URL points it at LocalStack or moto.
 */

export interface StackAccess {
  region: string
  credentials?: AwsCredentials
  clients: AwsClients
  retry?: RetryDeps
}

export interface StackInfo {
  name: string
  status: string
  reason?: string
  outputs: Record<string, string>
  /** When the last update (or the creation) started. */
  lastUpdated?: Date
}

/**
 * What a status means for the next command. Only ROLLBACK_COMPLETE after a failed first create,
 * *_FAILED and *_IN_PROGRESS need a word; every other *_COMPLETE (UPDATE_ROLLBACK_COMPLETE included:
 * a failed update was rolled back and the previous version serves) is healthy.
 */
export type StackCondition = 'healthy' | 'in-progress' | 'failed-create' | 'failed' | 'awaiting-change-set'

export function condition(status: string): StackCondition {
  if (status === 'ROLLBACK_COMPLETE') return 'failed-create'
  // A change set created the stack but never ran (a deploy cut short): nothing exists yet.
  if (status === 'REVIEW_IN_PROGRESS') return 'awaiting-change-set'
  if (status.endsWith('_IN_PROGRESS')) return 'in-progress'
  if (status.endsWith('_FAILED')) return 'failed'
  return 'healthy'
}

/** The client for the action's own CloudFormation calls: one attempt per call, as awsCall retries and logs why. */
export function client(access: StackAccess): CloudFormationClient {
  return access.clients.cloudFormation({ region: access.region, credentials: access.credentials })
}

/** Starts deleting a stack (a failed first create can only be deleted); the caller waits for it to settle. */
export async function deleteStack(name: string, access: StackAccess): Promise<void> {
  const cfn = client(access)
  try {
    await awsCall(
      `cloudformation:DeleteStack ${name} (${access.region})`,
      () => cfn.send(new DeleteStackCommand({ StackName: name })),
      access.retry
    )
  } finally {
    cfn.destroy()
  }
}

function missing(error: unknown): boolean {
  const e = error as { name?: string; message?: string }
  return e?.name === 'ValidationError' && /does not exist/.test(e.message ?? '')
}

function info(stack: Stack): StackInfo {
  return {
    name: stack.StackName ?? '',
    status: stack.StackStatus ?? 'UNKNOWN',
    reason: stack.StackStatusReason,
    outputs: outputMap(stack.Outputs ?? []),
    lastUpdated: stack.LastUpdatedTime ?? stack.CreationTime
  }
}

/** The stack, or undefined when no stack of that name exists (deleted ones included) in the region. */
export async function describeStack(name: string, access: StackAccess): Promise<StackInfo | undefined> {
  const cfn = client(access)
  try {
    const result = await awsCall(
      `cloudformation:DescribeStacks ${name} (${access.region})`,
      () => cfn.send(new DescribeStacksCommand({ StackName: name })),
      access.retry
    )
    const stack = result.Stacks?.[0]
    return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? info(stack) : undefined
  } catch (error) {
    if (missing(error)) return undefined
    throw error
  } finally {
    cfn.destroy()
  }
}

export interface WaitOptions {
  /** Longest wait in all. */
  timeoutMs: number
  pollMs: number
  log: (message: string) => void
  clock: Clock
  describe?: typeof describeStack
}

/**
 * Waits for another run's (or a killed run's) update to finish, so that this one neither fails on
 * "is in UPDATE_IN_PROGRESS state and can not be updated" nor cancels it. Returns the settled stack,
 * or undefined when it was deleted meanwhile; throws when the wait runs out.
 */
export async function waitUntilSettled(
  name: string,
  access: StackAccess,
  options: WaitOptions
): Promise<StackInfo | undefined> {
  const { sleep, now } = options.clock
  const describe = options.describe ?? describeStack
  const started = now()
  let stack = await describe(name, access)
  while (stack && condition(stack.status) === 'in-progress') {
    const waited = now() - started
    if (waited >= options.timeoutMs) {
      throw new StackBusyError(stack, waited)
    }
    options.log(
      `Stack ${name} is ${stack.status} (another deploy, or one that was cut short, is still running); waiting ${Math.round(waited / 1000)}s of at most ${Math.round(options.timeoutMs / 1000)}s for it to finish.`
    )
    await sleep(Math.min(options.pollMs, Math.max(0, options.timeoutMs - waited)))
    stack = await describe(name, access)
  }
  return stack
}

export class StackBusyError extends Error {
  constructor(
    readonly info: StackInfo,
    readonly waitedMs: number
  ) {
    super(`Stack ${info.name} is still ${info.status} after ${Math.round(waitedMs / 1000)}s`)
  }
}

/**
 * The regions of a partition where a stack of this name exists, for "deployed, but nothing shows":
 * the stack is elsewhere. Regions that refuse the call (not enabled for the account) are left out.
 */
export async function regionsWithStack(
  name: string,
  regions: readonly string[],
  access: Pick<StackAccess, 'credentials' | 'clients'>
): Promise<string[]> {
  const found = await Promise.all(
    regions.map(async region => {
      const cfn = access.clients.cloudFormation({ region, credentials: access.credentials, quick: true })
      try {
        const result = await cfn.send(new DescribeStacksCommand({ StackName: name }))
        const status = result.Stacks?.[0]?.StackStatus
        return status && status !== 'DELETE_COMPLETE' ? region : undefined
      } catch {
        return undefined
      } finally {
        cfn.destroy()
      }
    })
  )
  return found.filter((region): region is string => Boolean(region))
}

export interface StackFailure {
  logicalId: string
  type: string
  status: string
  reason: string
}

/**
 * The first resource that failed since `since`, from the stack's events: the cause, where Serverless'
 * summary shows only the stack's final status. Cancellations that follow the first failure are not it.
 */
export async function firstFailure(
  name: string,
  since: Date,
  access: StackAccess
): Promise<StackFailure | undefined> {
  const cfn = client(access)
  const events: StackEvent[] = []
  try {
    let token: string | undefined
    // Newest first; stop paging once past `since`.
    for (let page = 0; page < 10; page++) {
      const result = await awsCall(
        `cloudformation:DescribeStackEvents ${name}`,
        () => cfn.send(new DescribeStackEventsCommand({ StackName: name, NextToken: token })),
        access.retry
      )
      const batch = result.StackEvents ?? []
      events.push(...batch)
      token = result.NextToken
      if (!token || batch.some(event => event.Timestamp && event.Timestamp < since)) break
    }
  } catch (error) {
    if (missing(error)) return undefined
    throw error
  } finally {
    cfn.destroy()
  }
  const failures = events
    .filter(e => e.Timestamp && e.Timestamp >= since && /FAILED$/.test(e.ResourceStatus ?? ''))
    .filter(e => !/cancelled|canceled/i.test(e.ResourceStatusReason ?? ''))
    .sort((a, b) => (a.Timestamp?.getTime() ?? 0) - (b.Timestamp?.getTime() ?? 0))
  // A resource's own failure is the cause; the stack's (UPDATE_ROLLBACK_FAILED) only when there is none.
  const failed = failures.find(e => e.LogicalResourceId !== name) ?? failures[0]
  if (!failed) return undefined
  return {
    logicalId: failed.LogicalResourceId ?? '',
    type: failed.ResourceType ?? '',
    status: failed.ResourceStatus ?? '',
    reason: failed.ResourceStatusReason ?? ''
  }
}

export function outputMap(outputs: Output[]): Record<string, string> {
  return Object.fromEntries(
    outputs.filter(o => o.OutputKey && o.OutputValue !== undefined).map(o => [o.OutputKey, o.OutputValue])
  )
}

/** The stack outputs that hold a service's URL, most specific first. */
const URL_OUTPUTS = ['HttpApiUrl', 'ServiceEndpoint']

/** The service URL as its stack reports it, not as the CLI prints it. */
export function serviceUrl(outputs: Record<string, string>): string {
  for (const key of URL_OUTPUTS) if (outputs[key]) return outputs[key]
  const functionUrl = Object.keys(outputs)
    .sort()
    .find(key => key.endsWith('LambdaFunctionUrl'))
  return functionUrl ? outputs[functionUrl] : ''
}
