import { cpSync, mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from './runner.js'

export const FIXTURES = path.join(ROOT, '__tests__', 'fixtures')

/** A fresh copy of a fixture service, without anything a previous run left in it. */
export function copyFixture(name: string): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), `${name}-`)), name)
  cpSync(path.join(FIXTURES, name), dir, {
    recursive: true,
    filter: source => !/[/\\](node_modules|\.serverless|__pycache__)([/\\]|$)/.test(source)
  })
  return dir
}
