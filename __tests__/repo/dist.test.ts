import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from '../support/runner.js'

jest.setTimeout(180_000)

describe('dist/', () => {
  it('is the bundle of the committed src/, byte for byte', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'dist-'))
    execFileSync(
      path.join(ROOT, 'node_modules', '.bin', 'ncc'),
      ['build', 'src/index.ts', '-o', out, '--license', 'licenses.txt'],
      {
        cwd: ROOT,
        stdio: 'pipe'
      }
    )
    const committed = readdirSync(path.join(ROOT, 'dist')).sort()
    expect(readdirSync(out).sort()).toEqual(committed)
    for (const file of committed) {
      const fresh = readFileSync(path.join(out, file))
      const ours = readFileSync(path.join(ROOT, 'dist', file))
      expect({ file, same: fresh.equals(ours) }).toEqual({ file, same: true })
    }
  })
})
