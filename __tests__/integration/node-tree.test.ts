import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { checkTree } from '../../src/node/tree.js'

jest.setTimeout(120_000)

/**
 * checkTree against trees real npm installed: a project whose dependencies are tarballs npm packed
 * (a `file:` tarball is resolved from the project, a registry one from npm's cache), one of them with
 * a bin, so that .bin links are there too. Each way an earlier job or a cache entry could change the
 * tree must be found.
 */

const root = mkdtempSync(path.join(os.tmpdir(), 'integration-node-tree-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const npmCache = path.join(root, 'npm-cache')
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd,
    env: { ...process.env, npm_config_cache: npmCache },
    encoding: 'utf8'
  })

/** A packed package: name, files, an optional bin. */
function pack(name: string, files: Record<string, string>, bin?: string): string {
  const dir = path.join(root, 'src', name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', ...(bin ? { bin: { [name]: bin } } : {}) })
  )
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), text)
  }
  const tarball = npm(['pack', '--pack-destination', path.join(root, 'tarballs')], dir)
    .trim()
    .split('\n')
    .pop() as string
  return path.join(root, 'tarballs', tarball)
}

let project: string

beforeAll(() => {
  mkdirSync(path.join(root, 'tarballs'), { recursive: true })
  const tool = pack(
    'tool',
    { 'cli.js': '#!/usr/bin/env node\nconsole.log("tool")\n', 'lib/index.js': 'module.exports = 1\n' },
    'cli.js'
  )
  const helper = pack('helper', { 'index.js': 'module.exports = 2\n' })
  const template = path.join(root, 'template')
  mkdirSync(template)
  cpSync(tool, path.join(template, 'tool-1.0.0.tgz'))
  cpSync(helper, path.join(template, 'helper-1.0.0.tgz'))
  writeFileSync(
    path.join(template, 'package.json'),
    JSON.stringify({ devDependencies: { tool: 'file:tool-1.0.0.tgz', helper: 'file:helper-1.0.0.tgz' } })
  )
  npm(['install'], template)
  project = template
})

/** A fresh copy of the installed project, to change one thing in. */
function copy(): string {
  const dir = mkdtempSync(path.join(root, 'copy-'))
  cpSync(project, dir, { recursive: true, verbatimSymlinks: true })
  return dir
}

const check = (dir: string, caches: string[] = [npmCache]) =>
  checkTree(dir, path.join(dir, 'package-lock.json'), caches)

describe('checkTree', () => {
  it('proves a tree npm installed, every file of every package, with its .bin links', async () => {
    expect(await check(copy())).toEqual({ ok: true, packages: 2, files: 5 })
  })

  it('refuses a changed file, naming it', async () => {
    const dir = copy()
    appendFileSync(
      path.join(dir, 'node_modules', 'tool', 'lib', 'index.js'),
      'require("child_process").exec("id")\n'
    )
    expect(await check(dir)).toMatchObject({
      ok: false,
      problem: "node_modules/tool/lib/index.js differs from its package's tarball"
    })
  })

  it('refuses a file no package brought', async () => {
    const dir = copy()
    writeFileSync(path.join(dir, 'node_modules', 'helper', 'extra.js'), 'evil\n')
    expect(await check(dir)).toMatchObject({
      ok: false,
      problem: 'node_modules/helper/extra.js belongs to no package of the lockfile'
    })
  })

  it('refuses a .bin link that leads out of the packages, and a missing file', async () => {
    const dir = copy()
    const bin = path.join(dir, 'node_modules', '.bin', 'tool')
    unlinkSync(bin)
    symlinkSync('/bin/sh', bin)
    expect((await check(dir)).problem).toBe(
      "node_modules/.bin/tool is a link that leads outside the packages' files"
    )
    const other = copy()
    unlinkSync(path.join(other, 'node_modules', 'helper', 'index.js'))
    expect((await check(other)).problem).toBe('node_modules/helper/index.js is missing')
  })

  it('refuses a file replaced by a link to the same bytes, and a folder in a file’s place', async () => {
    const dir = copy()
    const file = path.join(dir, 'node_modules', 'helper', 'index.js')
    const outside = path.join(dir, 'elsewhere.js')
    writeFileSync(outside, readFileSync(file))
    unlinkSync(file)
    symlinkSync(outside, file)
    expect((await check(dir)).problem).toBe(
      "node_modules/helper/index.js is a link that leads outside the packages' files"
    )
    const other = copy()
    const replaced = path.join(other, 'node_modules', 'helper', 'index.js')
    unlinkSync(replaced)
    mkdirSync(replaced)
    expect((await check(other)).problem).toBe('node_modules/helper/index.js is missing')
  })

  it('refuses a tarball whose hash is not the lockfile’s, and a tree whose tarballs are nowhere', async () => {
    const dir = copy()
    writeFileSync(path.join(dir, 'helper-1.0.0.tgz'), 'not the tarball')
    expect(await check(dir, [])).toMatchObject({
      ok: false,
      problem: 'the tarball of node_modules/helper is in no npm cache, so its files cannot be checked'
    })
  })

  it('says what is wrong with no node_modules or an unreadable lockfile', async () => {
    const dir = copy()
    rmSync(path.join(dir, 'node_modules'), { recursive: true })
    expect((await check(dir)).problem).toBe('there is no node_modules')
    const other = copy()
    writeFileSync(path.join(other, 'package-lock.json'), '{')
    expect((await check(other)).problem).toBe('package-lock.json is not JSON')
  })
})
