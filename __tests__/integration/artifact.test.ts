import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { jest } from '@jest/globals'
import { addBytecode, neverRun, storeZipsEnv } from '../../src/artifact.js'
import { actionsExecRunner } from '../../src/exec.js'
import { zipCompression, zipEntries } from '../support/fixture.js'

jest.setTimeout(60_000)

const root = mkdtempSync(path.join(os.tmpdir(), 'integration-artifact-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Writes a zip with the given entries (Python's zipfile, 1980 dates as Serverless writes them). */
function zip(file: string, entries: Record<string, string>, compression = 'ZIP_DEFLATED'): void {
  const script =
    'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w", getattr(zipfile, sys.argv[3])) as z:\n    for name, text in json.loads(sys.argv[2]).items():\n        z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text)\n'
  execFileSync('python3', ['-c', script, file, JSON.stringify(entries), compression])
}

/** What a .pyc inside a zip says of itself: its flags (1 = unchecked hash) and the source path it names. */
function pycInfo(file: string, name: string): { flags: number; filename: string } {
  const script =
    'import marshal, sys, zipfile\ndata = zipfile.ZipFile(sys.argv[1]).read(sys.argv[2])\nprint(int.from_bytes(data[4:8], "little"), marshal.loads(data[16:]).co_filename)'
  const [flags, filename] = execFileSync('python3', ['-c', script, file, name], { encoding: 'utf8' })
    .trim()
    .split(' ')
  return { flags: Number(flags), filename }
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('base64')

function packaged(name: string): { dir: string } {
  const dir = path.join(root, name, '.serverless')
  mkdirSync(dir, { recursive: true })
  zip(path.join(dir, 'api.zip'), {
    'handler.py': 'import lib\n\ndef handler(event, context):\n    return lib.answer()\n',
    'lib/__init__.py': 'def answer():\n    return 42\n',
    'lib/broken.py': 'def broken(:\n',
    'uvicorn/__init__.py': 'SERVER = True\n',
    'uvicorn-0.30.0.dist-info/RECORD': 'uvicorn/__init__.py,,\nuvicorn-0.30.0.dist-info/RECORD,,\n',
    'lib/__pycache__/__init__.cpython-311.pyc': 'stale timestamp bytecode'
  })
  zip(path.join(dir, 'pythonRequirements.zip'), { 'python/layered.py': 'X = 1\n' })
  const hashes = { api: sha(path.join(dir, 'api.zip')), layer: sha(path.join(dir, 'pythonRequirements.zip')) }
  const template = JSON.stringify({ Resources: { ApiVersion: { Properties: { CodeSha256: hashes.api } } } })
  writeFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), template)
  writeFileSync(
    path.join(dir, 'serverless-state.json'),
    JSON.stringify({ service: { provider: { compiledCloudFormationTemplate: JSON.parse(template) } } })
  )
  return { dir }
}

/** The action's Python edges: the real exec, with only what Python needs in its environment. */
const transform = (dir: string) =>
  addBytecode({
    dir,
    python: 'python3',
    exec: actionsExecRunner,
    env: { PATH: process.env.PATH ?? '', HOME: root },
    log: () => undefined
  })

describe('addBytecode', () => {
  const run = (p: ReturnType<typeof packaged>) => transform(p.dir)

  it('adds unchecked-hash bytecode for the running Python, with Lambda paths, and drops stale bytecode', async () => {
    const p = packaged('first')
    const reports = await run(p)
    const api = path.join(p.dir, 'api.zip')
    const entries = zipEntries(api)
    const tag = execFileSync('python3', ['-c', 'import sys; print(sys.implementation.cache_tag)'], {
      encoding: 'utf8'
    }).trim()
    expect(entries).toEqual(
      expect.arrayContaining([
        `__pycache__/handler.${tag}.pyc`,
        `lib/__pycache__/__init__.${tag}.pyc`,
        'lib/broken.py'
      ])
    )
    // A file Python cannot compile stays source only.
    expect(entries).not.toContain(`lib/__pycache__/broken.${tag}.pyc`)
    expect(pycInfo(api, `__pycache__/handler.${tag}.pyc`)).toEqual({
      flags: 1,
      filename: '/var/task/handler.py'
    })
    expect(pycInfo(api, `lib/__pycache__/__init__.${tag}.pyc`).flags).toBe(1)
    // A layer's modules live under /opt.
    expect(
      pycInfo(path.join(p.dir, 'pythonRequirements.zip'), `python/__pycache__/layered.${tag}.pyc`).filename
    ).toBe('/opt/python/layered.py')
    expect(reports.map(r => r.file).sort()).toEqual(['api.zip', 'pythonRequirements.zip'])
    expect(reports.find(r => r.file === 'api.zip')?.distributions.uvicorn).toBeGreaterThan(0)
  })

  it('points the compiled template and the state file at the new zip', async () => {
    const p = packaged('hashes')
    const before = sha(path.join(p.dir, 'api.zip'))
    await run(p)
    const after = sha(path.join(p.dir, 'api.zip'))
    expect(after).not.toBe(before)
    for (const file of ['cloudformation-template-update-stack.json', 'serverless-state.json']) {
      const text = readFileSync(path.join(p.dir, file), 'utf8')
      expect(text).toContain(after)
      expect(text).not.toContain(before)
    }
  })

  it('writes the same bytes for the same input, compiling anew each time', async () => {
    const a = packaged('same-a')
    const b = packaged('same-b')
    await run(a)
    await run(b)
    expect(sha(path.join(b.dir, 'api.zip'))).toBe(sha(path.join(a.dir, 'api.zip')))
  })

  it('ships no bytecode it did not compile from the zip’s own source, even one that names the right source hash', async () => {
    const p = packaged('planted')
    const api = path.join(p.dir, 'api.zip')
    const tag = execFileSync('python3', ['-c', 'import sys; print(sys.implementation.cache_tag)'], {
      encoding: 'utf8'
    }).trim()
    const source = 'def handler(event, context):\n    return 200\n'
    // Unchecked-hash bytecode of other code, stamped with the real source's hash: Python would load it as it is.
    const planted = execFileSync(
      'python3',
      [
        '-c',
        'import sys, importlib.util\nfrom importlib import _bootstrap_external as b\ncode = compile("import os; os.system(\'id\')", "/var/task/handler.py", "exec")\nsys.stdout.buffer.write(b._code_to_hash_pyc(code, importlib.util.source_hash(sys.argv[1].encode()), checked=False))',
        source
      ],
      { encoding: 'latin1' }
    )
    const script =
      'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n    z.writestr("handler.py", sys.argv[2])\n    z.writestr(sys.argv[3], open(sys.argv[4], "rb").read())\n'
    const plantedFile = path.join(root, 'planted.pyc')
    writeFileSync(plantedFile, Buffer.from(planted, 'latin1'))
    execFileSync('python3', ['-c', script, api, source, `__pycache__/handler.${tag}.pyc`, plantedFile])
    await run(p)
    const check =
      'import sys, zipfile, importlib.util\nfrom importlib import _bootstrap_external as b\nz = zipfile.ZipFile(sys.argv[1])\nsrc = z.read("handler.py")\nfresh = b._code_to_hash_pyc(compile(src, "/var/task/handler.py", "exec", dont_inherit=True), importlib.util.source_hash(src), checked=False)\nnames = [n for n in z.namelist() if n.endswith(".pyc")]\nprint(len(names), z.read(sys.argv[2]) == fresh)'
    expect(
      execFileSync('python3', ['-c', check, api, `__pycache__/handler.${tag}.pyc`], {
        encoding: 'utf8'
      }).trim()
    ).toBe('1 True')
  })
})

describe('neverRun', () => {
  it('names development servers and test tools with what they add', () => {
    expect(
      neverRun([
        { file: 'a.zip', size: 1, distributions: { fastapi: 500, uvicorn: 300, pytest: 200 } },
        { file: 'layer.zip', size: 1, distributions: { uvloop: 900 } }
      ])
    ).toEqual([
      { name: 'uvloop', bytes: 900 },
      { name: 'uvicorn', bytes: 300 },
      { name: 'pytest', bytes: 200 }
    ])
  })
})

describe('a zip that is a link into serverless-python-requirements’ cache (layer: true)', () => {
  it('is replaced by a file of its own; the plugin’s cached zip is left as it was', async () => {
    const p = packaged('linked')
    const pluginCache = path.join(root, 'plugin-cache.zip')
    const layer = path.join(p.dir, 'pythonRequirements.zip')
    copyFileSync(layer, pluginCache)
    const before = sha(pluginCache)
    rmSync(layer)
    symlinkSync(pluginCache, layer)
    await transform(p.dir)
    expect(sha(pluginCache)).toBe(before)
    expect(lstatSync(layer).isSymbolicLink()).toBe(false)
    expect(zipEntries(layer).some(name => name.endsWith('.pyc'))).toBe(true)
  })
})

describe('zips serverless-python-requirements stored uncompressed', () => {
  it('get every entry compressed, once, by the transform', async () => {
    const p = packaged('stored')
    const api = path.join(p.dir, 'api.zip')
    const text = 'def answer():\n    return 42\n'.repeat(200)
    zip(
      api,
      { 'handler.py': text, 'lib/__init__.py': text, 'lib/data.txt': 'x'.repeat(10_000) },
      'ZIP_STORED'
    )
    expect(zipCompression(api)).toEqual({ stored: 3, deflated: 0 })
    const stored = readFileSync(api).length
    await transform(p.dir)
    // Three files and the two modules' bytecode, all deflated.
    expect(zipCompression(api)).toEqual({ stored: 0, deflated: 5 })
    expect(readFileSync(api).length).toBeLessThan(stored / 4)
  })
})

describe('storeZipsEnv', () => {
  /** A module tree with the plugin's lib/zipTree.js (as serverless-python-requirements 6 lays it out) and another zipTree. */
  function tree(): string {
    const dir = path.join(root, 'preload')
    const lib = path.join(dir, 'node_modules', 'serverless-python-requirements', 'lib')
    const other = path.join(dir, 'node_modules', 'other', 'lib')
    const writeZip =
      "exports.writeZip = (zip, target) => zip.generateNodeStream({ platform: 'UNIX', compression: 'DEFLATE', compressionOptions: { level: 9 } })\n"
    for (const folder of [lib, other]) {
      mkdirSync(folder, { recursive: true })
      writeFileSync(path.join(folder, 'zipTree.js'), writeZip)
    }
    // The plugin takes writeZip out of the exports when it loads them, as its inject.js does.
    writeFileSync(
      path.join(lib, 'inject.js'),
      "const { writeZip } = require('./zipTree')\nmodule.exports = () => writeZip({ generateNodeStream: options => options }, 'x.zip')\n"
    )
    writeFileSync(
      path.join(dir, 'main.js'),
      "const inject = require('serverless-python-requirements/lib/inject')\nconst other = require('other/lib/zipTree')\nconsole.log(JSON.stringify({ plugin: inject(), other: other.writeZip({ generateNodeStream: options => options }), options: process.env.NODE_OPTIONS }))\n"
    )
    return dir
  }

  it('makes the plugin store its zips, and leaves every other module and NODE_OPTIONS as they were', () => {
    const dir = tree()
    const env = storeZipsEnv('--max-old-space-size=512')
    expect(env.NODE_OPTIONS).toMatch(/^--max-old-space-size=512 --require ".+preload\/store-zips\.cjs"$/)
    const seen = JSON.parse(
      execFileSync(process.execPath, ['main.js'], {
        cwd: dir,
        env: { ...process.env, ...env },
        encoding: 'utf8'
      })
    ) as Record<string, { compression: string; compressionOptions: { level: number } }>
    expect(seen.plugin).toEqual({ platform: 'UNIX', compression: 'STORE', compressionOptions: { level: 9 } })
    expect(seen.other.compression).toBe('DEFLATE')
    // Without the preload, the plugin deflates as it always did.
    const plain = JSON.parse(
      execFileSync(process.execPath, ['main.js'], {
        cwd: dir,
        env: { ...process.env, NODE_OPTIONS: '' },
        encoding: 'utf8'
      })
    ) as Record<string, { compression: string }>
    expect(plain.plugin.compression).toBe('DEFLATE')
  })

  it('keeps NODE_OPTIONS empty of anything but the preload when there were none', () => {
    expect(storeZipsEnv(undefined).NODE_OPTIONS).toMatch(/^--require "/)
  })
})
