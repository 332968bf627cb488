/**
 * Python's `json.dumps(value, sort_keys=True, ...)` byte for byte: pipenv and Poetry hash their
 * manifests' content in this form, so a lock's recorded hash can only be checked by writing it the
 * same way. Differences from JSON.stringify: keys sorted, `ensure_ascii` escapes, Python's float
 * repr, and the separators each tool passes.
 */

export interface DumpOptions {
  /** Between items and between key and value: pipenv `(',', ':')`, Poetry Python's default `(', ', ': ')`. */
  separators: [string, string]
}

function escapeString(text: string): string {
  // JSON.stringify escapes quotes, backslashes and control characters as Python does (lowercase
  // \u00XX); ensure_ascii also escapes every non-ASCII UTF-16 unit.
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  )
}

function floatRepr(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity'
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`
  // Python writes exponents with a sign and two digits (1e-07, 1e+16); JavaScript as 1e-7, 1e+16.
  return String(value).replace(/e([+-])(\d)$/, 'e$10$2')
}

export function pythonJsonDumps(value: unknown, options: DumpOptions): string {
  const [item, key] = options.separators
  const dump = (v: unknown): string => {
    if (v === null || v === undefined) return 'null'
    if (v === true) return 'true'
    if (v === false) return 'false'
    if (typeof v === 'bigint') return v.toString()
    if (typeof v === 'number') return floatRepr(v)
    if (typeof v === 'string') return escapeString(v)
    if (Array.isArray(v)) return `[${v.map(dump).join(item)}]`
    if (v instanceof Date) throw new Error('A date in a TOML manifest has no JSON form')
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    )
    return `{${entries.map(([k, val]) => `${escapeString(k)}${key}${dump(val)}`).join(item)}}`
  }
  return dump(value)
}
