'use strict'
// serverless-python-deploy: serverless-python-requirements links its layer zip into .serverless without
// waiting for the link (lib/layer.js: an fse.symlink whose promise nobody awaits), so Serverless can
// read .serverless/pythonRequirements.zip before it exists and fail with ENOENT, depending on timing.
// Its layer step ends here only once the link is there.
const Module = require('node:module')
const fs = require('node:fs')
const path = require('node:path')
const load = Module._load
const LAYER = ['', 'serverless-python-requirements', 'lib', 'layer.js'].join(path.sep)
/** Long enough for any filesystem; the link is already requested when this starts waiting. */
const WAIT_MS = 30000

function linked(file, deadline) {
  return fs.promises.lstat(file).then(
    () => undefined,
    error => {
      if (error.code !== 'ENOENT' || Date.now() > deadline) return undefined
      return new Promise(resolve => setTimeout(resolve, 10)).then(() => linked(file, deadline))
    }
  )
}

Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments)
  // Only the plugin's own require('./lib/layer'): other modules' exports are not touched.
  if (typeof request !== 'string' || !['layer', 'layer.js'].includes(path.basename(request))) return loaded
  let file = ''
  try {
    file = Module._resolveFilename(request, parent, isMain)
  } catch {
    // Not resolvable from there: not the plugin's own layer module either.
  }
  if (
    file.endsWith(LAYER) &&
    typeof loaded.layerRequirements === 'function' &&
    !loaded.layerRequirements.waits
  ) {
    const layerRequirements = loaded.layerRequirements
    loaded.layerRequirements = Object.assign(
      function () {
        const options = this && this.options
        return layerRequirements
          .apply(this, arguments)
          .then(result =>
            options && options.layer
              ? linked(path.join('.serverless', 'pythonRequirements.zip'), Date.now() + WAIT_MS).then(
                  () => result
                )
              : result
          )
      },
      { waits: true }
    )
  }
  return loaded
}
