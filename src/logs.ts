import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import type { AwsClients, AwsCredentials } from './aws.js'
import { awsCall, type RetryDeps } from './retry.js'

/**
 * The functions' own log events since a deploy: when the smoke test fails, the ImportError or the
 * traceback, not just "Internal Server Error". Lambda writes to /aws/lambda/<function name>.
 */

export interface LogEvent {
  function: string
  timestamp: number
  message: string
}

export interface LogOptions {
  region: string
  credentials?: AwsCredentials
  clients: AwsClients
  retry?: RetryDeps
  /** Events from this time on (the deploy's start). */
  since: number
  /** The most events kept, newest last. */
  limit?: number
}

export async function functionLogs(functionNames: string[], options: LogOptions): Promise<LogEvent[]> {
  const client = options.clients.logs({ region: options.region, credentials: options.credentials })
  const limit = options.limit ?? 40
  try {
    const perFunction = await Promise.all(
      functionNames.map(async name => {
        try {
          const result = await awsCall(
            `logs:FilterLogEvents /aws/lambda/${name}`,
            () =>
              client.send(
                new FilterLogEventsCommand({
                  logGroupName: `/aws/lambda/${name}`,
                  startTime: options.since,
                  limit: 200
                })
              ),
            options.retry
          )
          return (result.events ?? []).map(event => ({
            function: name,
            timestamp: event.timestamp ?? 0,
            message: (event.message ?? '').replace(/\s+$/, '')
          }))
        } catch (error) {
          // A function that never ran has no log group yet; that says something too, but no events.
          if ((error as { name?: string }).name === 'ResourceNotFoundException') return []
          throw error
        }
      })
    )
    return perFunction
      .flat()
      .sort((a, b) => a.timestamp - b.timestamp)
      .slice(-limit)
  } finally {
    client.destroy()
  }
}

/** The events as lines for the log and the summary. */
export function formatLogs(events: LogEvent[]): string {
  return events
    .map(event => `${new Date(event.timestamp).toISOString()} ${event.function}: ${event.message}`)
    .join('\n')
}
