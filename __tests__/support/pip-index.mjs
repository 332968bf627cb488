import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The find-links wheelhouse beside this repository that holds what the local index lacks (mangum). */
export const SHARED_WHEELS = path.resolve(ROOT, '..', 'shared', 'wheels')

function pipConfig() {
  try {
    return execFileSync('python3', ['-m', 'pip', 'config', 'list'], { encoding: 'utf8' })
  } catch {
    return ''
  }
}

/**
 * pip tries the public index before the local ones configured on these machines and waits out its
 * retries for every lookup, so tests point PIP_INDEX_URL at the first local index where there is one.
 * On a machine with the public index and no local one this returns an empty object.
 * Plain JavaScript because jest's globalSetup loads it without the TypeScript transform.
 * @returns {Record<string, string>}
 */
export function localPipIndexEnv() {
  for (const line of pipConfig().split('\n')) {
    const match = /index-url='([^']*)'/.exec(line)
    if (!match) continue
    const local = match[1].split(/\s+/).find(url => /^file:|^https?:\/\/(localhost|127\.)/.test(url))
    if (local) return { PIP_INDEX_URL: local }
  }
  return {}
}

/**
 * What pip needs on these machines: the local index, and the shared wheelhouse as find-links where
 * it exists (beside the find-links pip's own configuration names: the variable replaces them).
 * pip reads both variables natively, so nothing in src/ knows either.
 * @returns {Record<string, string>}
 */
export function pipEnv() {
  const env = localPipIndexEnv()
  if (existsSync(SHARED_WHEELS)) {
    const configured = pipConfig()
      .split('\n')
      .map(line => /find-links='([^']*)'/.exec(line)?.[1])
      .filter(Boolean)
      .flatMap(value => value.split(/\s+/))
    env.PIP_FIND_LINKS = [SHARED_WHEELS, ...new Set(configured)].join(' ')
  }
  return env
}
