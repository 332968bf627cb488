import { jest } from '@jest/globals'
import { CloudFormationClient, CreateStackCommand, DeleteStackCommand } from '@aws-sdk/client-cloudformation'
import { mkdirSync, mkdtempSync, symlinkSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { CASES, REGIONS, representative, type BadCase } from '../support/bad-input-cases.js'
import { holdings, startMoto, type Moto } from '../support/moto.js'
import { pipEnv } from '../support/pip.js'
import { errorLines, NODE24, parseError, ROOT, runAction, type ActionRun } from '../support/runner.js'

// Most cases take a second; the few that run npm or serverless take up to a minute or two.
jest.setTimeout(300_000)

/**
 * Bad inputs and broken services (support/bad-input-cases.ts), the representative ones run through the
 * committed dist/index.js as the runner runs it, against one moto server: one per input, one per kind
 * of check, and every case npm or Serverless must find. Every case must end with exit code 1 and exactly
 * one error annotation that names the cause and the fix, and leave moto without a stack or a bucket:
 * nothing is deployed on bad input. A pure input error must also run no command at all (no npm, pip or
 * serverless). The unit tier runs every case that needs no tool in process.
 */
const RUN_HERE = representative(CASES)

let moto: Moto
/** One runner home for the file, so the serverless the action provides is installed once. */
let home: string
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bad-input-'))

beforeAll(async () => {
  moto = await startMoto()
  home = mkdtempSync(path.join(scratch, 'home-'))
})

afterAll(async () => {
  await moto?.stop()
  rmSync(scratch, { recursive: true, force: true })
})

function cloudFormation(region: string): CloudFormationClient {
  return new CloudFormationClient({
    region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }
  })
}

/** What moto holds in the regions the cases use. */
const holdingsNow = () => holdings(moto, REGIONS)

async function runCase(c: BadCase): Promise<ActionRun> {
  const root = mkdtempSync(path.join(scratch, 'case-'))
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true })
    writeFileSync(path.join(root, name), text)
  }
  for (const [name, target] of Object.entries(c.links ?? {})) symlinkSync(target, path.join(root, name))
  return runAction({
    inputs: c.inputs ?? {},
    env: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: moto.endpoint,
      // No AWS SDK may ask an instance metadata service: none is here, and it is not a loopback address.
      AWS_EC2_METADATA_DISABLED: 'true',
      ...pipEnv(),
      ...c.env
    },
    node: NODE24,
    cwd: root,
    home
  })
}

describe('moto, as the cases read it', () => {
  it('lists a stack and its bucket while they exist, and nothing once they are deleted', async () => {
    // The "nothing deployed" checks below are only worth something if they can see a deployment.
    const cfn = cloudFormation('eu-west-1')
    try {
      await cfn.send(
        new CreateStackCommand({
          StackName: 'seen-by-the-checks',
          TemplateBody: JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket' } } })
        })
      )
      const during = await holdingsNow()
      expect(during.stacks).toEqual([
        expect.stringMatching(/^eu-west-1\/seen-by-the-checks CREATE_COMPLETE$/)
      ])
      expect(during.buckets).toHaveLength(1)
      await cfn.send(new DeleteStackCommand({ StackName: 'seen-by-the-checks' }))
      expect(await holdingsNow()).toEqual({ stacks: [], buckets: [] })
    } finally {
      cfn.destroy()
    }
  })
})

describe('bad input fails with one error annotation that names the cause and the fix, and deploys nothing', () => {
  it('covers at least 40 cases, and here every input action.yml has but github-token and every kind of check', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40)
    expect(new Set(CASES.map(c => c.name)).size).toBe(CASES.length)
    const action = YAML.parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as { inputs: object }
    const inputs = Object.keys(action.inputs)
    const covered = new Set(RUN_HERE.flatMap(c => Object.keys(c.inputs ?? {})))
    expect(inputs.filter(input => !covered.has(input))).toEqual(['github-token'])
    const titles = (cases: BadCase[]) => new Set(cases.map(c => c.title).filter(Boolean))
    expect([...titles(RUN_HERE)].sort()).toEqual([...titles(CASES)].sort())
    expect(RUN_HERE.filter(c => c.runs)).toEqual(CASES.filter(c => c.runs))
  })

  it.each(RUN_HERE.map(c => [c.name, c] as const))('%s', async (_name, c) => {
    const run = await runCase(c)
    const errors = errorLines(run)
    if (errors.length !== 1) console.log(run.stdout.slice(-4000), run.stderr.slice(-2000))
    expect(run.exitCode).toBe(1)
    expect(errors).toHaveLength(1)
    const error = parseError(errors[0])
    expect(error.message).toMatch(c.cause)
    expect(error.message).toMatch(c.fix)
    if (c.title) expect(error.properties.title).toBe(c.title)
    if (c.where) expect(error.properties).toMatchObject(c.where)
    // Nothing is installed or run on bad input; a broken lockfile is found by npm, a variable by Serverless.
    const commands = run.stdout.split('\n').filter(line => line.startsWith('[command]'))
    if (!c.runs) {
      expect(commands).toEqual([])
      // No step past the inputs and the credentials began: each of them opens a log group.
      expect(run.stdout).not.toMatch(/^::group::/m)
    }
    if (c.runs === 'npm')
      expect(commands).toEqual([expect.stringMatching(/\/npm ci --ignore-scripts --no-audit --no-fund$/)])
    if (c.runs === 'serverless') {
      expect(commands.some(line => /serverless\.js (print|package)\b/.test(line))).toBe(true)
      expect(commands.filter(line => /serverless\.js (deploy|remove|rollback)\b/.test(line))).toEqual([])
    }
    expect(await holdingsNow()).toEqual({ stacks: [], buckets: [] })
  })
})
