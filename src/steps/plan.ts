import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Tag } from '@aws-sdk/client-cloudformation'
import { deployedFunction, deployedTemplate, planChangeSet } from '../changeset.js'
import { known, stackAccess, tell, type RunContext } from '../context.js'
import { UserError } from '../errors.js'
import { analysePlan } from '../plan/analyse.js'
import type { FunctionInput, Plan } from '../plan/model.js'
import { protectedViolations } from '../plan/protect.js'
import { renderPlanMarkdown } from '../plan/render.js'
import { condition } from '../stack.js'
import { STACK_WAIT_MS, settledStack } from './stack-state.js'

/**
 * The plan: what a deploy of this package would change in the stage's stack, as CloudFormation works
 * it out in a change set that is never executed. `command: plan` ends here; a deploy with `protect`
 * plans first and stops before anything changes when the plan would replace or remove a protected
 * resource.
 */

/** Serverless' logical ID of a function (lib/plugins/aws/lib/naming.js getLambdaLogicalId). */
function functionLogicalId(key: string): string {
  const normalized = key.replace(/-/g, 'Dash').replace(/_/g, 'Underscore')
  return `${normalized.charAt(0).toUpperCase()}${normalized.slice(1)}LambdaFunction`
}

const base64Sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('base64')

/** Works out the plan; with `protect`, stops the run on a protected resource it would replace or remove. */
export async function planChanges(ctx: RunContext): Promise<void> {
  const { edges, inputs } = ctx
  // A deploy without protect does not plan: it costs the deploy no time.
  if (ctx.traits.serverless === 'deploy' && !inputs.protect.length) return
  const identity = known(ctx, 'identity')
  const packaged = known(ctx, 'packaged')
  const access = stackAccess(ctx)
  const stack = await settledStack(ctx, 5000)
  const exists = Boolean(stack && condition(stack.status) !== 'awaiting-change-set')
  const dir = path.join(ctx.config.dir, '.serverless')
  const template = readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')
  const state = JSON.parse(readFileSync(path.join(dir, 'serverless-state.json'), 'utf8')) as {
    service?: { provider?: { stackTags?: Record<string, unknown>; deploymentBucket?: unknown } }
  }
  const tags: Tag[] = Object.entries(state.service?.provider?.stackTags ?? {}).map(([Key, Value]) => ({
    Key,
    Value: String(Value)
  }))
  // A stack a plan creates holds nothing and is deleted again: the tag says so to whoever sees it meanwhile.
  if (!exists) tags.push({ Key: 'serverless-python-deploy:plan', Value: 'true' })
  const bucket = stack?.outputs.ServerlessDeploymentBucketName
  const result = await edges.runner.group(
    `Plan: a ${exists ? 'UPDATE' : 'CREATE'} change set for ${identity.stackName}`,
    () =>
      planChangeSet(
        {
          stackName: identity.stackName,
          type: exists ? 'UPDATE' : 'CREATE',
          template,
          tags,
          bucket: bucket ? { name: bucket, prefix: `plan/${identity.service}/${identity.stage}` } : undefined,
          clock: edges.clock,
          timeoutMs: STACK_WAIT_MS
        },
        access
      )
  )
  const functions: FunctionInput[] = []
  for (const fn of packaged.functions.filter(fn => fn.artifact)) {
    const zip = fn.artifact as string
    functions.push({
      logicalId: functionLogicalId(fn.key),
      name: fn.name,
      newZipSha256: base64Sha256(zip),
      newZipBytes: statSync(zip).size,
      deployed: exists ? await deployedFunction(fn.name, access) : undefined
    })
  }
  const plan = analysePlan({
    service: identity.service,
    stage: identity.stage,
    region: identity.region,
    stackName: identity.stackName,
    changeSetType: exists ? 'UPDATE' : 'CREATE',
    changes: result.changes,
    statusReason: result.statusReason,
    newTemplate: JSON.parse(template) as object,
    oldTemplate: exists ? await deployedTemplate(identity.stackName, access) : undefined,
    functions,
    artifacts: [
      ...new Set(packaged.functions.flatMap(fn => [...(fn.artifact ? [fn.artifact] : []), ...fn.layers]))
    ].map(zip => ({
      file: path.basename(zip),
      bytes: statSync(zip).size,
      unzippedBytes: unzippedSize(ctx, zip)
    })),
    today: new Date(edges.clock.now()).toISOString().slice(0, 10)
  })
  const file = ctx.paths.temp(`plan-${identity.stackName}.json`)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(plan, null, 2))
  ctx.plan = plan
  ctx.report.planMarkdown = planSummary(plan)
  tell(ctx, { plan: file, changes: String(plan.changes), destructive: String(plan.destructive) })
  edges.runner.info(
    `Plan for ${identity.stackName}: ${plan.counts.add} to add, ${plan.counts.modify} to modify, ${plan.counts.replace} to replace, ${plan.counts.remove} to remove${plan.destructive ? '; it would destroy data' : ''} (${file})`
  )
  const violations = protectedViolations(plan, inputs.protect)
  if (violations.length) {
    throw new UserError(
      [
        `The ${ctx.traits.serverless === 'deploy' ? 'deploy would' : 'change would'} ${violations
          .map(
            v =>
              `${v.action === 'replace' ? (v.replacement === 'conditional' ? 'possibly replace' : 'replace') : 'remove'} ${v.logicalId} (${v.type}; protected by ${v.entry})`
          )
          .join(
            ', '
          )}. ${ctx.traits.serverless === 'deploy' ? 'Nothing was deployed.' : ''} Change serverless.yml so that it keeps ${violations.length === 1 ? 'it' : 'them'}, protect ${violations.length === 1 ? 'it' : 'them'} with DeletionPolicy and UpdateReplacePolicy: Retain, or take ${violations.length === 1 ? 'it' : 'them'} out of the protect input.`,
        '',
        renderPlanMarkdown([plan], { limit: 4000 })
      ].join('\n'),
      { title: 'Plan replaces or removes a protected resource' }
    )
  }
}

/** A zip's unzipped size, from the static check's report when it read the zip. */
function unzippedSize(ctx: RunContext, zip: string): number {
  return ctx.artifactSizes?.[zip] ?? statSync(zip).size
}

/** The plan in the job summary: one section, within the summary's 1 MiB. */
export function planSummary(plan: Plan): string {
  return renderPlanMarkdown([plan], { limit: 900 * 1024, measure: text => Buffer.byteLength(text) })
}
