// The template, the repository's own dev container and action.yml agree with src/defaults.ts.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import {
  DEFAULT_PYTHON_VERSION,
  FRAMEWORK_VERSIONS,
  LAMBDA_PYTHON_VERSIONS,
  NODE_MAJOR,
  PLUGIN_VERSIONS
} from '../../src/defaults.js'
import { REPO_ROOT, TEMPLATE_DIR, readJson, readJsonc, readTemplateMetadata } from './helpers.js'

interface DevContainerConfig {
  image?: string
  features?: Record<string, Record<string, unknown>>
}

interface PackageJson {
  devDependencies?: Record<string, string>
  dependencies?: Record<string, string>
}

interface PackageLock {
  packages: Record<string, { version?: string }>
}

const PYTHON_FEATURE = 'ghcr.io/devcontainers/features/python:1'

/** Node major of mcr.microsoft.com/devcontainers/{javascript,typescript}-node:[<image version>-]<node>-<distro>. */
function nodeMajorOfImage(image: string | undefined): number | undefined {
  const match =
    /^mcr\.microsoft\.com\/devcontainers\/(?:javascript|typescript)-node:(?:\d+(?:\.\d+){0,2}-)?(\d+)-[a-z]+(?:@sha256:[0-9a-f]{64})?$/.exec(
      image ?? ''
    )
  return match ? Number(match[1]) : undefined
}

const templateConfig = readJsonc<DevContainerConfig>(join(TEMPLATE_DIR, '.devcontainer', 'devcontainer.json'))
const rootConfig = readJsonc<DevContainerConfig>(join(REPO_ROOT, '.devcontainer', 'devcontainer.json'))
const metadata = readTemplateMetadata()
const pythonOption = metadata.options?.pythonVersion

describe('template options and src/defaults.ts', () => {
  it('defaults pythonVersion to DEFAULT_PYTHON_VERSION', () => {
    expect(pythonOption?.default).toBe(DEFAULT_PYTHON_VERSION)
  })

  it('proposes exactly the Lambda Python runtimes the action supports', () => {
    expect(pythonOption?.proposals).toEqual([...LAMBDA_PYTHON_VERSIONS])
  })

  it.each(['deploy.yml', 'preview.yml'])(
    'uses pythonVersion for the container Python, the Lambda runtime and the tests of %s',
    name => {
      expect(templateConfig.features?.[PYTHON_FEATURE]?.version).toBe('${templateOption:pythonVersion}')
      const serverless = readFileSync(join(TEMPLATE_DIR, 'serverless.yml'), 'utf8')
      expect(serverless).toMatch(/^ {2}runtime: python\$\{templateOption:pythonVersion\}$/m)
      const workflow = parseYaml(readFileSync(join(TEMPLATE_DIR, '.github', 'workflows', name), 'utf8'))
      const steps = Object.values(
        workflow.jobs as Record<string, { steps: { uses?: string; with?: Record<string, string> }[] }>
      )
        .flatMap(job => job.steps)
        .filter(step => step.with?.['python-version'] !== undefined)
      expect(steps.length).toBeGreaterThan(0)
      for (const step of steps) expect(step.with?.['python-version']).toBe('${templateOption:pythonVersion}')
    }
  )
})

describe('Node major', () => {
  it('parses the image tags it is given', () => {
    expect(nodeMajorOfImage('mcr.microsoft.com/devcontainers/javascript-node:5-24-bookworm')).toBe(24)
    expect(nodeMajorOfImage('mcr.microsoft.com/devcontainers/javascript-node:22-bookworm')).toBe(22)
    expect(nodeMajorOfImage('mcr.microsoft.com/devcontainers/javascript-node:latest')).toBeUndefined()
  })

  it("the template's image runs NODE_MAJOR", () => {
    expect(nodeMajorOfImage(templateConfig.image)).toBe(NODE_MAJOR)
  })

  it("the repository's dev container runs NODE_MAJOR", () => {
    expect(nodeMajorOfImage(rootConfig.image)).toBe(NODE_MAJOR)
  })

  it('action.yml runs on the same Node major (runs.using)', () => {
    const actionFile = ['action.yml', 'action.yaml'].map(name => join(REPO_ROOT, name)).find(existsSync)
    if (!actionFile) throw new Error(`action.yml is missing at the repository root (${REPO_ROOT})`)
    const action = parseYaml(readFileSync(actionFile, 'utf8')) as { runs?: { using?: string } }
    expect(action.runs?.using).toBe(`node${NODE_MAJOR}`)
  })
})

describe('Python', () => {
  it("the repository's dev container installs DEFAULT_PYTHON_VERSION", () => {
    expect(rootConfig.features?.[PYTHON_FEATURE]?.version).toBe(DEFAULT_PYTHON_VERSION)
  })
})

describe('Serverless Framework and plugins of the starter service', () => {
  const pkg = readJson<PackageJson>(join(TEMPLATE_DIR, 'package.json'))
  const lock = readJson<PackageLock>(join(TEMPLATE_DIR, 'package-lock.json'))
  const pinned = { ...pkg.dependencies, ...pkg.devDependencies }

  it('pins osls (the Serverless Framework v3 fork, whose schema knows python3.12 to 3.14) to the version the action provides', () => {
    expect(pinned.osls).toBe(FRAMEWORK_VERSIONS.osls)
    expect(pinned.serverless).toBeUndefined()
    expect(FRAMEWORK_VERSIONS.osls).toMatch(/^3\.\d+\.\d+$/)
    const serverless = readFileSync(join(TEMPLATE_DIR, 'serverless.yml'), 'utf8')
    expect(serverless).toMatch(/^frameworkVersion: '3'$/m)
  })

  it('pins serverless-python-requirements and serverless-offline to PLUGIN_VERSIONS', () => {
    expect(pinned['serverless-python-requirements']).toBe(PLUGIN_VERSIONS['serverless-python-requirements'])
    expect(pinned['serverless-offline']).toBe(PLUGIN_VERSIONS['serverless-offline'])
    // Any other plugin the template adds must be one the action knows, at the same version.
    for (const [name, version] of Object.entries(pinned)) {
      if (name !== 'osls') expect([name, version]).toEqual([name, PLUGIN_VERSIONS[name]])
    }
  })

  it('has a package-lock.json that resolves the same versions', () => {
    for (const [name, version] of Object.entries(pinned)) {
      expect([name, lock.packages[`node_modules/${name}`]?.version]).toEqual([name, version])
    }
    expect(lock.packages['']).toMatchObject({ devDependencies: pkg.devDependencies })
  })

  it('lists the plugins it installs in serverless.yml', () => {
    const serverless = parseYaml(readFileSync(join(TEMPLATE_DIR, 'serverless.yml'), 'utf8')) as {
      plugins?: string[]
    }
    expect(serverless.plugins).toEqual(
      expect.arrayContaining(['serverless-python-requirements', 'serverless-offline'])
    )
    for (const plugin of serverless.plugins ?? []) expect(pinned[plugin]).toBeDefined()
  })

  it.each(['README.md', 'docs/README.md'])(
    '%s (the template page, the guide) quotes the versions it installs',
    file => {
      const readme = readFileSync(join(TEMPLATE_DIR, file), 'utf8')
      for (const version of Object.values(pinned)) expect(readme).toContain(version)
    }
  )

  it("the template's page gives the default Python", () => {
    expect(readFileSync(join(TEMPLATE_DIR, 'README.md'), 'utf8')).toContain(`\`${DEFAULT_PYTHON_VERSION}\``)
  })
})
