import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { installCommand, nodeProject, rebuildCommand, runScriptCommand } from '../../../src/node/project.js'

const dirs: string[] = []
afterAll(() => dirs.forEach(dir => rmSync(dir, { recursive: true, force: true })))

function project(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-node-project-'))
  dirs.push(dir)
  for (const [name, content] of Object.entries(files))
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  return dir
}

describe('nodeProject and installCommand', () => {
  it('picks each package manager by its lockfile, and installs it frozen with no script running', () => {
    const npm = nodeProject(project({ 'package.json': {}, 'package-lock.json': {} }))
    expect(npm).toMatchObject({ manager: 'npm' })
    expect(installCommand(npm!)).toEqual({
      tool: 'npm',
      args: ['ci', '--ignore-scripts', '--no-audit', '--no-fund']
    })
    const yarn = nodeProject(project({ 'package.json': {}, 'yarn.lock': '# yarn lockfile v1\n' }))
    expect(installCommand(yarn!)).toEqual({
      tool: 'yarn',
      args: ['install', '--frozen-lockfile', '--non-interactive', '--ignore-scripts']
    })
    const berry = nodeProject(
      project({
        'package.json': { packageManager: 'yarn@4.5.0' },
        'yarn.lock': '__metadata:\n  version: 8\n'
      })
    )
    expect(berry).toMatchObject({ manager: 'yarn-berry', packageManagerField: 'yarn@4.5.0' })
    expect(installCommand(berry!)).toEqual({
      tool: 'corepack',
      args: ['yarn', 'install', '--immutable'],
      env: { YARN_ENABLE_SCRIPTS: 'false' }
    })
    const pnpm = nodeProject(
      project({ 'package.json': { packageManager: 'pnpm@9.12.0' }, 'pnpm-lock.yaml': '' })
    )
    expect(installCommand(pnpm!)).toEqual({
      tool: 'corepack',
      args: ['pnpm', 'install', '--frozen-lockfile', '--ignore-scripts']
    })
  })

  it('lets packageManager choose between two lockfiles', () => {
    const dir = project({
      'package.json': { packageManager: 'pnpm@9.0.0' },
      'package-lock.json': {},
      'pnpm-lock.yaml': ''
    })
    expect(nodeProject(dir)).toMatchObject({ manager: 'pnpm', lockfile: path.join(dir, 'pnpm-lock.yaml') })
  })

  it('installs without a lockfile with npm, writing none', () => {
    const bare = nodeProject(project({ 'package.json': { packageManager: 'yarn@1.22.22' } }))
    expect(bare?.lockfile).toBeUndefined()
    expect(installCommand(bare!)).toEqual({
      tool: 'npm',
      args: ['install', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund']
    })
  })

  it('is undefined without package.json', () => {
    expect(nodeProject(project({ 'serverless.yml': '' }))).toBeUndefined()
  })
})

describe('rebuildCommand and runScriptCommand', () => {
  it("rebuilds approved packages with the project's manager, yarn classic's with npm", () => {
    const pnpm = nodeProject(project({ 'package.json': {}, 'pnpm-lock.yaml': '' }))!
    expect(rebuildCommand(pnpm, ['esbuild'])).toEqual({ tool: 'pnpm', args: ['rebuild', 'esbuild'] })
    const yarn = nodeProject(project({ 'package.json': {}, 'yarn.lock': '' }))!
    expect(rebuildCommand(yarn, ['esbuild', 'sharp'])).toEqual({
      tool: 'npm',
      args: ['rebuild', 'esbuild', 'sharp']
    })
  })

  it("runs the project's own script alone, not its pre and post scripts", () => {
    expect(runScriptCommand('install')).toEqual({ tool: 'npm', args: ['run', 'install', '--ignore-scripts'] })
  })
})
