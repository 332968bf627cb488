// `npm run bundle`, and the check that dist/ is what it makes: the main and post entries bundled by
// ncc, and the files the action uses as they are (src/py, src/preload, src/frameworks) beside dist/index.js, where
// src/assets.ts finds them. Usage: node scripts/bundle.mjs [out-dir] (default dist).
import { execFileSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist'))
const ncc = path.join(root, 'node_modules', '.bin', 'ncc')

for (const [entry, dir] of [
  ['src/index.ts', out],
  ['src/post/index.ts', path.join(out, 'post')]
]) {
  execFileSync(ncc, ['build', entry, '-o', dir, '--license', 'licenses.txt'], { cwd: root, stdio: 'pipe' })
}
for (const folder of ['py', 'preload', 'frameworks']) {
  rmSync(path.join(out, folder), { recursive: true, force: true })
  cpSync(path.join(root, 'src', folder), path.join(out, folder), {
    recursive: true,
    filter: source => !/__pycache__|\.pyc$/.test(source)
  })
}
