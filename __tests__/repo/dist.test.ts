import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from '../support/runner.js'

jest.setTimeout(180_000)

describe('dist/', () => {
  it('is the bundle of the committed src/, byte for byte (main and post entries, and the files they run)', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'dist-'))
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle.mjs'), out], {
        cwd: ROOT,
        stdio: 'pipe'
      })
      const files = (dir: string): string[] =>
        readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter(entry => entry.isFile())
          .map(entry => path.relative(dir, path.join(entry.parentPath, entry.name)))
          .sort()
      const committed = files(path.join(ROOT, 'dist'))
      expect(files(out)).toEqual(committed)
      for (const file of committed) {
        const fresh = readFileSync(path.join(out, file))
        const ours = readFileSync(path.join(ROOT, 'dist', file))
        expect({ file, same: fresh.equals(ours) }).toEqual({ file, same: true })
      }
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
