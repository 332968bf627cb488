import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { PLUGIN_VERSIONS } from '../../src/defaults.js'
import { FIXTURES } from './fixture.js'
import { ROOT } from './runner.js'

/**
 * A real-world-shaped service, rehearsed against moto. The fixture stays as people write it; only its
 * copy gets what moto needs:
 * - the serverless-localstack plugin, which points Serverless at AWS_ENDPOINT_URL (by name when the
 *   action provides the plugins, by absolute path when the service installs its own node_modules, whose
 *   lockfile does not have it: Serverless v3 loads a plugin from an absolute path as it is);
 * - `provider.deploymentMethod: direct`, because moto does not update stack outputs through change sets;
 * - `custom.localstack: { stages: [<stage>], autostart: false }`, so the plugin acts for that stage and
 *   starts nothing.
 */

export const CORPUS = path.join(FIXTURES, 'corpus')

const LOCALSTACK = 'serverless-localstack'
const LOCALSTACK_VERSION = PLUGIN_VERSIONS[LOCALSTACK]

/** What the action and Serverless read in place of the service's own serverless.js after rehearsal. */
export const OWN_JS_CONFIG = 'serverless.own.js'

/**
 * serverless-localstack installed once into .cache/plugins (git-ignored, reused between runs), for
 * services that bring their own node_modules. Returns the plugin's folder.
 */
export function localstackPlugin(): string {
  const prefix = path.join(ROOT, '.cache', 'plugins', `${LOCALSTACK}@${LOCALSTACK_VERSION}`)
  const plugin = path.join(prefix, 'node_modules', LOCALSTACK)
  const complete = path.join(prefix, '.complete')
  if (!existsSync(complete)) {
    execFileSync(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', `${LOCALSTACK}@${LOCALSTACK_VERSION}`],
      { stdio: 'ignore' }
    )
    const installed = JSON.parse(readFileSync(path.join(plugin, 'package.json'), 'utf8')) as {
      version: string
    }
    if (installed.version !== LOCALSTACK_VERSION)
      throw new Error(`${plugin} is ${installed.version}, not ${LOCALSTACK_VERSION}`)
    writeFileSync(complete, LOCALSTACK_VERSION)
  }
  return plugin
}

export interface Rehearsal {
  /** The rehearsed copy of the service. */
  dir: string
  /** The temp folder that holds it, to remove afterwards. */
  root: string
  /** How the plugin is named in the copy: `serverless-localstack`, or its absolute path. */
  plugin: string
}

/** Copies `__tests__/fixtures/corpus/<name>` to a temp folder and rehearses the copy for `stage`. */
export function rehearse(name: string, options: { stage: string }): Rehearsal {
  const root = mkdtempSync(path.join(os.tmpdir(), `corpus-${name}-`))
  const dir = path.join(root, name)
  cpSync(path.join(CORPUS, name), dir, {
    recursive: true,
    filter: source => !/[/\\](node_modules|\.serverless|__pycache__)([/\\]|$)/.test(source)
  })
  const plugin = existsSync(path.join(dir, 'package.json')) ? localstackPlugin() : LOCALSTACK
  const yaml = ['serverless.yml', 'serverless.yaml'].map(file => path.join(dir, file)).find(existsSync)
  if (yaml) rehearseYaml(yaml, plugin, options.stage)
  else if (existsSync(path.join(dir, 'serverless.js'))) rehearseJs(dir, plugin, options.stage)
  else throw new Error(`${name} has no serverless.yml, serverless.yaml or serverless.js`)
  return { dir, root, plugin }
}

/** The YAML configuration edited as a document, so that comments and `${...}` variables stay as written. */
export function rehearseYaml(file: string, plugin: string, stage: string): void {
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'))
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`)
  const plugins = doc.get('plugins', true)
  const item = doc.createNode(plugin)
  item.comment = ' rehearsal: reaches moto through AWS_ENDPOINT_URL'
  if (plugins === undefined) doc.set('plugins', doc.createNode([]))
  else if (!YAML.isSeq(plugins))
    throw new Error(`${file}: plugins is not a list; rehearse handles lists only`)
  ;(doc.get('plugins', true) as YAML.YAMLSeq).add(item)
  if (!YAML.isMap(doc.get('provider', true))) throw new Error(`${file}: provider is not a mapping`)
  doc.setIn(['provider', 'deploymentMethod'], 'direct')
  const custom = doc.get('custom', true)
  if (custom === undefined) doc.set('custom', doc.createNode({}))
  else if (!YAML.isMap(custom)) throw new Error(`${file}: custom is not a mapping`)
  doc.setIn(['custom', 'localstack'], doc.createNode({ stages: [stage], autostart: false }))
  writeFileSync(file, doc.toString())
}

/**
 * A JavaScript configuration cannot be edited as data: the service's own serverless.js moves beside
 * it as serverless.own.js (same folder, so its relative requires still work), and a serverless.js
 * that loads it and adds the rehearsal takes its place.
 */
export function rehearseJs(dir: string, plugin: string, stage: string): void {
  renameSync(path.join(dir, 'serverless.js'), path.join(dir, OWN_JS_CONFIG))
  const wrapper = `'use strict'
// Rehearsal against moto, written by __tests__/support/rehearse.ts: the service's own configuration
// (${OWN_JS_CONFIG}) with the serverless-localstack plugin and direct deployments.
module.exports = Promise.resolve(require('./${OWN_JS_CONFIG}')).then(config => ({
  ...config,
  provider: { ...config.provider, deploymentMethod: 'direct' },
  plugins: [...(config.plugins || []), ${JSON.stringify(plugin)}],
  custom: { ...config.custom, localstack: { stages: [${JSON.stringify(stage)}], autostart: false } }
}))
`
  writeFileSync(path.join(dir, 'serverless.js'), wrapper)
}
