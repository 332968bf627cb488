import { mkdirSync, mkdtempSync, symlinkSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { run } from '../../src/main.js'
import { CASES } from '../support/bad-input-cases.js'
import { fakeEdges } from '../support/fake-edges.js'

/**
 * Every bad input and broken service that no tool has to find (support/bad-input-cases.ts), through
 * run() in process: exactly one error annotation naming the cause and the fix, with its title and the
 * file and line it points at, and nothing started. No child process may run (the fake exec fails the
 * run on any), and AWS is asked only who the credentials belong to. The representative cases run
 * through dist/index.js against moto in __tests__/e2e/bad-input.test.ts.
 */

const scratch = mkdtempSync(path.join(os.tmpdir(), 'unit-bad-input-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const IN_PROCESS = CASES.filter(c => !c.runs)

describe('bad input, in process', () => {
  it('runs every case no tool has to find', () => {
    expect(IN_PROCESS.length).toBeGreaterThanOrEqual(70)
  })

  it.each(IN_PROCESS.map(c => [c.name, c] as const))('%s', async (_name, c) => {
    const root = mkdtempSync(path.join(scratch, 'case-'))
    for (const [name, text] of Object.entries(c.files)) {
      mkdirSync(path.dirname(path.join(root, name)), { recursive: true })
      writeFileSync(path.join(root, name), text)
    }
    for (const [name, target] of Object.entries(c.links ?? {})) symlinkSync(target, path.join(root, name))
    const env: Record<string, string> = {
      PATH: '/usr/bin',
      HOME: path.join(root, '.home'),
      RUNNER_TEMP: path.join(root, '.runner'),
      GITHUB_WORKSPACE: root,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing'
    }
    for (const [name, value] of Object.entries(c.inputs ?? {}))
      env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
    for (const [key, value] of Object.entries(c.env ?? {})) {
      if (value === undefined) delete env[key]
      else env[key] = value
    }
    const { edges, recorded } = fakeEdges({
      env,
      workspace: root,
      aws: call => (call.service === 'sts' ? { Account: '123456789012' } : undefined)
    })
    await run(edges)
    const errors = recorded.annotations.filter(a => a.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].message).toMatch(c.cause)
    expect(errors[0].message).toMatch(c.fix)
    if (c.title) expect(errors[0].properties?.title).toBe(c.title)
    if (c.where)
      expect(errors[0].properties).toMatchObject({
        file: c.where.file,
        ...(c.where.line ? { startLine: Number(c.where.line) } : {}),
        ...(c.where.col ? { startColumn: Number(c.where.col) } : {})
      })
    expect(recorded.processes).toEqual([])
    expect(recorded.aws.filter(call => call.service !== 'sts')).toEqual([])
    expect(recorded.exitCode).toBe(1)
  })
})
