/**
 * The job summary the action writes is HTML for GitHub's page. These read it back: its tables as rows
 * (for the benchmark's phase times), and the whole of it as plain text for a terminal (the demo).
 */

const decode = (text: string) =>
  text
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')

/** Each table of the summary, under the heading before it, as rows of cells. */
export function summaryTables(html: string): { heading: string; rows: string[][] }[] {
  const tables: { heading: string; rows: string[][] }[] = []
  const parts = html.split(/(<h\d>[\s\S]*?<\/h\d>|<table>[\s\S]*?<\/table>)/)
  let heading = ''
  for (const part of parts) {
    if (/^<h\d>/.test(part)) heading = decode(part).trim()
    if (/^<table>/.test(part)) {
      const rows = [...part.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(row =>
        [...row[1].matchAll(/<t[hd]>([\s\S]*?)<\/t[hd]>/g)].map(cell => decode(cell[1]).trim())
      )
      tables.push({ heading, rows })
    }
  }
  return tables
}

/** The phase times of a run, from the summary's Time table. */
export function phaseTimes(html: string): Record<string, number> {
  const time = summaryTables(html).find(table => table.heading === 'Time')
  return Object.fromEntries((time?.rows.slice(1) ?? []).map(([name, seconds]) => [name, Number(seconds)]))
}

/** The summary as text: headings, aligned tables, quotes and code blocks. */
export function summaryText(html: string): string {
  const out: string[] = []
  const parts = html.split(
    /(<h\d>[\s\S]*?<\/h\d>|<table>[\s\S]*?<\/table>|<blockquote>[\s\S]*?<\/blockquote>|<pre[\s\S]*?<\/pre>)/
  )
  for (const part of parts) {
    if (/^<h\d>/.test(part)) out.push('', decode(part).trim())
    else if (/^<table>/.test(part)) {
      const rows = summaryTables(part)[0]?.rows ?? []
      const width = Math.max(...rows.map(row => row[0]?.length ?? 0))
      for (const [key, ...rest] of rows) out.push(`  ${key.padEnd(width)}  ${rest.join('  ')}`)
    } else if (/^<blockquote>/.test(part))
      out.push(
        ...decode(part)
          .trim()
          .split('\n')
          .map(line => `  > ${line}`)
      )
    else if (/^<pre/.test(part))
      out.push(
        ...decode(part)
          .trim()
          .split('\n')
          .map(line => `    ${line}`)
      )
  }
  return out.join('\n').trim()
}
