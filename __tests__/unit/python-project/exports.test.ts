import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { poetryRequirements, type PoetryLock } from '../../../src/python-project/poetry.js'
import type { Selection } from '../../../src/python-project/requirements.js'
import { readToml } from '../../../src/python-project/toml.js'
import { type UvLock, uvRequirements } from '../../../src/python-project/uv.js'
import {
  compareWithExport,
  environmentGrid,
  parseExport,
  pythonsNamed
} from '../../support/exported-requirements.js'

// Real lock/export pairs committed by public projects (__tests__/fixtures/python-projects/sources.json):
// what the action derives from each lock must select exactly what the exporter wrote.
const FIXTURES = fileURLToPath(new URL('../../fixtures/python-projects', import.meta.url))

interface Case {
  dir: string
  exportFile: string
  command: string
  selection: Selection
  hashes: boolean
}

const UV: Case[] = [
  {
    dir: 'uv-anthropic-sdk',
    exportFile: 'requirements-dev.lock',
    command: 'uv export -o requirements-dev.lock --no-hashes',
    selection: { emitProject: true },
    hashes: false
  },
  {
    dir: 'uv-anthropic-sdk-first',
    exportFile: 'requirements-dev.lock',
    command: 'uv export -o requirements-dev.lock --no-hashes',
    selection: { emitProject: true },
    hashes: false
  },
  {
    dir: 'uv-jamun',
    exportFile: 'requirements.txt',
    command: 'uv export --frozen --no-emit-project --no-hashes',
    selection: {},
    hashes: false
  }
]

const POETRY: Case[] = [
  {
    dir: 'poetry-saleor',
    exportFile: 'requirements.txt',
    command: 'poetry export -f requirements.txt --without-hashes',
    selection: {},
    hashes: false
  },
  {
    dir: 'poetry-saleor',
    exportFile: 'requirements_dev.txt',
    command: 'poetry export --without-hashes --with dev',
    selection: { groups: ['dev'] },
    hashes: false
  },
  {
    dir: 'poetry-itou-communaute',
    exportFile: 'base.txt',
    command: 'poetry export',
    selection: {},
    hashes: true
  },
  {
    dir: 'poetry-itou-communaute',
    exportFile: 'dev.txt',
    command: 'poetry export --with dev',
    selection: { groups: ['dev'] },
    hashes: true
  },
  {
    dir: 'poetry-xtb-trading',
    exportFile: 'requirements.txt',
    command: 'poetry export',
    selection: {},
    hashes: true
  }
]

function exported(c: Case) {
  return parseExport(readFileSync(path.join(FIXTURES, c.dir, c.exportFile), 'utf8'))
}

describe('uv.lock pins equal the committed uv export', () => {
  test.each(UV)('$dir: $command', c => {
    const lock = readToml(path.join(FIXTURES, c.dir, 'uv.lock')) as UvLock
    const derived = uvRequirements(lock, c.selection)
    const lines = exported(c)
    const grid = environmentGrid(lock['requires-python'], pythonsNamed(lines.map(l => l.marker)))
    expect(compareWithExport(derived, lines, grid, { hashes: c.hashes })).toEqual([])
    expect(lines.length).toBeGreaterThan(20)
  })

  test('without the dev group or the project, as `--no-dev --no-emit-project` exports', () => {
    const lock = readToml(path.join(FIXTURES, 'uv-anthropic-sdk', 'uv.lock')) as UvLock
    const all = uvRequirements(lock, { emitProject: true }).map(r => r.name)
    const production = uvRequirements(lock, { groups: [], emitProject: false }).map(r => r.name)
    expect(all).toEqual(expect.arrayContaining(['anthropic', 'pytest']))
    expect(production).not.toContain('anthropic')
    expect(production).not.toContain('pytest')
    expect(production).toEqual(expect.arrayContaining(['httpx', 'pydantic', 'anyio']))
  })

  test('the comparison notices a wrong pin', () => {
    const c = UV[2]!
    const lock = readToml(path.join(FIXTURES, c.dir, 'uv.lock')) as UvLock
    const derived = uvRequirements(lock, c.selection).filter(r => r.name !== 'attrs')
    expect(compareWithExport(derived, exported(c), environmentGrid('>=3.10'), { hashes: false })).toEqual([
      { key: 'attrs==24.3.0', problem: 'exported, not derived' }
    ])
  })
})

describe('poetry.lock pins equal the committed poetry export', () => {
  test.each(POETRY)('$dir/$exportFile: $command', c => {
    const lock = readToml(path.join(FIXTURES, c.dir, 'poetry.lock')) as PoetryLock
    const pyproject = readToml(path.join(FIXTURES, c.dir, 'pyproject.toml'))
    const derived = poetryRequirements(lock, pyproject, c.selection)
    const lines = exported(c)
    const grid = environmentGrid('', pythonsNamed(lines.map(l => l.marker)))
    expect(compareWithExport(derived, lines, grid, { hashes: c.hashes })).toEqual([])
    if (c.hashes) expect(lines.every(l => l.hashes.length > 0)).toBe(true)
  })
})
