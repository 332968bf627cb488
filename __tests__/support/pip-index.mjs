import { execFileSync } from 'node:child_process'

/**
 * pip tries the public index before the local ones configured on these machines and waits out its
 * retries for every lookup, so tests point PIP_INDEX_URL at the first local index where there is one.
 * On a machine with the public index and no local one this returns an empty object.
 * Plain JavaScript because jest's globalSetup loads it without the TypeScript transform.
 * @returns {Record<string, string>}
 */
export function localPipIndexEnv() {
  let listing
  try {
    listing = execFileSync('python3', ['-m', 'pip', 'config', 'list'], { encoding: 'utf8' })
  } catch {
    return {}
  }
  for (const line of listing.split('\n')) {
    const match = /index-url='([^']*)'/.exec(line)
    if (!match) continue
    const local = match[1].split(/\s+/).find(url => /^file:|^https?:\/\/(localhost|127\.)/.test(url))
    if (local) return { PIP_INDEX_URL: local }
  }
  return {}
}
