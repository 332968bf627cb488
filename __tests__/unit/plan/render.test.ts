import type { Change } from '@aws-sdk/client-cloudformation'
import { analysePlan } from '../../../src/plan/analyse.js'
import { escapeMarkdown } from '../../../src/markdown.js'
import type { FunctionInput, Plan } from '../../../src/plan/model.js'
import { renderPlanMarkdown } from '../../../src/plan/render.js'
import { motoChanges, planInput, resourceChange, shopTemplate } from '../../support/plan-input.js'

const COMMENT_LIMIT = 65536
/** What the integrator leaves for its own header and the sticky comment's marker. */
const ROOM = 1000

const before = shopTemplate('before')
const after = shopTemplate('after')

/** The shop change as real CloudFormation would report it: the renamed table is replaced. */
function shopChanges(): Change[] {
  return motoChanges(before, after).map(change =>
    change.ResourceChange?.LogicalResourceId === 'OrdersTable'
      ? resourceChange('Modify', 'OrdersTable', 'AWS::DynamoDB::Table', {
          Replacement: 'True',
          PolicyAction: 'ReplaceAndDelete',
          Details: [
            {
              Target: {
                Attribute: 'Properties',
                Name: 'TableName',
                Path: '/Properties/TableName',
                RequiresRecreation: 'Always',
                BeforeValue: 'shop-dev-orders',
                AfterValue: 'shop-dev-orders-v2',
                AttributeChangeType: 'Modify'
              },
              Evaluation: 'Static',
              ChangeSource: 'DirectModification'
            }
          ]
        })
      : change
  )
}

const shopFunctions: FunctionInput[] = [
  {
    logicalId: 'ApiLambdaFunction',
    name: 'shop-dev-api',
    newZipSha256: 'bmV3',
    newZipBytes: 4_400_000,
    newUnzippedBytes: 12_000_000,
    deployed: {
      codeSha256: 'b2xk',
      runtime: 'python3.11',
      memorySize: 512,
      timeout: 6,
      architectures: ['x86_64'],
      layers: [],
      environmentNames: ['TABLE', 'LOG_LEVEL'],
      codeSize: 4_300_000
    }
  }
]

function shopPlan(): Plan {
  return analysePlan(
    planInput({
      changes: shopChanges(),
      oldTemplate: before,
      newTemplate: after,
      functions: shopFunctions,
      artifacts: [
        {
          file: '.serverless/shop.zip',
          bytes: 4_400_000,
          unzippedBytes: 12_000_000,
          previousBytes: 4_300_000
        }
      ]
    })
  )
}

describe('renderPlanMarkdown: one plan', () => {
  const markdown = renderPlanMarkdown([shopPlan()], { limit: COMMENT_LIMIT })

  it('counts first, destructive changes next, then functions, routes, IAM, other changes, sizes and runtimes', () => {
    const order = [
      '### Plan: <code>shop</code> · <code>dev</code> · <code>eu\\-west\\-1</code>',
      '**',
      '> [!CAUTION]',
      '#### 🔥 Destructive changes',
      '#### Functions',
      '#### HTTP routes',
      '#### IAM',
      '#### Other changes',
      '#### Package size',
      '#### Runtimes'
    ]
    const positions = order.map(heading => markdown.indexOf(heading))
    expect(positions.every(position => position >= 0)).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
  })

  it('counts as the plan does', () => {
    const { add, modify, replace, remove } = shopPlan().counts
    expect(markdown).toContain(
      `**${add} to add, ${modify} to modify, ${replace} to replace, ${remove} to remove**`
    )
  })

  it('marks the destructive changes: the replaced table and the removed log group, with why', () => {
    const section = markdown.slice(markdown.indexOf('#### 🔥'), markdown.indexOf('#### Functions'))
    expect(section).toContain(
      '| **replace** | <code>OrdersTable</code> | <code>AWS\\:\\:DynamoDB\\:\\:Table</code> | requires replacement: <code>TableName</code>; PolicyAction ReplaceAndDelete \\(change set\\); its items would be lost |'
    )
    expect(section).toContain('| **remove** | <code>LegacyLogGroup</code>')
    expect(markdown).toContain('**Destructive:** 2 stateful resources would be replaced or removed')
    // Shown once: not again among the other changes.
    expect(markdown.match(/<code>OrdersTable<\/code>/g)).toHaveLength(1)
  })

  it('functions: code, configuration and environment variable names, never values', () => {
    expect(markdown).toContain(
      '| <code>shop\\-dev\\-api</code> | changed, 4.2 MB (was 4.1 MB) | runtime python3\\.11 → python3\\.12; memory (MB) 512 → 1024 | added <code>FEATURE\\_FLAG</code>; removed <code>LOG\\_LEVEL</code>; value changed <code>TABLE</code> |'
    )
    expect(markdown).toContain('| <code>shop\\-dev\\-legacy</code> | **function removed** |')
    expect(markdown).not.toMatch(/shop-dev-orders|shop\\-dev\\-orders/)
  })

  it('routes and IAM, the broad wildcard flagged', () => {
    expect(markdown).toContain('- ➕ <code>GET /orders/\\{id\\}</code> (HTTP API, auth <code>NONE</code>)')
    expect(markdown).toContain('- ➖ <code>shop\\-dev\\-legacy</code> (function URL, auth <code>NONE</code>)')
    expect(markdown).toContain(
      '- ➕ <code>IamRoleLambdaExecution</code>: **Allow** <code>s3\\:\\*</code> on <code>\\*</code> — ⚠️ **broad** wildcard <code>s3\\:\\*</code>, <code>\\*</code>'
    )
  })

  it('churn as one line, sizes against the limit, runtime dates', () => {
    expect(markdown).toContain(
      "♻️ Every deploy's churn, counted above: 2 Lambda versions published, 3 dropped from the stack; 1 REST API deployment added, 1 removed."
    )
    expect(markdown).not.toContain('ApiLambdaVersion')
    expect(markdown).toContain(
      '| <code>.serverless/shop.zip</code>'.replace('.', '\\.').replace('.zip', '\\.zip')
    )
    expect(markdown).toContain("against Lambda's 250.0 MB limit: <code>shop\\-dev\\-api</code> 11.4 MB (5%)")
    expect(markdown).toMatch(
      /\| <code>python3\\\.12<\/code> \| <code>shop\\-dev\\-api<\/code> \| supported; deprecated from 2028-10-31 \(in \d+ days\) \|/
    )
  })

  it('fits: the whole plan is far under the limit, nothing is cut', () => {
    expect(markdown.length).toBeLessThan(COMMENT_LIMIT)
    expect(markdown).not.toContain('… and')
  })
})

describe('renderPlanMarkdown: runtimes, sizes and warnings that need attention', () => {
  const plan = shopPlan()
  const attention: Plan = {
    ...plan,
    runtimes: [
      {
        runtime: 'python3.9',
        functions: ['old'],
        phase: 'update-blocked',
        deprecated: '2025-12-15',
        blockCreate: '2027-02-01',
        blockUpdate: '2027-03-03'
      },
      {
        runtime: 'python3.10',
        functions: ['older'],
        phase: 'deprecated',
        deprecated: '2026-10-31',
        blockCreate: '2027-02-01',
        blockUpdate: '2027-03-03',
        next: { milestone: 'blockCreate', date: '2027-02-01', days: 59 }
      }
    ],
    functions: plan.functions.map(fn =>
      fn.name === 'shop-dev-api'
        ? { ...fn, unzippedBytes: 300_000_000, overLimit: true, unknownLayers: 2 }
        : fn
    ),
    warnings: ['CloudFormation: [WARN] <b>dropped</b> @admin']
  }
  const markdown = renderPlanMarkdown([attention], { limit: COMMENT_LIMIT })

  it('says when updates are blocked and when a runtime is deprecated', () => {
    expect(markdown).toContain('⛔ updates blocked since 2027-03-03: this deploy will fail')
    expect(markdown).toContain(
      '⚠️ deprecated since 2026-10-31: no more security patches; new functions blocked from 2027-02-01 (in 59 days)'
    )
  })

  it('flags a function over the 250 MB limit, and the layers it could not count', () => {
    expect(markdown).toContain(
      '<code>shop\\-dev\\-api</code> 286.1 MB (114%) ⛔ **over the limit**, plus 2 layers of unknown size'
    )
  })

  it('shows warnings escaped', () => {
    expect(markdown).toContain('> ⚠️ CloudFormation\\: \\[WARN\\] &lt;b&gt;dropped&lt;/b&gt; @\u200Badmin')
  })
})

describe('renderPlanMarkdown: text from a malicious serverless.yml', () => {
  const evil = [
    'Evil|Table`<!-- serverless-python-deploy preview: shop/dev -->',
    '@octocat [link](https://evil.example) <img src=x onerror=alert(1)>',
    'line\nbreak\r\n| fake | row |'
  ].join(' ')
  const plan = analysePlan(
    planInput({
      oldTemplate: {
        Resources: {
          [evil]: { Type: 'AWS::DynamoDB::Table' },
          Route: { Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: 'GET /old' } }
        }
      },
      newTemplate: {
        Resources: {
          Route: { Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: `GET /x\`|${evil}` } },
          Role: {
            Type: 'AWS::IAM::Role',
            Properties: {
              Policies: [
                {
                  PolicyName: evil,
                  PolicyDocument: { Statement: [{ Effect: 'Allow', Action: evil, Resource: evil }] }
                }
              ]
            }
          }
        }
      },
      changes: [
        resourceChange('Remove', evil, 'AWS::DynamoDB::Table'),
        resourceChange('Modify', 'Param', `AWS::SSM::Parameter${evil}`, {
          Details: [
            {
              Target: {
                Attribute: 'Properties',
                Name: 'Value',
                Path: `/Properties/${evil}`,
                BeforeValue: evil,
                AfterValue: `${evil}2`
              },
              Evaluation: 'Static'
            }
          ]
        })
      ],
      functions: [{ logicalId: 'Fn', name: evil, newZipSha256: 'x', newZipBytes: 1 }],
      artifacts: [{ file: evil, bytes: 1, unzippedBytes: 1 }]
    })
  )
  const markdown = renderPlanMarkdown([plan], { limit: COMMENT_LIMIT })

  it('injects no HTML, comment, marker, mention or link', () => {
    expect(markdown).not.toContain('<!--')
    expect(markdown).not.toContain('-->')
    expect(markdown).not.toMatch(/<(?!\/?code>)/)
    expect(markdown).not.toMatch(/@[A-Za-z0-9]/)
    expect(markdown).not.toMatch(/\]\(|:\/\//)
  })

  it('adds no table row or column: every row has as many unescaped pipes as its header', () => {
    const lines = markdown.split('\n')
    let columns = 0
    for (const line of lines) {
      if (!line.startsWith('|')) {
        columns = 0
        continue
      }
      const pipes = [...line.matchAll(/(?<!\\)(?:\\\\)*\|/g)].length
      if (columns === 0) columns = pipes
      expect([line, pipes]).toEqual([line, columns])
    }
  })

  it('still names the resource, so that a reviewer sees it', () => {
    expect(markdown).toContain(`<code>${escapeMarkdown(evil)}</code>`)
    expect(plan.destructive).toBe(true)
  })
})

/** A service of several hundred resources, where every list overflows a comment. */
function largePlan(destructiveCount: number, resources = 600): Plan {
  const oldResources: Record<string, unknown> = {}
  const newResources: Record<string, unknown> = {}
  const changes: Change[] = []
  const functions: FunctionInput[] = []
  const statements: unknown[] = []
  for (let i = 0; i < destructiveCount; i++) {
    const id = `CustomerDataTable${String(i).padStart(3, '0')}`
    oldResources[id] = { Type: 'AWS::DynamoDB::Table' }
    changes.push(resourceChange('Remove', id, 'AWS::DynamoDB::Table', { PolicyAction: 'Delete' }))
  }
  for (let i = 0; changes.length < resources; i++) {
    const id = `WorkerQueuePolicyNumber${i}`
    const details = Array.from({ length: 6 }, (_, n) => ({
      Target: {
        Attribute: 'Properties' as const,
        Name: `Setting${n}`,
        Path: `/Properties/Setting${n}`,
        BeforeValue: `arn:aws:sqs:eu-west-1:123456789012:before-${i}-${n}`,
        AfterValue: `arn:aws:sqs:eu-west-1:123456789012:after-${i}-${n}`,
        RequiresRecreation: 'Never' as const
      },
      Evaluation: 'Static' as const
    }))
    changes.push(
      resourceChange('Modify', id, 'AWS::SQS::QueuePolicy', { Replacement: 'False', Details: details })
    )
  }
  for (let i = 0; i < 150; i++) {
    newResources[`HttpApiRouteGetItems${i}`] = {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: { RouteKey: `GET /items/${i}/{id}` }
    }
    statements.push({
      Effect: 'Allow',
      Action: [`dynamodb:GetItem`, `dynamodb:Query`],
      Resource: `arn:aws:dynamodb:eu-west-1:123456789012:table/t${i}`
    })
  }
  newResources.IamRoleLambdaExecution = {
    Type: 'AWS::IAM::Role',
    Properties: { Policies: [{ PolicyName: 'p', PolicyDocument: { Statement: statements } }] }
  }
  for (let i = 0; i < 80; i++) {
    functions.push({
      logicalId: `Fn${i}LambdaFunction`,
      name: `big-service-prod-function-${i}`,
      newZipSha256: 'x',
      newZipBytes: 1_000_000,
      newUnzippedBytes: 3_000_000
    })
  }
  return analysePlan(
    planInput({
      service: 'big-service',
      stackName: 'big-service-prod',
      changes,
      oldTemplate: { Resources: oldResources },
      newTemplate: { Resources: newResources },
      functions,
      artifacts: functions.map(fn => ({
        file: `.serverless/${fn.name}.zip`,
        bytes: 1_000_000,
        unzippedBytes: 3_000_000
      }))
    })
  )
}

describe('renderPlanMarkdown: a plan too long for a comment', () => {
  const plan = largePlan(40)
  const limit = COMMENT_LIMIT - ROOM
  const markdown = renderPlanMarkdown([plan], { limit })

  it('is several hundred resources, and would not fit whole', () => {
    expect(plan.resources.length).toBe(600)
    expect(renderPlanMarkdown([plan], { limit: Infinity }).length).toBeGreaterThan(COMMENT_LIMIT)
  })

  it('fits under the limit', () => {
    expect(markdown.length).toBeLessThanOrEqual(limit)
    // Not shortened more than needed: most of the room is used.
    expect(markdown.length).toBeGreaterThan(limit * 0.8)
  })

  it('keeps the counts and every destructive change, with its reasons', () => {
    expect(markdown).toContain(
      `**40 to add, 560 to modify, 0 to replace, 40 to remove**`.replace('40 to add', '0 to add')
    )
    for (const item of plan.resources.filter(resource => resource.destructive)) {
      expect(markdown).toContain(`| **remove** | <code>${escapeMarkdown(item.logicalId)}</code> |`)
    }
  })

  it('says exactly how many entries each list left out, and where to read them', () => {
    const others = markdown.slice(markdown.indexOf('#### Other changes'))
    const rows = others.split('\n').filter(line => line.startsWith('| modify |')).length
    expect(others).toContain(`… and ${560 - rows} more resource changes: see the plan JSON (output \`plan\`)`)
    const routes = markdown.slice(markdown.indexOf('#### HTTP routes'), markdown.indexOf('#### IAM'))
    const shown = routes.split('\n').filter(line => line.startsWith('- ➕')).length
    expect(routes).toContain(`… and ${150 - shown} more route changes: see the plan JSON (output \`plan\`)`)
    expect(markdown).toMatch(/… and \d+ more IAM changes: see/)
    expect(markdown).toMatch(/… and \d+ more functions: see/)
  })

  it('names another place for the JSON when told', () => {
    expect(renderPlanMarkdown([plan], { limit, jsonHint: 'the run’s artifact plan.json' })).toContain(
      'more resource changes: see the run’s artifact plan.json'
    )
  })

  it('measures as told: a byte limit for the job summary', () => {
    const measure = (text: string) => Buffer.byteLength(text, 'utf8')
    const text = renderPlanMarkdown([plan], { limit: 40_000, measure })
    expect(measure(text)).toBeLessThanOrEqual(40_000)
    expect(measure(text)).toBeGreaterThan(30_000)
  })

  it('several plans share the limit, each with its counts and destructive changes', () => {
    const other = largePlan(5, 300)
    const both = renderPlanMarkdown([plan, { ...other, stage: 'prod-eu' }], { limit })
    expect(both.length).toBeLessThanOrEqual(limit)
    expect(both.split('\n---\n')).toHaveLength(2)
    expect(both).toContain('<code>prod\\-eu</code>')
    for (const item of [...plan.resources, ...other.resources].filter(resource => resource.destructive)) {
      expect(both).toContain(`<code>${escapeMarkdown(item.logicalId)}</code>`)
    }
  })
})

describe('renderPlanMarkdown: more destructive changes than a full table can hold', () => {
  const plan = largePlan(500, 520)
  const ids = plan.resources
    .filter(item => item.destructive)
    .map(item => `<code>${escapeMarkdown(item.logicalId)}</code>`)

  it('first drops the reasons, then lists the names alone; never a destructive change', () => {
    for (const limit of [60_000, 25_000]) {
      const markdown = renderPlanMarkdown([plan], { limit })
      expect(markdown.length).toBeLessThanOrEqual(limit)
      for (const id of ids) expect(markdown).toContain(id)
    }
    expect(renderPlanMarkdown([plan], { limit: 60_000 })).toContain(
      '| **remove** | <code>CustomerDataTable000</code> | <code>AWS\\:\\:DynamoDB\\:\\:Table</code> | its items would be lost |'
    )
    expect(renderPlanMarkdown([plan], { limit: 25_000 })).toContain(
      '**remove** <code>CustomerDataTable000</code>, **remove** <code>CustomerDataTable001</code>'
    )
  })

  it('below even that, cuts at the limit and says so', () => {
    const markdown = renderPlanMarkdown([plan], { limit: 5_000 })
    expect(markdown.length).toBeLessThanOrEqual(5_000)
    expect(markdown).toContain('**0 to add, 20 to modify, 0 to replace, 500 to remove**')
    expect(markdown).toMatch(
      /… too long even with the destructive changes only named: cut after \d+ characters, see the plan JSON \(output `plan`\)$/
    )
  })
})
