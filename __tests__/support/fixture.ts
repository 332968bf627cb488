import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from './runner.js'
import { linkTree } from './warm.mjs'

export const FIXTURES = path.join(ROOT, '__tests__', 'fixtures')

/**
 * A fresh copy of a fixture service, without anything a previous run left in it. `warm` (the default
 * in the e2e tier): with the node_modules its lockfile gives already there, as hard links to the one
 * the run prepared (warm.mjs); the action still proves it against the lockfile before using it.
 * `cold`: without it. `none`: without package.json and its lockfile too, so that the action provides
 * the framework.
 */
export function copyFixture(name: string, options: { node?: 'warm' | 'cold' | 'none' } = {}): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), `${name}-`)), name)
  cpSync(path.join(FIXTURES, name), dir, {
    recursive: true,
    filter: source => !/[/\\](node_modules|\.serverless|__pycache__)([/\\]|$)/.test(source)
  })
  const warm = process.env.SPD_WARM && path.join(process.env.SPD_WARM, 'fixtures', name, 'node_modules')
  const node = options.node ?? 'warm'
  if (node === 'none')
    for (const file of ['package.json', 'package-lock.json']) rmSync(path.join(dir, file), { force: true })
  if (node === 'warm' && warm && existsSync(warm)) linkTree(warm, path.join(dir, 'node_modules'))
  return dir
}

/** The names inside a zip (a Serverless artifact), read with Python's zipfile. */
export function zipEntries(file: string, python = 'python3'): string[] {
  const script = 'import json, sys, zipfile; print(json.dumps(zipfile.ZipFile(sys.argv[1]).namelist()))'
  return JSON.parse(execFileSync(python, ['-c', script, file], { encoding: 'utf8' })) as string[]
}

/** How many of a zip's files are stored uncompressed and how many deflated. */
export function zipCompression(file: string): { stored: number; deflated: number } {
  const script =
    'import json, sys, zipfile\ninfos = [i for i in zipfile.ZipFile(sys.argv[1]).infolist() if not i.is_dir()]\nprint(json.dumps({"stored": sum(i.compress_type == zipfile.ZIP_STORED for i in infos), "deflated": sum(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)}))'
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as {
    stored: number
    deflated: number
  }
}

export interface Answer {
  path: string
  statusCode: number
  body: string
}

/**
 * Invokes a handler from a Serverless artifact as Lambda would run it (read-only, no bytecode
 * writes, nothing but the zip and the standard library) with API Gateway HTTP API events.
 */
export function invokeArtifact(artifact: string, handler: string, paths: string[]): Answer[] {
  return execFileSync(
    'python3',
    ['-S', '-B', path.join(ROOT, '__tests__', 'support', 'invoke.py'), artifact, handler, ...paths],
    {
      encoding: 'utf8'
    }
  )
    .trim()
    .split('\n')
    .map(line => JSON.parse(line) as Answer)
}
