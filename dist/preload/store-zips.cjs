'use strict'
// serverless-python-deploy: serverless-python-requirements stores its zips; the action compresses them.
const Module = require('node:module')
const path = require('node:path')
const load = Module._load
const ZIP_TREE = ['', 'serverless-python-requirements', 'lib', 'zipTree.js'].join(path.sep)
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments)
  // Only the plugin's own require('./zipTree'): other modules' exports are not touched.
  if (typeof request !== 'string' || !['zipTree', 'zipTree.js'].includes(path.basename(request)))
    return loaded
  let file = ''
  try {
    file = Module._resolveFilename(request, parent, isMain)
  } catch {
    // Not resolvable from there: not the plugin's own zipTree either.
  }
  if (file.endsWith(ZIP_TREE) && typeof loaded.writeZip === 'function' && !loaded.writeZip.stores) {
    const writeZip = loaded.writeZip
    loaded.writeZip = Object.assign(
      function (zip) {
        const generate = zip.generateNodeStream
        zip.generateNodeStream = function (options) {
          return generate.call(this, { ...options, compression: 'STORE' })
        }
        return writeZip.apply(this, arguments)
      },
      { stores: true }
    )
  }
  return loaded
}
