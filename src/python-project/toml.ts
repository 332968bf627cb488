import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'smol-toml'
import { UserError } from '../errors.js'

export type Table = Record<string, unknown>

/**
 * Reads a TOML file; integers stay bigint so that a manifest's hash (pipenv, Poetry) can tell `1`
 * from `1.0` as Python does. A file that is not TOML is the user's to fix.
 */
export function readToml(file: string): Table {
  const text = readFileSync(file, 'utf8')
  try {
    return parse(text, { integersAsBigInt: true }) as Table
  } catch (error) {
    throw new UserError(
      `${path.basename(file)} is not valid TOML: ${(error as Error).message.split('\n')[0]}. Fix the file (the tool that wrote it can rewrite it).`,
      { file, title: 'Invalid TOML' }
    )
  }
}

export function table(value: unknown): Table | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
    ? (value as Table)
    : undefined
}
