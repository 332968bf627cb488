import type { Change } from '@aws-sdk/client-cloudformation'

/**
 * What `command: plan` shows a reviewer before anything is deployed: the change set CloudFormation
 * computed, read together with both templates, the deployed functions and the packaged artifacts.
 * The plan is plain JSON (the action's `plan` output); the Markdown is rendered from it alone.
 */

export type ChangeSetType = 'CREATE' | 'UPDATE'

/** A function as Lambda reports it now (GetFunctionConfiguration), before this deploy. */
export interface DeployedFunction {
  /** Base64 SHA-256 of the deployed zip, as Lambda's CodeSha256. */
  codeSha256: string
  runtime?: string
  memorySize?: number
  timeout?: number
  architectures?: string[]
  /** Layer version ARNs. */
  layers?: string[]
  /** Names only: the values never enter the plan. */
  environmentNames: string[]
  /** The deployed zip's size in bytes (Lambda's CodeSize). */
  codeSize?: number
}

export interface FunctionInput {
  /** The AWS::Lambda::Function's logical ID in the new template. */
  logicalId: string
  /** The function's name (Lambda's FunctionName). */
  name: string
  /** Base64 SHA-256 of the new zip, computed as Lambda computes CodeSha256. */
  newZipSha256: string
  newZipBytes: number
  newUnzippedBytes?: number
  /** Absent when the function does not exist yet. */
  deployed?: DeployedFunction
}

export interface ArtifactInput {
  /** As packaged, e.g. `.serverless/api.zip`; matched to the template's S3Key by its base name. */
  file: string
  bytes: number
  unzippedBytes: number
  /** The same artifact's size at the last deploy, when known. */
  previousBytes?: number
}

export interface PlanInput {
  service: string
  stage: string
  region: string
  stackName: string
  changeSetType: ChangeSetType
  /** Every page of DescribeChangeSet (IncludePropertyValues: true), concatenated. */
  changes: Change[]
  /** `.serverless/cloudformation-template-update-stack.json`. */
  newTemplate: object
  /** GetTemplate's TemplateBody of the deployed stack, parsed; absent for CREATE. */
  oldTemplate?: object
  functions: FunctionInput[]
  artifacts: ArtifactInput[]
  /** YYYY-MM-DD, for the runtimes' deprecation dates. */
  today: string
  /** DescribeChangeSet's StatusReason: CloudFormation warns there when property values made it drop changes. */
  statusReason?: string
}

export type Action = 'add' | 'modify' | 'replace' | 'remove'

export interface Counts {
  add: number
  modify: number
  /** Certain and possible (Conditional) replacements. */
  replace: number
  remove: number
}

/** What happens to the old resource's data when CloudFormation replaces or removes it. */
export type Risk = 'data loss' | 'retained' | 'snapshot' | 'none'

export interface PropertyChange {
  /** The property's path without `/Properties/`, e.g. `BucketName` or `Environment/Variables/STAGE`. */
  path: string
  change?: 'add' | 'modify' | 'remove'
  recreation?: 'always' | 'conditionally' | 'never'
  /** Only for values that are safe to show: a scalar, and not a secret or an environment variable. */
  before?: string
  after?: string
  /** Why no values are shown. */
  hidden?: 'environment' | 'secret' | 'structured'
}

export interface ResourceItem {
  logicalId: string
  type: string
  physicalId?: string
  action: Action
  /** For `replace`: CloudFormation will replace (`certain`) or may replace (`conditional`) the resource. */
  replacement?: 'certain' | 'conditional'
  /** The change set's own action when it is not plainly Add, Modify or Remove (Import, Dynamic, SyncWithActual). */
  cfnAction?: string
  stateful: boolean
  /** What the stateful type holds, e.g. `items`, when `stateful`. */
  holds?: string
  /** For `replace` and `remove`. */
  risk?: Risk
  /** The policy the risk follows and where it was read, e.g. `UpdateReplacePolicy Retain (template)`. */
  policy?: string
  /** A stateful resource replaced (possibly) or removed without Retain or Snapshot. */
  destructive: boolean
  /** Properties whose change requires (or may require) the replacement. */
  causes: string[]
  properties: PropertyChange[]
  /** Resources every Serverless deploy adds and removes; shown as one line, counted all the same. */
  churn?: 'lambda-version' | 'api-deployment'
}

export type FunctionProperty = 'runtime' | 'memorySize' | 'timeout' | 'architectures' | 'layers'

export interface ConfigChange {
  property: FunctionProperty
  before?: string
  after?: string
}

export interface FunctionPlan {
  logicalId: string
  name: string
  status: 'new' | 'updated' | 'unchanged' | 'removed'
  /** New zip's SHA-256 against the deployed CodeSha256. */
  code: 'new' | 'changed' | 'unchanged' | 'removed'
  config: ConfigChange[]
  /** Environment variable names only. */
  environment: { added: string[]; removed: string[]; changed: string[] }
  runtime?: string
  zipBytes?: number
  previousZipBytes?: number
  /** The function's unzipped code plus the unzipped layers packaged with it. */
  unzippedBytes?: number
  /** Layers whose size the plan does not know (other stacks' or AWS's layer ARNs). */
  unknownLayers: number
  /** Over Lambda's 250 MB limit on a function's unzipped code and layers together. */
  overLimit: boolean
}

export interface Route {
  kind: 'http-api' | 'rest-api' | 'function-url'
  /** `GET /items/{id}`, `$default`, or the function for a function URL. */
  key: string
  /** The API it belongs to (a logical ID or an ID), when the template names one. */
  api?: string
  auth: string
  logicalId: string
}

export interface RouteDiff {
  added: Route[]
  removed: Route[]
  /** Same route, different authorization. */
  changed: { before: Route; after: Route }[]
}

export interface IamStatement {
  /** The role, user, group or policy resource that holds the statement. */
  owner: string
  ownerType: string
  policyName?: string
  /** `trust` for a role's AssumeRolePolicyDocument. */
  kind: 'permission' | 'trust'
  effect: string
  sid?: string
  actions: string[]
  notActions: string[]
  resources: string[]
  notResources: string[]
  principals: string[]
  condition: boolean
  /** The actions, resources and principals that contain `*`. */
  wildcards: string[]
  /** Allow with `*`, `service:*`, resource `*`, principal `*`, NotAction or NotResource. */
  broad: boolean
}

export interface ManagedPolicyAttachment {
  owner: string
  arn: string
}

export interface IamDiff {
  added: IamStatement[]
  removed: IamStatement[]
  managedPolicies: { added: ManagedPolicyAttachment[]; removed: ManagedPolicyAttachment[] }
}

export interface ArtifactPlan {
  file: string
  bytes: number
  previousBytes?: number
  unzippedBytes: number
}

export type RuntimePhase = 'supported' | 'deprecated' | 'create-blocked' | 'update-blocked' | 'unknown'

export interface RuntimePlan {
  runtime: string
  functions: string[]
  phase: RuntimePhase
  deprecated?: string
  blockCreate?: string
  blockUpdate?: string
  /** The next of the three dates after today. */
  next?: { milestone: 'deprecated' | 'blockCreate' | 'blockUpdate'; date: string; days: number }
}

export interface Plan {
  version: 1
  service: string
  stage: string
  region: string
  stackName: string
  changeSetType: ChangeSetType
  counts: Counts
  /**
   * add + modify + replace + remove. Churn (Lambda versions, REST API deployments) counts: a
   * reviewer comparing with the console sees the same number; the Markdown shows it as one line.
   */
  changes: number
  churn: {
    lambdaVersions: { added: number; removed: number }
    apiDeployments: { added: number; removed: number }
  }
  destructive: boolean
  /** Every resource change, destructive ones first. */
  resources: ResourceItem[]
  functions: FunctionPlan[]
  routes: RouteDiff
  iam: IamDiff
  artifacts: ArtifactPlan[]
  unzippedLimitBytes: number
  runtimes: RuntimePlan[]
  warnings: string[]
}

/** Lambda's quota on a function's unzipped deployment package, layers included (250 MB). */
export const UNZIPPED_LIMIT_BYTES = 262144000
