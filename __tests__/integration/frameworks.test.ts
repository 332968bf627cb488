import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { checkTree } from '../../src/node/tree.js'
import { ROOT } from '../support/runner.js'

jest.setTimeout(300_000)

/**
 * The framework the action provides comes from the lockfile it ships (src/frameworks): installed twice
 * in a row, with real npm and no install script, it is the same tree, file for file, and the tree the
 * lockfile says (checkTree proves it against the tarballs' hashes).
 */

const root = mkdtempSync(path.join(os.tmpdir(), 'integration-frameworks-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

function install(name: string, into: string): void {
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
    const shipped = path.join(ROOT, 'src', 'frameworks', name, file)
    if (existsSync(shipped)) cpSync(shipped, path.join(into, file))
  }
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: into, stdio: 'pipe' })
}

/** Every file under node_modules with its sha256, but npm's own record of the tree. */
function tree(dir: string): Record<string, string> {
  const modules = path.join(dir, 'node_modules')
  return Object.fromEntries(
    readdirSync(modules, { recursive: true, withFileTypes: true })
      .filter(entry => entry.isFile() || entry.isSymbolicLink())
      .map(entry => path.join(entry.parentPath, entry.name))
      .filter(file => path.relative(modules, file) !== '.package-lock.json')
      .map(file => [
        path.relative(modules, file),
        createHash('sha256').update(readFileSync(file)).digest('hex')
      ])
  )
}

const npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim()

// osls' lockfile is installed and proved the same way by the e2e runs that provide it (package.test.ts).
describe.each(['serverless'])('the %s the action provides', name => {
  it('installs the same tree twice in a row, the one its lockfile says', async () => {
    const first = mkdtempSync(path.join(root, `${name}-`))
    const second = mkdtempSync(path.join(root, `${name}-`))
    install(name, first)
    install(name, second)
    const files = tree(first)
    expect(Object.keys(files).length).toBeGreaterThan(1000)
    expect(tree(second)).toEqual(files)
    expect(await checkTree(first, path.join(first, 'package-lock.json'), [npmCache])).toMatchObject({
      ok: true
    })
    const framework = JSON.parse(readFileSync(path.join(first, 'node_modules', name, 'package.json'), 'utf8'))
    const shipped = JSON.parse(
      readFileSync(path.join(ROOT, 'src', 'frameworks', name, 'package.json'), 'utf8')
    )
    expect(framework.version).toBe(shipped.dependencies[name])
  })
})
