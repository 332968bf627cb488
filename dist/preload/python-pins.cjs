'use strict'
// serverless-python-deploy: serverless-python-requirements reads the pins the action derived from the
// service's lockfile (uv.lock, or a Poetry or Pipfile lock without its tool on the runner), from a file
// outside the repository (SPD_PYTHON_PINS), instead of asking poetry or pipenv: nothing is written
// into the service's folder, and the lockfile decides.
const Module = require('node:module')
const path = require('node:path')
const load = Module._load
const INDEX = ['', 'serverless-python-requirements', 'index.js'].join(path.sep)
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments)
  const pins = process.env.SPD_PYTHON_PINS
  if (!pins || typeof loaded !== 'function' || loaded.spdPins) return loaded
  let file = ''
  try {
    file = Module._resolveFilename(request, parent, isMain)
  } catch {
    // Not resolvable from there: not the plugin either.
  }
  if (!file.endsWith(INDEX)) return loaded
  const options = Object.getOwnPropertyDescriptor(loaded.prototype, 'options')
  if (!options || !options.get) return loaded
  Object.defineProperty(loaded.prototype, 'options', {
    configurable: true,
    get() {
      const resolved = options.get.call(this)
      const service = this.serverless.serviceDir || this.serverless.config.servicePath || process.cwd()
      // The plugin joins fileName to the service's folder: a relative path reaches the file anywhere.
      return { ...resolved, fileName: path.relative(service, pins), usePoetry: false, usePipenv: false }
    }
  })
  loaded.spdPins = true
  return loaded
}
