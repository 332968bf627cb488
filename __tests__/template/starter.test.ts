// What the issue asks of the template's files, checked statically (the behaviour is in apply.test.ts).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { REPO_ROOT, TEMPLATE_DIR, readJsonc } from './helpers.js'

const text = (...path: string[]): string => readFileSync(join(TEMPLATE_DIR, ...path), 'utf8')
const requirementNames = (file: string): string[] =>
  text(file)
    .split('\n')
    .map(line => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map(line => line.split(/[<>=!~;\s]/)[0].toLowerCase())

interface DevContainer {
  image: string
  features: Record<string, Record<string, unknown>>
  remoteUser: string
  mounts: (string | Record<string, string>)[]
  forwardPorts: number[]
  portsAttributes: Record<string, { label?: string }>
  postCreateCommand: string
  containerEnv?: Record<string, string>
  remoteEnv?: Record<string, string>
}

describe('the dev container of the template', () => {
  const config = readJsonc<DevContainer>(join(TEMPLATE_DIR, '.devcontainer', 'devcontainer.json'))

  it('adds Python and the AWS CLI as features and runs as node', () => {
    expect(Object.keys(config.features)).toEqual(
      expect.arrayContaining([
        'ghcr.io/devcontainers/features/python:1',
        'ghcr.io/devcontainers/features/aws-cli:1'
      ])
    )
    expect(config.remoteUser).toBe('node')
  })

  it('keeps node_modules in a named volume and hands it to node before npm ci (without install scripts)', () => {
    expect(config.mounts).toContain(
      'source=${localWorkspaceFolderBasename}-node_modules,target=${containerWorkspaceFolder}/node_modules,type=volume'
    )
    const steps = config.postCreateCommand.split('&&').map(step => step.trim())
    expect(steps[0]).toBe('sudo chown node:node node_modules')
    // like the action, it runs no dependency's install script
    expect(steps).toContain('npm ci --ignore-scripts')
    expect(steps.findIndex(step => step === 'npm ci --ignore-scripts')).toBeGreaterThan(0)
    expect(steps.some(step => /pip install -r requirements\.txt -r requirements-dev\.txt$/.test(step))).toBe(
      true
    )
  })

  it('forwards 3000 (serverless offline) and 8000 (uvicorn) with labels', () => {
    expect(config.forwardPorts).toEqual(expect.arrayContaining([3000, 8000]))
    expect(config.portsAttributes['3000']?.label).toMatch(/offline/i)
    expect(config.portsAttributes['8000']?.label).toMatch(/uvicorn/i)
  })

  it('bakes in no credentials (any ~/.aws mount is left commented out)', () => {
    const env = { ...config.containerEnv, ...config.remoteEnv }
    expect(Object.keys(env).filter(name => /SECRET|ACCESS_KEY|SESSION_TOKEN|PROFILE/.test(name))).toEqual([])
    expect(JSON.stringify(config.mounts)).not.toMatch(/\.aws/)
    expect(text('.devcontainer', 'devcontainer.json')).toMatch(/^\s*\/\/ .*\.aws,.*readonly/m)
  })
})

describe('the starter service', () => {
  it('splits what runs in Lambda from local tools', () => {
    expect(requirementNames('requirements.txt')).toEqual(expect.arrayContaining(['fastapi', 'mangum']))
    expect(requirementNames('requirements.txt')).not.toContain('uvicorn')
    const dev = requirementNames('requirements-dev.txt')
    expect(dev).toEqual(expect.arrayContaining(['uvicorn[standard]', 'pytest', 'httpx2']))
    expect(text('requirements-dev.txt')).not.toMatch(/^\s*-r\b/m)
  })

  it("gives Starlette's TestClient httpx2, on a Starlette that uses it (no deprecation warning)", () => {
    // Starlette 1.2 added httpx2 to its TestClient and deprecated plain httpx there (StarletteDeprecationWarning).
    expect(requirementNames('requirements-dev.txt')).not.toContain('httpx')
    expect(text('requirements-dev.txt')).toMatch(/^httpx2>=2,<3$/m)
    expect(text('requirements.txt')).toMatch(/^starlette>=1\.2,<2$/m)
  })

  it('turns every warning into a test failure (pytest.ini filterwarnings = error)', () => {
    const ini = text('pytest.ini')
    expect(ini).toMatch(/^filterwarnings =\n\s+error$/m)
  })

  it('keeps the app importable without mangum and the handler in main.py', () => {
    expect(text('api.py')).not.toMatch(/^\s*(import|from)\s+mangum/m)
    expect(text('api.py')).toMatch(/root_path=root_path/)
    expect(text('api.py')).toMatch(/os\.environ\.get\("ROOT_PATH", ""\)/)
    expect(text('main.py')).toMatch(/^from mangum import Mangum$/m)
    expect(text('main.py')).toMatch(/^handler = Mangum\(app, lifespan="off"\)$/m)
  })

  it('never skips a test: mangum is a requirement, so a missing one fails the handler tests', () => {
    for (const file of ['test_api.py', 'test_handler.py'])
      expect([file, /importorskip|pytest\.skip|skipif|mark\.skip/.test(text('tests', file))]).toEqual([
        file,
        false
      ])
    expect(text('tests', 'test_handler.py')).toMatch(/^from main import handler$/m)
  })

  it('ignores secrets, build output and environments in git', () => {
    const ignored = text('.gitignore')
      .split('\n')
      .map(line => line.trim().replace(/\/$/, ''))
    expect(ignored).toEqual(
      expect.arrayContaining(['.env', '.serverless', 'node_modules', '.venv', '__pycache__'])
    )
  })

  describe('serverless.yml', () => {
    const serverless = parseYaml(text('serverless.yml')) as {
      frameworkVersion: string
      provider: Record<string, unknown>
      functions: Record<string, { handler: string; events: Record<string, unknown>[] }>
      package: { patterns: string[] }
      plugins: string[]
      custom: {
        boundaryStage: string
        pythonRequirements: { dockerizePip: boolean; pipCmdExtraArgs: unknown[] }
      }
    }

    it('targets Serverless v3 with the stage from --stage (default dev)', () => {
      expect(serverless.frameworkVersion).toBe('3')
      expect(serverless.provider.stage).toBe("${opt:stage, 'dev'}")
    })

    it('routes every path, / included, to main.handler through an HTTP API', () => {
      const functions = Object.values(serverless.functions)
      expect(functions).toHaveLength(1)
      expect(functions[0].handler).toBe('main.handler')
      expect(functions[0].events).toEqual([{ httpApi: '*' }])
    })

    it('grants the function no IAM statements, and gives its role the permissions boundary only', () => {
      expect(Object.keys(serverless.provider.iam as object)).toEqual(['role'])
      expect(Object.keys((serverless.provider.iam as { role: object }).role)).toEqual(['permissionsBoundary'])
      expect(serverless.provider.iamRoleStatements).toBeUndefined()
    })

    it('builds the boundary ARN in CloudFormation, so that reading the file needs no AWS credentials', () => {
      const boundary = (serverless.provider.iam as { role: { permissionsBoundary: unknown } }).role
        .permissionsBoundary
      expect(boundary).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':iam::',
            { Ref: 'AWS::AccountId' },
            ':policy/${self:service}-${self:custom.boundaryStage}-${aws:region}-lambda-boundary'
          ]
        ]
      })
      // ${aws:accountId} would need credentials for serverless offline and package too
      expect(text('serverless.yml')).not.toMatch(/^[^#]*\$\{aws:accountId/m)
      expect(serverless.custom.boundaryStage).toBe('${env:PERMISSIONS_BOUNDARY_STAGE, sls:stage}')
    })

    it('keeps development files out of the zip', () => {
      expect(serverless.package.patterns).toEqual(
        expect.arrayContaining([
          '!node_modules/**',
          '!tests/**',
          '!.venv/**',
          '!venv/**',
          '!**/__pycache__/**',
          '!.serverless/**',
          '!.devcontainer/**',
          '!.github/**',
          '!docs/**',
          '!package.json',
          '!package-lock.json',
          '!.env*'
        ])
      )
    })

    it('packages requirements with pip (no Docker), every extra argument a string', () => {
      expect(serverless.plugins[0]).toBe('serverless-python-requirements')
      expect(serverless.custom.pythonRequirements.dockerizePip).toBe(false)
      for (const arg of serverless.custom.pythonRequirements.pipCmdExtraArgs)
        expect(typeof arg).toBe('string')
    })
  })
})

// The template's own workflows are in workflows.test.ts.
describe("the repository's release workflow", () => {
  interface Workflow {
    on: Record<
      string,
      {
        branches?: string[]
        tags?: string[]
        inputs?: Record<string, { type: string; options?: string[] }>
      } | null
    >
    permissions: Record<string, string>
    jobs: Record<
      string,
      {
        concurrency?: { group: string }
        environment?: { name: string; url: string }
        steps: { id?: string; uses?: string; with?: Record<string, string> }[]
      }
    >
  }

  it('release-template.yml publishes template/src with devcontainers/action', () => {
    const workflow = parseYaml(
      readFileSync(join(REPO_ROOT, '.github', 'workflows', 'release-template.yml'), 'utf8')
    ) as Workflow
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['workflow_dispatch', 'push']))
    expect(workflow.on.push?.tags?.length).toBeGreaterThan(0)
    expect(workflow.permissions).toEqual({ packages: 'write', contents: 'write' })
    const step = Object.values(workflow.jobs)
      .flatMap(job => job.steps)
      .find(s => s.uses === 'devcontainers/action@v1')
    expect(step?.with).toEqual({ 'publish-templates': 'true', 'base-path-to-templates': './template/src' })
  })
})
