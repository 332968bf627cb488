import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  approves,
  projectScripts,
  scriptPolicy,
  scriptedPackages,
  skippedNotice
} from '../../../src/node/scripts.js'

const dirs: string[] = []
afterAll(() => dirs.forEach(dir => rmSync(dir, { recursive: true, force: true })))

/** A project with an installed tree: each package's folder and its package.json. */
function tree(manifest: Record<string, unknown>, packages: Record<string, Record<string, unknown>>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-node-scripts-'))
  dirs.push(dir)
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest))
  for (const [location, pkg] of Object.entries(packages)) {
    mkdirSync(path.join(dir, location), { recursive: true })
    writeFileSync(path.join(dir, location, 'package.json'), JSON.stringify(pkg))
  }
  return dir
}

describe('scriptedPackages', () => {
  it('finds every installed package with an install script, scoped and nested ones too, and binding.gyp builds', () => {
    const dir = tree(
      {},
      {
        'node_modules/esbuild': {
          name: 'esbuild',
          version: '0.28.2',
          scripts: { postinstall: 'node install.js' }
        },
        'node_modules/plain': { name: 'plain', version: '1.0.0', scripts: { test: 'jest' } },
        'node_modules/@scope/native': {
          name: '@scope/native',
          version: '2.0.0',
          scripts: { preinstall: 'x', install: 'y' }
        },
        'node_modules/plain/node_modules/deep': {
          name: 'deep',
          version: '3.0.0',
          scripts: { postinstall: 'z' }
        },
        'node_modules/gyp': { name: 'gyp', version: '1.0.0' }
      }
    )
    writeFileSync(path.join(dir, 'node_modules', 'gyp', 'binding.gyp'), '{}')
    expect(scriptedPackages(dir)).toEqual([
      {
        name: '@scope/native',
        version: '2.0.0',
        location: 'node_modules/@scope/native',
        scripts: ['preinstall', 'install']
      },
      { name: 'esbuild', version: '0.28.2', location: 'node_modules/esbuild', scripts: ['postinstall'] },
      { name: 'gyp', version: '1.0.0', location: 'node_modules/gyp', scripts: ['install'] },
      {
        name: 'deep',
        version: '3.0.0',
        location: 'node_modules/plain/node_modules/deep',
        scripts: ['postinstall']
      }
    ])
  })
})

describe('scriptedPackages with links', () => {
  it('follows the links npm makes for file: folders and workspaces, each folder once, and skips dangling ones', () => {
    const dir = tree(
      {},
      {
        'local/recorder': { name: 'recorder', version: '1.0.0', scripts: { install: 'node record.js' } },
        'local/recorder/node_modules/inner': {
          name: 'inner',
          version: '2.0.0',
          scripts: { postinstall: 'x' }
        },
        'packages/@scope/ws': { name: '@scope/ws', version: '0.1.0', scripts: { preinstall: 'y' } },
        'node_modules/plain': { name: 'plain', version: '1.0.0' }
      }
    )
    symlinkSync('../local/recorder', path.join(dir, 'node_modules', 'recorder'))
    mkdirSync(path.join(dir, 'node_modules', '@scope'))
    symlinkSync('../../packages/@scope/ws', path.join(dir, 'node_modules', '@scope', 'ws'))
    // A link back to a folder already seen, and one to nothing.
    symlinkSync('../../../node_modules/recorder', path.join(dir, 'local/recorder/node_modules/again'))
    symlinkSync('../nowhere', path.join(dir, 'node_modules', 'dangling'))
    expect(scriptedPackages(dir)).toEqual([
      { name: '@scope/ws', version: '0.1.0', location: 'node_modules/@scope/ws', scripts: ['preinstall'] },
      { name: 'recorder', version: '1.0.0', location: 'node_modules/recorder', scripts: ['install'] },
      {
        name: 'inner',
        version: '2.0.0',
        location: 'node_modules/recorder/node_modules/inner',
        scripts: ['postinstall']
      }
    ])
  })

  it('puts a linked package under the approval package.json gives it', () => {
    const dir = tree(
      { allowScripts: { approved: true } },
      {
        'local/approved': { name: 'approved', version: '1.0.0', scripts: { install: 'a' } },
        'local/other': { name: 'other', version: '1.0.0', scripts: { install: 'b' } },
        node_modules: {}
      }
    )
    rmSync(path.join(dir, 'node_modules', 'package.json'))
    symlinkSync('../local/approved', path.join(dir, 'node_modules', 'approved'))
    symlinkSync('../local/other', path.join(dir, 'node_modules', 'other'))
    const policy = scriptPolicy(dir)
    expect(policy.approved.map(pkg => pkg.name)).toEqual(['approved'])
    expect(policy.skipped.map(pkg => pkg.name)).toEqual(['other'])
  })
})

describe('approves', () => {
  const pkg = { name: 'esbuild', version: '0.28.2' }
  it.each([
    [{}, false],
    [{ allowScripts: { esbuild: true } }, true],
    [{ allowScripts: { 'esbuild@0.28.2': true } }, true],
    [{ allowScripts: { 'esbuild@^0.28.0': true } }, true],
    [{ allowScripts: { 'esbuild@0.27.0': true } }, false],
    [{ allowScripts: { esbuild: false } }, false],
    [{ allowScripts: { 'esbuild@0.28.2': true, esbuild: false } }, false],
    [{ allowScripts: { 'other-esbuild': true } }, false],
    [{ pnpm: { onlyBuiltDependencies: ['esbuild'] } }, true],
    [{ dependenciesMeta: { esbuild: { built: true } } }, true],
    [{ dependenciesMeta: { esbuild: { built: false } } }, false]
  ])('%j approves esbuild@0.28.2: %s', (manifest, expected) => {
    expect(approves(manifest, pkg)).toBe(expected)
  })
})

describe('scriptPolicy and its notice', () => {
  it('approves what allowScripts names and skips the rest, naming each skipped package and the fix', () => {
    const dir = tree(
      {
        allowScripts: { esbuild: true },
        scripts: { postinstall: 'node setup.js', test: 'jest', prepare: 'x' }
      },
      {
        'node_modules/esbuild': { name: 'esbuild', version: '0.28.2', scripts: { postinstall: 'a' } },
        'node_modules/aws-sdk': { name: 'aws-sdk', version: '2.1693.0', scripts: { postinstall: 'b' } }
      }
    )
    const policy = scriptPolicy(dir)
    expect(policy.approved.map(p => p.name)).toEqual(['esbuild'])
    expect(policy.skipped.map(p => p.name)).toEqual(['aws-sdk'])
    expect(skippedNotice(policy.skipped)).toBe(
      "Install scripts not run, because package.json's allowScripts does not approve them (npm 12 blocks them too): aws-sdk@2.1693.0 (postinstall). A package that needs its script to work can be approved with npm approve-scripts <name> (npm install-scripts approve <name> from npm 12); commit package.json."
    )
    expect(projectScripts(dir)).toEqual(['postinstall', 'prepare'])
  })
})
