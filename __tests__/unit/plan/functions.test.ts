import type { Change, ResourceChange, ResourceChangeDetail } from '@aws-sdk/client-cloudformation'
import { resourceItems } from '../../../src/plan/changes.js'
import { functionPlans } from '../../../src/plan/functions.js'
import {
  UNZIPPED_LIMIT_BYTES,
  type ArtifactInput,
  type DeployedFunction,
  type FunctionInput
} from '../../../src/plan/model.js'
import { resourcesOf } from '../../../src/plan/template.js'
import { motoChanges, resourceChange, shopTemplate } from '../../support/plan-input.js'

const before = shopTemplate('before')
const after = shopTemplate('after')
const oldResources = resourcesOf(before)
const newResources = resourcesOf(after)

const deployedApi: DeployedFunction = {
  codeSha256: 'b2xkLXppcA==',
  runtime: 'python3.11',
  memorySize: 512,
  timeout: 6,
  architectures: ['x86_64'],
  layers: [],
  environmentNames: ['TABLE', 'LOG_LEVEL'],
  codeSize: 400
}

const api: FunctionInput = {
  logicalId: 'ApiLambdaFunction',
  name: 'shop-dev-api',
  newZipSha256: 'bmV3LXppcA==',
  newZipBytes: 488,
  newUnzippedBytes: 138,
  deployed: deployedApi
}

const admin: FunctionInput = {
  logicalId: 'AdminLambdaFunction',
  name: 'shop-dev-admin',
  newZipSha256: 'bmV3LXppcA==',
  newZipBytes: 488,
  deployed: { ...deployedApi, codeSha256: 'bmV3LXppcA==' }
}

function plans(functions: FunctionInput[], changes: Change[], old = oldResources) {
  const byId = new Map<string, ResourceChange>()
  for (const change of changes) byId.set(change.ResourceChange!.LogicalResourceId!, change.ResourceChange!)
  return functionPlans(functions, byId, resourceItems(changes, old, newResources), old, newResources, [])
}

describe('functionPlans without property values (moto)', () => {
  const result = plans([api, admin], motoChanges(before, after))
  const byName = Object.fromEntries(result.map(fn => [fn.name, fn]))

  it('code: the new zip against the deployed CodeSha256', () => {
    expect(byName['shop-dev-api'].code).toBe('changed')
    expect(byName['shop-dev-admin'].code).toBe('unchanged')
  })

  it('configuration: the deployed function against the new template, defaults included', () => {
    expect(byName['shop-dev-api'].config).toEqual([
      { property: 'runtime', before: 'python3.11', after: 'python3.12' },
      { property: 'memorySize', before: '512', after: '1024' }
    ])
    expect(byName['shop-dev-admin'].config).toEqual([])
  })

  it('environment: names added and removed against the deployed function, values compared between the templates', () => {
    expect(byName['shop-dev-api'].environment).toEqual({
      added: ['FEATURE_FLAG'],
      removed: ['LOG_LEVEL'],
      changed: ['TABLE']
    })
  })

  it('never copies an environment variable value', () => {
    const json = JSON.stringify(result)
    expect(json).not.toContain('shop-dev-orders')
    expect(json).not.toContain('info')
  })

  it('a function the change set removes is listed as removed', () => {
    expect(byName['shop-dev-legacy']).toMatchObject({
      status: 'removed',
      code: 'removed',
      logicalId: 'LegacyLambdaFunction'
    })
    expect(byName['shop-dev-api'].status).toBe('updated')
    expect(byName['shop-dev-api'].runtime).toBe('python3.12')
  })

  it('a function not deployed yet is new, with its whole configuration and every variable added', () => {
    const [fresh] = plans(
      [{ ...api, deployed: undefined }],
      [resourceChange('Add', 'ApiLambdaFunction', 'AWS::Lambda::Function')],
      resourcesOf(undefined)
    )
    expect(fresh).toMatchObject({ status: 'new', code: 'new' })
    expect(fresh.config).toEqual([
      { property: 'runtime', after: 'python3.12' },
      { property: 'memorySize', after: '1024' },
      { property: 'timeout', after: '6' },
      { property: 'architectures', after: 'x86_64' }
    ])
    expect(fresh.environment).toEqual({ added: ['TABLE', 'FEATURE_FLAG'].sort(), removed: [], changed: [] })
  })

  it('the same code and configuration is unchanged', () => {
    const same = { ...api, newZipSha256: deployedApi.codeSha256 }
    const unchangedTemplate = { ...oldResources }
    const byId = new Map<string, ResourceChange>()
    const [fn] = functionPlans([same], byId, [], unchangedTemplate, unchangedTemplate, [])
    expect(fn).toMatchObject({ status: 'unchanged', code: 'unchanged', config: [] })
    expect(fn.environment).toEqual({ added: [], removed: [], changed: [] })
  })
})

describe('functionPlans with property values (real CloudFormation)', () => {
  function valued(
    path: string,
    type: 'Add' | 'Remove' | 'Modify',
    before?: string,
    after?: string
  ): ResourceChangeDetail {
    return {
      Target: {
        Attribute: 'Properties',
        Name: path.split('/')[2],
        Path: path,
        RequiresRecreation: 'Never',
        AttributeChangeType: type,
        ...(before !== undefined ? { BeforeValue: before } : {}),
        ...(after !== undefined ? { AfterValue: after } : {})
      },
      Evaluation: 'Static',
      ChangeSource: 'DirectModification'
    }
  }
  // The deployed function drifted: 256 MB and 30 s set in the console. CloudFormation sees neither.
  const drifted = { ...api, deployed: { ...deployedApi, memorySize: 256, timeout: 30 } }
  const changes = [
    resourceChange('Modify', 'ApiLambdaFunction', 'AWS::Lambda::Function', {
      Replacement: 'False',
      Details: [
        valued('/Properties/MemorySize', 'Modify', '512', '1024'),
        valued('/Properties/Runtime', 'Modify', 'python3.11', 'python3.12'),
        valued('/Properties/Environment/Variables/TABLE', 'Modify', 'hunter2-old', 'hunter2-new'),
        valued('/Properties/Environment/Variables/FEATURE_FLAG', 'Add', undefined, 'on'),
        valued('/Properties/Environment/Variables/LOG_LEVEL', 'Remove', 'info', undefined),
        valued('/Properties/Code/S3Key', 'Modify', 'a.zip', 'b.zip')
      ]
    }),
    // Serverless uploads every deploy's code under a new key: the one change CloudFormation sees here.
    resourceChange('Modify', 'AdminLambdaFunction', 'AWS::Lambda::Function', {
      Replacement: 'False',
      Details: [valued('/Properties/Code/S3Key', 'Modify', 'a.zip', 'b.zip')]
    })
  ]
  const result = plans([drifted, { ...admin, deployed: { ...admin.deployed!, memorySize: 2048 } }], changes)
  const byName = Object.fromEntries(result.map(fn => [fn.name, fn]))

  it("uses the details' values, and only the properties CloudFormation will change", () => {
    expect(byName['shop-dev-api'].config).toEqual([
      { property: 'runtime', before: 'python3.11', after: 'python3.12' },
      { property: 'memorySize', before: '512', after: '1024' }
    ])
    // Console drift CloudFormation leaves alone is no change of this deploy.
    expect(byName['shop-dev-admin'].config).toEqual([])
  })

  it('a function the change set leaves out is unchanged, whatever drift Lambda reports', () => {
    const [fn] = plans(
      [{ ...admin, deployed: { ...admin.deployed!, memorySize: 4096, environmentNames: [] } }],
      changes.slice(0, 1)
    )
    expect(fn.config).toEqual([])
    expect(fn.environment).toEqual({ added: [], removed: [], changed: [] })
  })

  it('environment names from the details, never their values', () => {
    expect(byName['shop-dev-api'].environment).toEqual({
      added: ['FEATURE_FLAG'],
      removed: ['LOG_LEVEL'],
      changed: ['TABLE']
    })
    expect(byName['shop-dev-admin'].environment).toEqual({ added: [], removed: [], changed: [] })
    expect(JSON.stringify(result)).not.toContain('hunter2')
  })
})

describe('sizes against the 250 MB limit', () => {
  const layered = resourcesOf({
    Resources: {
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Code: { S3Key: 'serverless/shop/dev/1796403287885/shop.zip' },
          Layers: [
            { Ref: 'PythonRequirementsLambdaLayer' },
            'arn:aws:lambda:eu-west-1:123456789012:layer:shared:3'
          ]
        }
      },
      PythonRequirementsLambdaLayer: {
        Type: 'AWS::Lambda::LayerVersion',
        Properties: { Content: { S3Key: 'serverless/shop/dev/1796403287885/pythonRequirements.zip' } }
      }
    }
  })
  const artifacts: ArtifactInput[] = [
    { file: '.serverless/shop.zip', bytes: 10_000_000, unzippedBytes: 70_000_000 },
    { file: '.serverless/pythonRequirements.zip', bytes: 60_000_000, unzippedBytes: 200_000_000 }
  ]
  const fn: FunctionInput = {
    logicalId: 'Fn',
    name: 'shop-dev-fn',
    newZipSha256: 'x',
    newZipBytes: 10_000_000
  }

  it("adds the packaged layers' unzipped size to the function's, finding both through their S3Key", () => {
    const [plan] = functionPlans([fn], new Map(), [], {}, layered, artifacts)
    expect(plan.unzippedBytes).toBe(270_000_000)
    expect(plan.unknownLayers).toBe(1)
    expect(plan.overLimit).toBe(270_000_000 > UNZIPPED_LIMIT_BYTES)
    expect(plan.overLimit).toBe(true)
  })

  it("the function's own unzipped size when given, and under the limit is not over it", () => {
    const [plan] = functionPlans(
      [{ ...fn, newUnzippedBytes: 1_000_000 }],
      new Map(),
      [],
      {},
      layered,
      artifacts
    )
    expect(plan.unzippedBytes).toBe(201_000_000)
    expect(plan.overLimit).toBe(false)
  })
})
