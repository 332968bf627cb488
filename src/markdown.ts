/**
 * Text from a pull request's template and from the change set (logical IDs, route keys, ARNs,
 * values) made inert in GitHub Markdown, in a table cell as in a list item.
 *
 * Code spans cannot do this: a backtick inside one cannot be escaped, and a `<!--` inside one is
 * still in the comment's raw body, where the sticky comment's hidden marker is looked for. So the
 * text stays plain: HTML's three special characters become entities (no tags, comments or `-->`),
 * Markdown's punctuation is backslash-escaped (no emphasis, links, images, code, tables' `|`,
 * headings or lists), line breaks and other control characters become spaces, bidirectional
 * overrides are dropped, and a zero-width space follows `@`, `#`, `://` and `www`, which GitHub
 * would otherwise turn into mentions, issue references and links after rendering.
 */

const ZERO_WIDTH_SPACE = '\u200B'
// Matching control characters is the point here.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g
const BIDI = /[\u200E\u200F\u202A-\u202E\u2066-\u2069]/g
const PUNCTUATION = /[\\`*_[\](){}!|~#$+\-.:^=]/g

export function escapeMarkdown(text: string): string {
  return text
    .replace(CONTROL, ' ')
    .replace(BIDI, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(PUNCTUATION, character => `\\${character}`)
    .replace(/@/g, `@${ZERO_WIDTH_SPACE}`)
    .replace(/#/g, `#${ZERO_WIDTH_SPACE}`)
    .replace(/\\:\/\//g, `\\:${ZERO_WIDTH_SPACE}//`)
    .replace(/(www)(\\\.)/gi, `$1${ZERO_WIDTH_SPACE}$2`)
}

/** Untrusted text in monospace: GitHub links nothing inside `<code>`, and the text is escaped besides. */
export function code(text: string, max = 120): string {
  return `<code>${escapeMarkdown(clip(text, max))}</code>`
}

/** At most `max` characters, the cut marked. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text
}

export function bytes(value: number): string {
  if (value < 1024) return `${value} B`
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KB`
  return `${(value / 1024 / 1024).toFixed(1)} MB`
}
