import type { ResourceChange } from '@aws-sdk/client-cloudformation'
import { countsOf, resourceItems } from './changes.js'
import { functionPlans } from './functions.js'
import { diffIam } from './iam.js'
import { UNZIPPED_LIMIT_BYTES, type Plan, type PlanInput, type ResourceItem } from './model.js'
import { diffRoutes, routesOf } from './routes.js'
import { runtimePlans } from './runtimes.js'
import { artifactPlans } from './sizes.js'
import { resourcesOf } from './template.js'

/**
 * The plan of one service, stage and region: pure, from what the plan step read (the change set,
 * both templates, the deployed functions, the packaged artifacts) and today's date.
 */
export function analysePlan(input: PlanInput): Plan {
  const oldResources = resourcesOf(input.oldTemplate)
  const newResources = resourcesOf(input.newTemplate)
  const items = resourceItems(input.changes, oldResources, newResources)
  const changes = new Map<string, ResourceChange>()
  for (const { ResourceChange: change } of input.changes) {
    const id = change?.LogicalResourceId
    if (change && id && !changes.has(id)) changes.set(id, change)
  }
  const counts = countsOf(items)
  const warnings: string[] = []
  if (input.statusReason && /\[WARN\]|incomplete/i.test(input.statusReason)) {
    warnings.push(`CloudFormation: ${input.statusReason}`)
  }
  // Without the deployed template, every route and statement would look new.
  const compareTemplates = input.changeSetType === 'CREATE' || input.oldTemplate !== undefined
  if (!compareTemplates) {
    warnings.push('The deployed template was not read: routes and IAM statements are not compared.')
  }
  const functions = functionPlans(
    input.functions,
    changes,
    items,
    oldResources,
    newResources,
    input.artifacts
  )
  return {
    version: 1,
    service: input.service,
    stage: input.stage,
    region: input.region,
    stackName: input.stackName,
    changeSetType: input.changeSetType,
    counts,
    changes: counts.add + counts.modify + counts.replace + counts.remove,
    churn: {
      lambdaVersions: churnCount(items, 'lambda-version'),
      apiDeployments: churnCount(items, 'api-deployment')
    },
    destructive: items.some(item => item.destructive),
    resources: items,
    functions,
    routes: compareTemplates
      ? diffRoutes(routesOf(oldResources), routesOf(newResources))
      : { added: [], removed: [], changed: [] },
    iam: compareTemplates
      ? diffIam(oldResources, newResources)
      : { added: [], removed: [], managedPolicies: { added: [], removed: [] } },
    artifacts: artifactPlans(input.artifacts),
    unzippedLimitBytes: UNZIPPED_LIMIT_BYTES,
    runtimes: runtimePlans(functions, input.today),
    warnings
  }
}

function churnCount(
  items: ResourceItem[],
  churn: NonNullable<ResourceItem['churn']>
): { added: number; removed: number } {
  const of = items.filter(item => item.churn === churn)
  return {
    added: of.filter(item => item.action === 'add').length,
    removed: of.filter(item => item.action === 'remove').length
  }
}
