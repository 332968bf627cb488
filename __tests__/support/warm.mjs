import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { NODE24 } from './hermetic.mjs'

/**
 * What a warm runner has, prepared once per test run for the e2e tests that are not about cold
 * installs: the service fixture's node_modules (npm ci of its lockfile) and the framework the action
 * provides to a service without its own, in a tool cache. Each test gets them as hard links (no bytes
 * copied), and the action proves them against the lockfile's tarballs, as it proves whatever a runner
 * had before it started. Tests about cold runs keep a cold machine. Plain JavaScript because jest's
 * globalSetup loads it without the TypeScript transform.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** @param {string[]} args @param {string} cwd */
function npm(args, cwd) {
  execFileSync('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund'], { cwd, stdio: 'pipe' })
}

/**
 * Prepares the warm folder inside the world, once; returns its path.
 * @param {string} world
 */
export function prepareWarm(world) {
  const warm = path.join(world, 'warm')
  if (existsSync(path.join(warm, '.complete'))) return warm
  rmSync(warm, { recursive: true, force: true })
  // The service fixture, installed as its lockfile says.
  const service = path.join(warm, 'fixtures', 'service')
  mkdirSync(service, { recursive: true })
  for (const file of ['package.json', 'package-lock.json'])
    cpSync(path.join(ROOT, '__tests__', 'fixtures', 'service', file), path.join(service, file))
  npm(['ci'], service)
  // The provided framework, where the action running on Node 24 looks for it (framework.ts names the
  // folder by the shipped lockfile and the Node ABI).
  const shipped = path.join(ROOT, 'dist', 'frameworks', 'serverless')
  const abi = execFileSync(NODE24, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim()
  const hash = createHash('sha256')
    .update(readFileSync(path.join(shipped, 'package-lock.json')))
    .update(abi)
    .digest('hex')
    .slice(0, 16)
  const framework = path.join(
    warm,
    'tool-cache',
    'serverless-python-deploy',
    'framework',
    `serverless-${hash}`
  )
  mkdirSync(framework, { recursive: true })
  for (const file of ['package.json', 'package-lock.json'])
    cpSync(path.join(shipped, file), path.join(framework, file))
  npm(['ci'], framework)
  execFileSync('touch', [path.join(warm, '.complete')])
  return warm
}

/**
 * Hard links of a warm folder's tree at `to` (files are linked, folders made): cheap, and a test that
 * deletes a file deletes only its own link.
 * @param {string} from
 * @param {string} to
 */
export function linkTree(from, to) {
  mkdirSync(path.dirname(to), { recursive: true })
  execFileSync('cp', ['-al', from, to])
}
