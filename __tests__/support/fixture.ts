import { execFileSync } from 'node:child_process'
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
