import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Change, DescribeChangeSetOutput, ResourceChange } from '@aws-sdk/client-cloudformation'
import type { PlanInput } from '../../src/plan/model.js'
import { FIXTURES } from './fixture.js'

/** Inputs for the plan's tests: the captured change sets, the generated Serverless templates, and builders. */

export const CHANGE_SETS = path.join(FIXTURES, 'change-sets')

/** A captured DescribeChangeSet response, or its pages, as the plan step hands them over: the changes of all pages. */
export function changeSetFixture(name: string): { pages: DescribeChangeSetOutput[]; changes: Change[] } {
  const data = JSON.parse(readFileSync(path.join(CHANGE_SETS, name), 'utf8')) as
    DescribeChangeSetOutput | DescribeChangeSetOutput[]
  const pages = Array.isArray(data) ? data : [data]
  return { pages, changes: pages.flatMap(page => page.Changes ?? []) }
}

/** `serverless package`'s template of the shop service, before or after its change (see plan-templates/sources.json). */
export function shopTemplate(which: 'before' | 'after'): Record<string, unknown> {
  const file = path.join(
    FIXTURES,
    'plan-templates',
    'shop',
    which,
    'cloudformation-template-update-stack.json'
  )
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
}

export function resourceChange(
  action: ResourceChange['Action'],
  logicalId: string,
  type: string,
  extra: Partial<ResourceChange> = {}
): Change {
  return {
    Type: 'Resource',
    ResourceChange: { Action: action, LogicalResourceId: logicalId, ResourceType: type, ...extra }
  }
}

/** A change set as moto reports one: the action per logical ID, nothing else. */
export function motoChanges(before: Record<string, unknown>, after: Record<string, unknown>): Change[] {
  const old = before.Resources as Record<string, { Type: string }>
  const current = after.Resources as Record<string, { Type: string }>
  const changes: Change[] = []
  for (const [id, resource] of Object.entries(current)) {
    if (!old[id]) changes.push(resourceChange('Add', id, resource.Type))
    else if (JSON.stringify(old[id]) !== JSON.stringify(resource))
      changes.push(resourceChange('Modify', id, resource.Type))
  }
  for (const [id, resource] of Object.entries(old)) {
    if (!current[id]) changes.push(resourceChange('Remove', id, resource.Type))
  }
  return changes
}

export function planInput(overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    service: 'shop',
    stage: 'dev',
    region: 'eu-west-1',
    stackName: 'shop-dev',
    changeSetType: 'UPDATE',
    changes: [],
    newTemplate: { Resources: {} },
    oldTemplate: { Resources: {} },
    functions: [],
    artifacts: [],
    today: '2026-12-04',
    ...overrides
  }
}
