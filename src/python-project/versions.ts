/**
 * PEP 440 versions, as far as lockfiles need them: comparing the versions that markers and
 * specifiers name. A string that is no PEP 440 version compares as text, as `packaging` does for
 * markers (`===` and the legacy fallback).
 */

export interface Version {
  epoch: number
  release: number[]
  /** `a`, `b` or `rc` with its number. */
  pre?: [string, number]
  post?: number
  dev?: number
  local?: string
}

const PATTERN =
  /^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i

const PRE: Record<string, string> = {
  a: 'a',
  alpha: 'a',
  b: 'b',
  beta: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc'
}

export function parseVersion(text: string): Version | undefined {
  const m = PATTERN.exec(text)
  if (!m) return undefined
  const version: Version = { epoch: Number(m[1] ?? 0), release: m[2]!.split('.').map(Number) }
  if (m[3]) version.pre = [PRE[m[3].toLowerCase()]!, Number(m[4] ?? 0)]
  if (m[5] !== undefined) version.post = Number(m[5])
  else if (m[6]) version.post = Number(m[7] ?? 0)
  if (m[8]) version.dev = Number(m[9] ?? 0)
  if (m[10]) version.local = m[10].toLowerCase().replace(/[-_]/g, '.')
  return version
}

function compareRelease(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

// The order PEP 440 gives a release's phases: dev < pre < (release) < post.
function phase(v: Version): number[] {
  const pre = v.pre ? ['a', 'b', 'rc'].indexOf(v.pre[0]) : undefined
  // A dev release of a final version sorts before its pre-releases.
  const preKey =
    pre !== undefined ? [pre, v.pre![1]] : v.dev !== undefined && v.post === undefined ? [-1, 0] : [3, 0]
  const postKey = v.post !== undefined ? [1, v.post] : [0, 0]
  const devKey = v.dev !== undefined ? [0, v.dev] : [1, 0]
  return [...preKey, ...postKey, ...devKey]
}

function compareLocal(a?: string, b?: string): number {
  if (a === b) return 0
  if (a === undefined) return -1
  if (b === undefined) return 1
  const x = a.split('.')
  const y = b.split('.')
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i]
    const q = y[i]
    if (p === undefined) return -1
    if (q === undefined) return 1
    const pn = /^\d+$/.test(p)
    const qn = /^\d+$/.test(q)
    if (pn && qn && Number(p) !== Number(q)) return Math.sign(Number(p) - Number(q))
    if (pn !== qn) return pn ? 1 : -1
    if (p !== q) return p < q ? -1 : 1
  }
  return 0
}

export function compareVersions(a: Version, b: Version): number {
  if (a.epoch !== b.epoch) return Math.sign(a.epoch - b.epoch)
  const release = compareRelease(a.release, b.release)
  if (release !== 0) return release
  const pa = phase(a)
  const pb = phase(b)
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return Math.sign(pa[i]! - pb[i]!)
  return compareLocal(a.local, b.local)
}

/** Whether `candidate` satisfies one PEP 440 clause (`>=3.9`, `==3.*`, `~=1.4.2`). */
export function satisfies(candidate: string, op: string, target: string): boolean {
  if (op === '===') return candidate === target
  const v = parseVersion(candidate)
  if (!v) return op === '==' ? candidate === target : op === '!=' ? candidate !== target : false
  if ((op === '==' || op === '!=') && target.endsWith('.*')) {
    const prefix = parseVersion(target.slice(0, -2))
    if (!prefix) return false
    const head = v.release.slice(0, prefix.release.length)
    while (head.length < prefix.release.length) head.push(0)
    const same = v.epoch === prefix.epoch && compareRelease(head, prefix.release) === 0
    return op === '==' ? same : !same
  }
  const t = parseVersion(target)
  if (!t) return false
  // A local label on the candidate is ignored unless the clause names one.
  const c = compareVersions(t.local === undefined ? { ...v, local: undefined } : v, t)
  switch (op) {
    case '==':
      return c === 0
    case '!=':
      return c !== 0
    case '<=':
      return c <= 0
    case '>=':
      return c >= 0
    case '<':
      // `<3.11` excludes 3.11's pre-releases unless the clause is one itself.
      return (
        c < 0 && !(t.pre === undefined && v.pre !== undefined && compareRelease(v.release, t.release) === 0)
      )
    case '>':
      return (
        c > 0 && !(t.post === undefined && v.post !== undefined && compareRelease(v.release, t.release) === 0)
      )
    case '~=': {
      if (t.release.length < 2 || c < 0) return false
      const prefix = t.release.slice(0, -1)
      return compareRelease(v.release.slice(0, prefix.length), prefix) === 0
    }
    default:
      return false
  }
}

/** Whether a version satisfies a comma-separated PEP 440 specifier set (`>=3.9,<4`); empty allows all. */
export function satisfiesAll(candidate: string, specifiers: string): boolean {
  return specifiers
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .every(clause => {
      const m = /^(===|~=|==|!=|<=|>=|<|>)\s*(.+)$/.exec(clause)
      return m ? satisfies(candidate, m[1]!, m[2]!.trim()) : false
    })
}
