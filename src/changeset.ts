import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  GetTemplateCommand,
  type Change,
  type Tag
} from '@aws-sdk/client-cloudformation'
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda'
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import type { Clock } from './clock.js'
import type { DeployedFunction } from './plan/model.js'
import { awsCall } from './retry.js'
import { client, type StackAccess } from './stack.js'

/**
 * What CloudFormation says a deploy would change, without changing anything: a change set of the
 * packaged template for the stage's stack (an UPDATE, or a CREATE for a stage that has none), read
 * page by page, then deleted, with the REVIEW_IN_PROGRESS stack a CREATE leaves. Serverless v3 always
 * executes the change sets it creates; this one is never executed.
 */

/** CloudFormation takes a template body up to this size; a larger one is read from S3. */
const BODY_LIMIT = 51_200

export interface ChangeSetRequest {
  stackName: string
  type: 'CREATE' | 'UPDATE'
  template: string
  /** The stack's tags, as a deploy would set them (provider.stackTags). */
  tags: Tag[]
  /** The deployment bucket, for a template too large to send inline, and the key prefix it may use. */
  bucket?: { name: string; prefix: string }
  clock: Clock
  /** Longest wait for CloudFormation to work out the changes. */
  timeoutMs: number
}

export interface ChangeSetResult {
  changes: Change[]
  status: string
  statusReason?: string
}

export async function planChangeSet(
  request: ChangeSetRequest,
  access: StackAccess
): Promise<ChangeSetResult> {
  const cfn = client(access)
  const name = `${request.stackName}-plan-${request.clock.now()}`.slice(0, 128)
  const upload =
    Buffer.byteLength(request.template) > BODY_LIMIT && request.bucket
      ? {
          bucket: request.bucket.name,
          key: `${request.bucket.prefix}/${name}/compiled-cloudformation-template.json`
        }
      : undefined
  const s3 = upload
    ? access.clients.s3({ region: access.region, credentials: access.credentials })
    : undefined
  let created = false
  try {
    if (upload && s3)
      await awsCall(
        `s3:PutObject ${upload.key}`,
        () =>
          s3.send(new PutObjectCommand({ Bucket: upload.bucket, Key: upload.key, Body: request.template })),
        access.retry
      )
    await awsCall(
      `cloudformation:CreateChangeSet ${name}`,
      () =>
        cfn.send(
          new CreateChangeSetCommand({
            StackName: request.stackName,
            ChangeSetName: name,
            ChangeSetType: request.type,
            ...(upload
              ? { TemplateURL: `https://${upload.bucket}.s3.amazonaws.com/${upload.key}` }
              : { TemplateBody: request.template }),
            Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
            Tags: request.tags,
            IncludeNestedStacks: false,
            // Before and after values of each changed property, where the API gives them.
            ...({ IncludePropertyValues: true } as object)
          })
        ),
      access.retry
    )
    created = true
    return await readChangeSet(name, request, access)
  } finally {
    if (created)
      await awsCall(
        `cloudformation:DeleteChangeSet ${name}`,
        () => cfn.send(new DeleteChangeSetCommand({ StackName: request.stackName, ChangeSetName: name })),
        access.retry
      ).catch(() => undefined)
    // A CREATE change set made a stack in REVIEW_IN_PROGRESS that holds nothing: it goes too.
    if (created && request.type === 'CREATE')
      await awsCall(
        `cloudformation:DeleteStack ${request.stackName}`,
        () => cfn.send(new DeleteStackCommand({ StackName: request.stackName })),
        access.retry
      )
    if (upload && s3)
      await s3
        .send(new DeleteObjectCommand({ Bucket: upload.bucket, Key: upload.key }))
        .catch(() => undefined)
    s3?.destroy()
    cfn.destroy()
  }
}

/** Waits until CloudFormation has worked out the changes, then reads every page of them. */
async function readChangeSet(
  name: string,
  request: ChangeSetRequest,
  access: StackAccess
): Promise<ChangeSetResult> {
  const cfn = client(access)
  try {
    const started = request.clock.now()
    for (;;) {
      const first = await awsCall(
        `cloudformation:DescribeChangeSet ${name}`,
        () =>
          cfn.send(
            new DescribeChangeSetCommand({
              StackName: request.stackName,
              ChangeSetName: name,
              ...({ IncludePropertyValues: true } as object)
            })
          ),
        access.retry
      )
      const status = first.Status ?? 'UNKNOWN'
      if (status === 'CREATE_PENDING' || status === 'CREATE_IN_PROGRESS') {
        if (request.clock.now() - started > request.timeoutMs)
          throw new Error(
            `Change set ${name} was still ${status} after ${Math.round(request.timeoutMs / 1000)} s`
          )
        await request.clock.sleep(2000)
        continue
      }
      const changes = [...(first.Changes ?? [])]
      let token = first.NextToken
      while (token) {
        const page = await awsCall(
          `cloudformation:DescribeChangeSet ${name} (next page)`,
          () =>
            cfn.send(
              new DescribeChangeSetCommand({
                StackName: request.stackName,
                ChangeSetName: name,
                NextToken: token,
                ...({ IncludePropertyValues: true } as object)
              })
            ),
          access.retry
        )
        changes.push(...(page.Changes ?? []))
        token = page.NextToken
      }
      return { changes, status, statusReason: first.StatusReason }
    }
  } finally {
    cfn.destroy()
  }
}

/** The template the stack runs now. */
export async function deployedTemplate(stackName: string, access: StackAccess): Promise<object | undefined> {
  const cfn = client(access)
  try {
    const result = await awsCall(
      `cloudformation:GetTemplate ${stackName}`,
      () => cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' })),
      access.retry
    )
    return result.TemplateBody ? (JSON.parse(result.TemplateBody) as object) : undefined
  } catch (error) {
    if (error instanceof SyntaxError) return undefined
    throw error
  } finally {
    cfn.destroy()
  }
}

/** A deployed function's code hash and configuration, or undefined when it does not exist. */
export async function deployedFunction(
  name: string,
  access: StackAccess
): Promise<DeployedFunction | undefined> {
  const lambda = access.clients.lambda({ region: access.region, credentials: access.credentials })
  try {
    const fn = await awsCall(
      `lambda:GetFunctionConfiguration ${name}`,
      () => lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name })),
      access.retry
    )
    return {
      codeSha256: fn.CodeSha256 ?? '',
      runtime: fn.Runtime,
      memorySize: fn.MemorySize,
      timeout: fn.Timeout,
      architectures: fn.Architectures,
      layers: fn.Layers?.map(layer => layer.Arn ?? ''),
      environmentNames: Object.keys(fn.Environment?.Variables ?? {}),
      codeSize: fn.CodeSize
    }
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined
    throw error
  } finally {
    lambda.destroy()
  }
}
