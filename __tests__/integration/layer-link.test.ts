import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from '../support/runner.js'

/**
 * serverless-python-requirements' lib/layer.js links its layer zip into .serverless without awaiting
 * the link. A stand-in plugin does the same, with the link made 300 ms late: the caller, as Serverless
 * does, reads the zip as soon as the layer step has resolved.
 */
const PLUGIN_LAYER = `
const fs = require('node:fs')
exports.layerRequirements = function () {
  setTimeout(() => fs.symlinkSync(process.env.CACHED_ZIP, '.serverless/pythonRequirements.zip'), 300)
  return Promise.resolve('done')
}
`
const CALLER = `
const { layerRequirements } = require('serverless-python-requirements/lib/layer')
layerRequirements.call({ options: { layer: true } }).then(result => {
  console.log(JSON.stringify({ result, linked: require('node:fs').existsSync('.serverless/pythonRequirements.zip') }))
})
`

describe('preload/layer-link.cjs', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'layer-link-'))
    const lib = path.join(dir, 'node_modules', 'serverless-python-requirements', 'lib')
    mkdirSync(lib, { recursive: true })
    writeFileSync(path.join(lib, 'layer.js'), PLUGIN_LAYER)
    mkdirSync(path.join(dir, '.serverless'))
    writeFileSync(path.join(dir, 'cached.zip'), 'zip')
    writeFileSync(path.join(dir, 'caller.js'), CALLER)
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const call = (preload: string[]) =>
    JSON.parse(
      execFileSync(process.execPath, [...preload, 'caller.js'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', CACHED_ZIP: path.join(dir, 'cached.zip') },
        encoding: 'utf8'
      })
    ) as { result: string; linked: boolean }

  it("ends the plugin's layer step only once .serverless/pythonRequirements.zip is linked", () => {
    expect(call(['--require', path.join(ROOT, 'src', 'preload', 'layer-link.cjs')])).toEqual({
      result: 'done',
      linked: true
    })
  })

  it('without it, the layer step can end before the link exists (the race it closes)', () => {
    expect(call([])).toEqual({ result: 'done', linked: false })
  })
})
