import { satisfies } from './versions.js'

/**
 * PEP 508 environment markers as the lockfiles write them, kept in disjunctive normal form: a marker
 * is a list of alternatives, each a list of comparisons that must all hold. That is enough to combine
 * the markers along dependency paths (and, or), to drop paths that can never hold, and to evaluate a
 * marker for Lambda. It is not uv's or Poetry's canonical form: the same condition may be written
 * differently, so callers compare markers by what they select, never as text.
 */

export interface Atom {
  variable: string
  op: string
  value: string
  /** `'linux' in sys_platform`: the literal stands on the left. */
  reversed?: boolean
}

/** Alternatives of conjunctions; `[]` never holds, `[[]]` always does. */
export type Marker = Atom[][]

export const TRUE: Marker = [[]]
export const FALSE: Marker = []

const VERSION_VARIABLES = new Set(['python_version', 'python_full_version', 'implementation_version'])
const OPS = ['===', '~=', '==', '!=', '<=', '>=', '<', '>', 'not in', 'in']

function atomKey(atom: Atom): string {
  return atom.reversed
    ? `'${atom.value}' ${atom.op} ${atom.variable}`
    : `${atom.variable} ${atom.op} '${atom.value}'`
}

function tokenize(text: string): string[] {
  const tokens: string[] = []
  const re =
    /\s*(\(|\)|'[^']*'|"[^"]*"|===|~=|==|!=|<=|>=|<|>|not\s+in\b|in\b|and\b|or\b|[A-Za-z_][A-Za-z0-9_.]*)/y
  let at = 0
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break
    re.lastIndex = at
    const m = re.exec(text)
    if (!m) throw new Error(`Cannot parse marker '${text}' at ${at}`)
    tokens.push(m[1]!.replace(/^not\s+in$/, 'not in'))
    at = re.lastIndex
  }
  return tokens
}

/** Parses a PEP 508 marker (either quote style); an empty one always holds. */
export function parseMarker(text: string | undefined): Marker {
  if (!text || !text.trim()) return TRUE
  const tokens = tokenize(text)
  let i = 0
  const peek = (): string | undefined => tokens[i]
  const isLiteral = (t: string): boolean => t.startsWith("'") || t.startsWith('"')
  function atom(): Marker {
    if (peek() === '(') {
      i++
      const inner = or()
      if (tokens[i++] !== ')') throw new Error(`Unbalanced parentheses in marker '${text}'`)
      return inner
    }
    const left = tokens[i++]
    const op = tokens[i++]
    const right = tokens[i++]
    if (!left || !op || !right || !OPS.includes(op)) throw new Error(`Cannot parse marker '${text}'`)
    if (isLiteral(left) && !isLiteral(right)) {
      // `'3.9' < python_version` is `python_version > '3.9'`; `in` keeps its side.
      const flip: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=' }
      const value = left.slice(1, -1)
      if (op === 'in' || op === 'not in') return [[{ variable: right, op, value, reversed: true }]]
      return [[normalize({ variable: right, op: flip[op] ?? op, value })]]
    }
    if (!isLiteral(right)) throw new Error(`Cannot parse marker '${text}'`)
    return [[normalize({ variable: left, op, value: right.slice(1, -1) })]]
  }
  function and(): Marker {
    let result = atom()
    while (peek() === 'and') {
      i++
      result = andMarkers(result, atom())
    }
    return result
  }
  function or(): Marker {
    let result = and()
    while (peek() === 'or') {
      i++
      result = orMarkers(result, and())
    }
    return result
  }
  const result = or()
  if (i !== tokens.length) throw new Error(`Cannot parse marker '${text}'`)
  return result
}

function normalize(atom: Atom): Atom {
  // Extras compare normalized (PEP 685); the legacy dotted names are today's.
  const variable =
    {
      os: 'os_name',
      'os.name': 'os_name',
      'sys.platform': 'sys_platform',
      'platform.version': 'platform_version',
      'platform.machine': 'platform_machine',
      'platform.python_implementation': 'platform_python_implementation'
    }[atom.variable] ?? atom.variable
  const value = variable === 'extra' ? atom.value.toLowerCase().replace(/[-_.]+/g, '-') : atom.value
  return { ...atom, variable, value }
}

function canonical(conj: Atom[]): Atom[] {
  const byKey = new Map(conj.map(a => [atomKey(a), a]))
  return [...byKey.keys()].sort().map(k => byKey.get(k)!)
}

function absorb(alternatives: Atom[][]): Marker {
  const keyed = alternatives.map(conj => {
    const c = canonical(conj)
    return { c, keys: new Set(c.map(atomKey)) }
  })
  keyed.sort((a, b) => a.keys.size - b.keys.size)
  const kept: typeof keyed = []
  for (const item of keyed) {
    if (kept.some(k => [...k.keys].every(key => item.keys.has(key)))) continue
    kept.push(item)
  }
  return kept
    .map(k => k.c)
    .sort((a, b) => a.map(atomKey).join(' and ').localeCompare(b.map(atomKey).join(' and ')))
}

export function orMarkers(a: Marker, b: Marker): Marker {
  return absorb([...a, ...b])
}

export function andMarkers(a: Marker, b: Marker): Marker {
  const product: Atom[][] = []
  for (const x of a)
    for (const y of b) {
      const conj = [...x, ...y]
      if (satisfiable(conj)) product.push(conj)
    }
  return absorb(product)
}

export function isFalse(marker: Marker): boolean {
  return marker.length === 0
}

export function isTrue(marker: Marker): boolean {
  return marker.some(conj => conj.length === 0)
}

export function sameMarker(a: Marker, b: Marker): boolean {
  return renderMarker(a) === renderMarker(b)
}

function quoteValue(value: string): string {
  return value.includes("'") ? `"${value}"` : `'${value}'`
}

function renderAtom(atom: Atom): string {
  return atom.reversed
    ? `${quoteValue(atom.value)} ${atom.op} ${atom.variable}`
    : `${atom.variable} ${atom.op} ${quoteValue(atom.value)}`
}

/** The marker as PEP 508 text; undefined when it always holds. */
export function renderMarker(marker: Marker): string | undefined {
  if (isTrue(marker)) return undefined
  if (isFalse(marker)) return "python_version < '0'"
  const parts = marker.map(conj => conj.map(renderAtom).join(' and '))
  return parts.length === 1 ? parts[0] : parts.map(p => (p.includes(' and ') ? `(${p})` : p)).join(' or ')
}

/** A marker environment: PEP 508's variables; a missing one is unknown. */
export interface Environment {
  [variable: string]: string | string[] | undefined
  /** The extras requested; `extra` atoms are unknown without it. */
  extras?: string[]
}

/** true, false, or undefined when the environment lacks the variable. */
export function evaluateAtom(atom: Atom, env: Environment): boolean | undefined {
  if (atom.variable === 'extra') {
    if (!env.extras) return undefined
    const has = env.extras.map(e => e.toLowerCase().replace(/[-_.]+/g, '-')).includes(atom.value)
    if (atom.op === '==') return has
    if (atom.op === '!=') return !has
    return undefined
  }
  const actual = env[atom.variable]
  if (typeof actual !== 'string') return undefined
  if (atom.reversed) {
    const inside = actual.includes(atom.value)
    return atom.op === 'in' ? inside : !inside
  }
  switch (atom.op) {
    case 'in':
      return atom.value.includes(actual)
    case 'not in':
      return !atom.value.includes(actual)
  }
  if (VERSION_VARIABLES.has(atom.variable) || /^[\d.*]+$/.test(atom.value)) {
    if (atom.op === '==' || atom.op === '!=') {
      if (!VERSION_VARIABLES.has(atom.variable) && !/^\d/.test(actual))
        return (actual === atom.value) === (atom.op === '==')
    }
    return satisfies(actual, atom.op, atom.value)
  }
  if (atom.op === '==') return actual === atom.value
  if (atom.op === '!=') return actual !== atom.value
  return satisfies(actual, atom.op, atom.value)
}

/** Whether the marker holds in a fully known environment. */
export function evaluateMarker(marker: Marker, env: Environment): boolean {
  return marker.some(conj => conj.every(atom => evaluateAtom(atom, env) === true))
}

/**
 * What is left of a marker once the known variables are put in: TRUE, FALSE, or the alternatives
 * that still depend on the unknown ones. `decide` may settle an atom the environment cannot (a
 * full Python version known only to its minor).
 */
export function partialEvaluate(
  marker: Marker,
  env: Environment,
  decide: (atom: Atom) => boolean | undefined = () => undefined
): Marker {
  const left: Atom[][] = []
  for (const conj of marker) {
    const rest: Atom[] = []
    let dead = false
    for (const atom of conj) {
      const value = evaluateAtom(atom, env) ?? decide(atom)
      if (value === false) {
        dead = true
        break
      }
      if (value === undefined) rest.push(atom)
    }
    if (!dead) left.push(rest)
  }
  return absorb(left)
}

// A conjunction can hold when every variable it names has one value that meets all its atoms on
// that variable. python_version and python_full_version are one variable; others are independent.
function satisfiable(conj: Atom[]): boolean {
  const groups = new Map<string, Atom[]>()
  for (const atom of conj) {
    const key = atom.variable === 'python_version' ? 'python_full_version' : atom.variable
    groups.set(key, [...(groups.get(key) ?? []), atom])
  }
  for (const [variable, atoms] of groups) {
    if (atoms.length < 2) continue
    const candidates =
      variable === 'python_full_version' || variable === 'implementation_version'
        ? pythonCandidates(atoms)
        : [...atoms.map(a => a.value), '\u0000other']
    const holds = candidates.some(value =>
      atoms.every(atom => {
        const env: Environment =
          atom.variable === 'extra'
            ? { extras: [value] }
            : atom.variable === 'python_version'
              ? { python_version: value.split('.').slice(0, 2).join('.') }
              : { [atom.variable]: value }
        return evaluateAtom(atom, env) !== false
      })
    )
    if (!holds) return false
  }
  return true
}

function pythonCandidates(atoms: Atom[]): string[] {
  const out = new Set<string>()
  for (const atom of atoms) {
    const parts = atom.value.replace(/\.\*$/, '').split('.').map(Number)
    if (parts.some(Number.isNaN)) continue
    const [major = 3, minor = 0, patch = 0] = parts
    for (const [a, b, c] of [
      [major, minor, patch],
      [major, minor, patch + 1],
      [major, minor + 1, 0],
      [major, Math.max(minor - 1, 0), 99],
      [major, minor, Math.max(patch - 1, 0)]
    ])
      out.add(`${a}.${b}.${c}`)
  }
  return [...out]
}
