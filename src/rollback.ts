import { GetTemplateCommand } from '@aws-sdk/client-cloudformation'
import { client, type StackAccess } from './stack.js'
import { awsCall } from './retry.js'

/**
 * Which deployment a stage serves. Serverless v3 keeps each deployment in its bucket under
 * `<prefix>/<service>/<stage>/<millis>-<ISO date>/`, and the stack's functions point at the artifact
 * in one of those folders: that folder's timestamp is what `serverless rollback --timestamp` takes.
 */

export interface Deployment {
  /** Epoch milliseconds, as `serverless rollback --timestamp` takes them. */
  timestamp: string
  /** The artifact folder: `serverless/api/dev/1795977048365-2026-11-29T18:30:48.365Z`. */
  directory: string
}

const DEPLOYMENT_FOLDER = /^(.*\/(\d{10,})-\d{4}-\d\d-\d\dT[\d:.]+Z)\//

/** The deployment a stack's template points at: the artifact folder of its functions' code. */
export function deploymentOf(template: unknown): Deployment | undefined {
  const resources = (
    template as { Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }> }
  )?.Resources
  for (const resource of Object.values(resources ?? {})) {
    const code = resource.Properties?.Code ?? resource.Properties?.Content
    const key = (code as { S3Key?: unknown } | undefined)?.S3Key
    const match = typeof key === 'string' ? DEPLOYMENT_FOLDER.exec(key) : null
    if (match) return { directory: match[1], timestamp: match[2] }
  }
  return undefined
}

/** The deployment the stack serves now, read from its live template. */
export async function liveDeployment(
  stackName: string,
  access: StackAccess
): Promise<Deployment | undefined> {
  const cfn = client(access)
  try {
    const result = await awsCall(
      `cloudformation:GetTemplate ${stackName}`,
      () => cfn.send(new GetTemplateCommand({ StackName: stackName })),
      access.retry
    )
    return result.TemplateBody ? deploymentOf(JSON.parse(result.TemplateBody)) : undefined
  } catch (error) {
    // A template that is not JSON (YAML written by hand) is no Serverless deployment.
    if (error instanceof SyntaxError) return undefined
    throw error
  } finally {
    cfn.destroy()
  }
}
