// The Python programs' own tests (__tests__/py), with pytest from the project's tool venv and a
// private temp folder, removed afterwards: the same hermetic world the jest tiers use.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { createWorld, installTools, removeWorld, VENV } from '../__tests__/support/hermetic.mjs'
import { pipEnv } from '../__tests__/support/pip-index.mjs'

installTools({ node24: false })
const world = createWorld('spd-pytest')
let status
try {
  const result = spawnSync(
    path.join(VENV, 'bin', 'python'),
    ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '__tests__/py', ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, ...pipEnv() } }
  )
  status = result.status ?? 1
} finally {
  removeWorld(world)
}
process.exit(status)
