import { UserError } from './errors.js'

/**
 * The stage flows into AWS names that have limits: Serverless v3 names each function
 * `<service>-<stage>-<function>` (Lambda: 64 characters), each service role
 * `<service>-<stage>-<region>-lambdaRole` (IAM: 64) and the stack `<service>-<stage>` (CloudFormation:
 * 128, a letter first, then letters, digits and hyphens). A stage that breaks one fails deep inside a
 * CloudFormation update; this says so before anything is deployed.
 */
export interface StageNames {
  service: string
  stage: string
  region?: string
  stackName?: string
  /** The function keys under `functions:` (names then follow Serverless' pattern)… */
  functionKeys?: string[]
  /** …or the function names Serverless resolved. */
  functionNames?: string[]
  /** provider.iam.role.name, when the service names its role itself (then the stage is not in it). */
  roleName?: string
}

interface Limit {
  what: string
  name: string
  max: number
}

export function checkStageFits(names: StageNames): void {
  const { service, stage } = names
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) {
    throw new UserError(
      `Stage '${stage}' has characters AWS names cannot take: use only letters, digits and hyphens.`,
      { title: 'Stage name' }
    )
  }
  const functions = names.functionNames ?? (names.functionKeys ?? []).map(key => `${service}-${stage}-${key}`)
  const stackName = names.stackName ?? `${service}-${stage}`
  const limits: Limit[] = [
    ...functions.map(name => ({ what: "Lambda's limit for a function name", name, max: 64 })),
    ...(names.roleName
      ? [{ what: "IAM's limit for a role name", name: names.roleName, max: 64 }]
      : names.region
        ? [
            {
              what: "IAM's limit for the role Serverless creates",
              name: `${service}-${stage}-${names.region}-lambdaRole`,
              max: 64
            }
          ]
        : []),
    { what: "CloudFormation's limit for a stack name", name: stackName, max: 128 }
  ]
  const worst = limits
    .map(limit => ({ ...limit, over: limit.name.length - limit.max }))
    .filter(limit => limit.over > 0)
    .sort((a, b) => b.over - a.over)[0]
  if (worst) {
    throw new UserError(
      `Stage '${stage}' makes ${worst.name} ${worst.name.length} characters long, ${worst.over} over ${worst.what} (${worst.max}). Use a stage at most ${Math.max(1, stage.length - worst.over)} characters long, or a shorter service or function name.`,
      { title: 'Stage name too long' }
    )
  }
  if (!/^[a-zA-Z][-a-zA-Z0-9]*$/.test(stackName)) {
    throw new UserError(
      `The stack name ${stackName} is not one CloudFormation takes: it must start with a letter and hold only letters, digits and hyphens.`,
      { title: 'Stack name' }
    )
  }
}
