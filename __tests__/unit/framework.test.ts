import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FRAMEWORK_VERSIONS, SERVERLESS_VERSION } from '../../src/defaults.js'
import { UserError } from '../../src/errors.js'
import {
  checkFramework,
  ownFramework,
  projectFramework,
  providedFramework,
  runtimeNotes
} from '../../src/framework.js'
import type { ServiceConfig } from '../../src/service.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function project(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-framework-'))
  dirs.push(dir)
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  }
  return dir
}

const lockV3 = (version: string, name = 'serverless') => ({
  lockfileVersion: 3,
  packages: { '': { devDependencies: { [name]: version } }, [`node_modules/${name}`]: { version } }
})
const lockV1 = (version: string) => ({ lockfileVersion: 1, dependencies: { serverless: { version } } })

function config(dir: string, frameworkVersion?: string): ServiceConfig {
  return { dir, configFile: path.join(dir, 'serverless.yml'), frameworkVersion, plugins: [] }
}

function failure(work: () => unknown): string {
  try {
    work()
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return (error as Error).message
  }
  throw new Error('expected a UserError')
}

describe('projectFramework', () => {
  it('reads a v3 lockfile', () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '^3' } },
      'package-lock.json': lockV3('3.39.0')
    })
    expect(projectFramework(dir)).toEqual({
      name: 'serverless',
      version: '3.39.0',
      from: 'package-lock.json'
    })
  })

  it('reads a v1 lockfile, preferring the locked version to the declared range', () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '^3' } },
      'npm-shrinkwrap.json': lockV1('3.38.0')
    })
    expect(projectFramework(dir)).toEqual({
      name: 'serverless',
      version: '3.38.0',
      from: 'npm-shrinkwrap.json'
    })
  })

  it("falls back to package.json's declared range, and knows osls", () => {
    expect(
      projectFramework(project({ 'package.json': { devDependencies: { serverless: '^3.38.0' } } }))
    ).toEqual({
      name: 'serverless',
      version: '^3.38.0',
      from: 'package.json'
    })
    const osls = project({
      'package.json': { devDependencies: { osls: '^3.77.0' } },
      'package-lock.json': lockV3('3.77.1', 'osls')
    })
    expect(projectFramework(osls)).toEqual({ name: 'osls', version: '3.77.1', from: 'package-lock.json' })
  })

  it('is undefined without any framework', () => {
    expect(projectFramework(project({ 'package.json': { dependencies: { mangum: '1' } } }))).toBeUndefined()
    expect(projectFramework(project({}))).toBeUndefined()
  })
})

describe('checkFramework', () => {
  it('rejects a project pinned to v4, in the lockfile or in package.json', () => {
    const locked = project({
      'package.json': { devDependencies: { serverless: '^4' } },
      'package-lock.json': lockV3('4.4.0')
    })
    expect(failure(() => checkFramework(config(locked), {}))).toMatch(
      /pins serverless 4\.4\.0 in package-lock\.json: this action runs Serverless Framework v3/
    )
    const declared = project({ 'package.json': { devDependencies: { serverless: '^4.4.0' } } })
    expect(failure(() => checkFramework(config(declared), {}))).toMatch(
      /pins serverless \^4\.4\.0 in package\.json/
    )
  })

  it('rejects inputs the project pin would override', () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '3.38.0' } },
      'package-lock.json': lockV3('3.38.0')
    })
    expect(failure(() => checkFramework(config(dir), { version: '3.40.0' }))).toMatch(
      /Input 'serverless-version' is '3\.40\.0', but the service pins serverless 3\.38\.0 in package-lock\.json/
    )
    expect(() => checkFramework(config(dir), { version: '^3.30.0' })).not.toThrow()
    expect(failure(() => checkFramework(config(dir), { framework: 'osls' }))).toMatch(
      /Input 'framework' is 'osls', but the service depends on serverless/
    )
  })

  it("rejects frameworkVersion '4'", () => {
    expect(failure(() => checkFramework(config(project({}), '4'), {}))).toMatch(
      /serverless\.yml has frameworkVersion '4', which no Serverless v3 satisfies/
    )
  })

  it("accepts frameworkVersion '>=3.38' with the project's 3.40.0", () => {
    const dir = project({
      'package.json': { devDependencies: { serverless: '3.40.0' } },
      'package-lock.json': lockV3('3.40.0')
    })
    expect(() => checkFramework(config(dir, '>=3.38'), {})).not.toThrow()
  })

  it('rejects a frameworkVersion the default serverless does not satisfy, naming both', () => {
    const message = failure(() => checkFramework(config(project({}), '3.30.0'), {}))
    expect(message).toContain("frameworkVersion '3.30.0'")
    expect(message).toContain(`serverless ${SERVERLESS_VERSION} would run`)
  })

  it('checks frameworkVersion against the requested version or framework', () => {
    expect(() => checkFramework(config(project({}), '3'), { version: '3.38.0' })).not.toThrow()
    expect(failure(() => checkFramework(config(project({}), '3.30.0'), { version: '3.38.0' }))).toContain(
      'serverless 3.38.0 would run'
    )
    expect(failure(() => checkFramework(config(project({}), '3.40.0'), { framework: 'osls' }))).toMatch(
      /osls 3\.\d+\.\d+ would run/
    )
  })
})

describe('runtimeNotes', () => {
  const framework = (dir: string, version: string) => ({
    name: 'serverless' as const,
    version,
    entry: path.join(dir, 'bin', 'serverless.js'),
    dir,
    source: 'project' as const
  })

  it("notes a runtime the framework's schema does not list, suggesting osls", () => {
    const dir = project({})
    mkdirSync(path.join(dir, 'lib', 'plugins', 'aws'), { recursive: true })
    writeFileSync(
      path.join(dir, 'lib', 'plugins', 'aws', 'provider.js'),
      "enum: ['python3.10', 'python3.11']"
    )
    expect(runtimeNotes('python3.12', framework(dir, '3.40.0'), '2026-11-29').schema?.message).toMatch(
      /^serverless 3\.40\.0 does not list python3\.12 in its configuration schema.+osls/
    )
    expect(runtimeNotes('python3.11', framework(dir, '3.40.0'), '2026-11-29').schema).toBeUndefined()
  })

  it('warns about a runtime Lambda has deprecated, with the date its updates stop', () => {
    expect(runtimeNotes('python3.10', undefined, '2026-11-29').deprecated?.message).toBe(
      'Lambda deprecated python3.10 on 2026-10-31: it gets no more security patches, and from 2027-03-03 functions on it can no longer be updated (new ones from 2027-02-01). Move provider.runtime to a supported Python, such as python3.13.'
    )
    expect(runtimeNotes('python3.9', undefined, '2027-06-01').deprecated?.message).toContain(
      'and since 2027-03-03 functions on it can no longer be updated'
    )
    expect(runtimeNotes('python3.11', undefined, '2026-11-29').deprecated).toBeUndefined()
  })
})

describe('osls 4', () => {
  it('is a framework a project may pin, with a frameworkVersion that admits it', () => {
    const dir = project({
      'package.json': { devDependencies: { osls: '4.3.1' } },
      'package-lock.json': lockV3('4.3.1', 'osls')
    })
    expect(() => checkFramework(config(dir, '3 || 4'), {})).not.toThrow()
    expect(() => checkFramework(config(dir), {})).not.toThrow()
    // osls 4 refuses frameworkVersion '3' for every command: said before anything runs.
    expect(failure(() => checkFramework(config(dir, '3'), {}))).toMatch(
      /^serverless\.yml has frameworkVersion '3', but osls 4\.3\.1 would run \(osls 4 refuses a frameworkVersion of '3'\)/
    )
  })

  it('is what framework: osls with serverless-version 4 provides, from its own shipped lockfile', () => {
    const toolCache = (...parts: string[]) => path.join('/tool-cache', ...parts)
    const provided = providedFramework(
      { ...config(project({})), plugins: ['serverless-python-requirements'] },
      { toolCache, framework: 'osls', requested: '4' }
    )
    expect(provided).toMatchObject({ name: 'osls', version: '4.3.1' })
    expect(provided.lockfile).toMatch(/frameworks\/osls4\/package-lock\.json$/)
    // serverless-localstack 1.x calls what osls 4 removed: the osls 4 lockfile does not provide it.
    expect(
      failure(() =>
        providedFramework(
          { ...config(project({})), plugins: ['serverless-localstack'] },
          { toolCache, framework: 'osls', requested: '4' }
        )
      )
    ).toMatch(
      /names serverless-localstack, which the service does not install and the action does not provide \(it provides osls 4\.3\.1 with serverless-offline, serverless-python-requirements/
    )
  })

  it("still refuses Serverless Inc's v4", () => {
    expect(failure(() => checkFramework(config(project({})), { version: '4.4.0' }))).toMatch(
      /^Input 'serverless-version' is '4\.4\.0': the Serverless Framework runs here as v3 \(Serverless Inc's v4 needs a login and a licence\)/
    )
  })
})

describe('ownFramework', () => {
  it('is the package package.json names, even when a plugin’s peer put upstream serverless beside osls', () => {
    const dir = project({ 'package.json': { devDependencies: { osls: '3.77.1' } } })
    for (const name of ['serverless', 'osls']) {
      mkdirSync(path.join(dir, 'node_modules', name), { recursive: true })
      writeFileSync(
        path.join(dir, 'node_modules', name, 'package.json'),
        JSON.stringify({ name, version: '3.40.0' })
      )
    }
    expect(ownFramework(dir)).toBe(path.join(dir, 'node_modules', 'osls'))
  })

  it('is undefined when the named package is not installed', () => {
    expect(
      ownFramework(project({ 'package.json': { devDependencies: { serverless: '3.40.0' } } }))
    ).toBeUndefined()
  })
})

describe('providedFramework', () => {
  const toolCache = (...parts: string[]) => path.join('/tool-cache', ...parts)
  const withPlugins = (plugins: string[]) => ({ ...config(project({})), plugins })

  it('installs the shipped lockfile of the framework asked for, one folder per lockfile', () => {
    const serverless = providedFramework(withPlugins(['serverless-python-requirements']), { toolCache })
    expect(serverless).toMatchObject({ name: 'serverless', version: SERVERLESS_VERSION })
    expect(serverless.lockfile).toMatch(/frameworks\/serverless\/package-lock\.json$/)
    expect(serverless.dir).toMatch(/^\/tool-cache\/framework\/serverless-[0-9a-f]{16}$/)
    const osls = providedFramework(withPlugins([]), { toolCache, framework: 'osls' })
    expect(osls).toMatchObject({ name: 'osls', version: FRAMEWORK_VERSIONS.osls })
    expect(osls.dir).not.toBe(serverless.dir)
  })

  it('installs another serverless-version unlocked, in a folder of its own', () => {
    const older = providedFramework(withPlugins([]), { toolCache, requested: '3.39.0' })
    expect(older).toEqual({
      name: 'serverless',
      version: '3.39.0',
      dir: '/tool-cache/framework/serverless-3.39.0-unlocked'
    })
  })

  it('refuses a plugin name that is not an npm package name, with the service, before npm sees it', () => {
    const message = failure(() => checkFramework(withPlugins(['--registry=http://127.0.0.1:9']), {}))
    expect(message).toBe(
      "serverless.yml names the plugin '--registry=http://127.0.0.1:9', which is not an npm package name. List plugins by their package names (such as serverless-python-requirements), or by a ./path for a local plugin."
    )
  })

  it('refuses a plugin it does not provide, naming the package.json that would', () => {
    const message = failure(() =>
      providedFramework(withPlugins(['serverless-domain-manager']), { toolCache })
    )
    expect(message).toMatch(
      /^serverless\.yml names serverless-domain-manager, which the service does not install and the action does not provide .+npm install --save-dev serverless@3 serverless-domain-manager\) and commit package-lock\.json\.$/
    )
  })
})
