import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { PRE_CHECKS, RULES } from '../../src/diagnosis.js'
import { ROOT } from '../support/runner.js'

interface ActionYml {
  inputs: Record<string, { description: string; default?: string }>
  outputs: Record<string, { description: string }>
}

const action = YAML.parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as ActionYml
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')

/** The rows of the first table after a heading, as cells. */
function table(heading: string): string[][] {
  const section = (readme.split(new RegExp(`^#+ ${heading}$`, 'm'))[1] ?? '').split('\n')
  const start = section.findIndex(line => line.startsWith('|'))
  const end = section.findIndex((line, i) => i > start && !line.startsWith('|'))
  return section.slice(start + 2, end).map(line =>
    line
      .split('|')
      .slice(1, -1)
      .map(cell => cell.trim())
  )
}

const unquote = (cell: string) => cell.replace(/^`|`$/g, '')

describe('README tables equal action.yml', () => {
  it('inputs: names, defaults and descriptions', () => {
    const rows = table('Inputs').map(([name, value, description]) => [
      unquote(name),
      unquote(value),
      description
    ])
    const expected = Object.entries(action.inputs).map(([name, input]) => [
      name,
      input.default ?? '',
      input.description
    ])
    expect(rows).toEqual(expected)
  })

  it('outputs: names and descriptions', () => {
    const rows = table('Outputs').map(([name, description]) => [unquote(name), description])
    expect(rows).toEqual(Object.entries(action.outputs).map(([name, output]) => [name, output.description]))
  })

  it('action.yml runs dist/index.js on node24, and saves caches in a post step on success', () => {
    expect(
      (YAML.parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as { runs: unknown }).runs
    ).toEqual({
      using: 'node24',
      main: 'dist/index.js',
      post: 'dist/post/index.js',
      'post-if': 'success()'
    })
  })
})

/**
 * The README's troubleshooting section, as the diagnosis table and the action's own pre-checks say it:
 * the README holds exactly this, so a rule cannot change without its documentation.
 */
function troubleshooting(): string {
  const rules = RULES.map(rule =>
    [
      `### ${rule.title}`,
      '',
      `- **Symptom:** \`${rule.symptom}\``,
      `- **Cause:** ${rule.cause}`,
      `- **Fix:** ${rule.fix}`
    ].join('\n')
  )
  const checks = PRE_CHECKS.map(check =>
    [
      `### ${check.title}`,
      '',
      `- **Symptom:** \`${check.symptom}\``,
      `- **What the action does:** ${check.action}`,
      `- **Fix:** ${check.fix}`
    ].join('\n')
  )
  return [
    '## Troubleshooting',
    '',
    'Every failure ends the run with exit code 1 and one error annotation: a title, the cause and the fix, on the',
    'file and line to change where there is one. Bad input (every input above, and a `serverless.yml` that does not',
    'parse, is not a Python service on AWS, or asks for another Serverless than v3) stops the run before anything is',
    'installed or deployed. What Serverless, pip, Docker and AWS report is recognised by its symptom, below; anything',
    "else is shown as Serverless' own error, whole. The raw output stays in the step's log groups.",
    '',
    ...rules.flatMap(rule => [rule, '']),
    '### What the action checks about the stack itself',
    '',
    'The action reads the stack before it runs serverless, and stops or acts on what it finds:',
    '',
    ...checks.flatMap(check => [check.replace(/^### /, '#### '), '']),
    ''
  ].join('\n')
}

describe('README troubleshooting equals the diagnosis table', () => {
  const section = (() => {
    const start = readme.indexOf('\n## Troubleshooting\n')
    const end = readme.indexOf('\n## Development\n')
    return start >= 0 && end > start ? readme.slice(start + 1, end + 1) : ''
  })()

  it('stands just before Development, and is what RULES and PRE_CHECKS say, word for word', () => {
    expect(section).not.toBe('')
    expect(section).toBe(troubleshooting())
  })

  it("lists each rule's title, symptom and fix, and each pre-check's", () => {
    // The same, said as the issue asks it: a finer failure message than the whole section's diff.
    for (const entry of [...RULES, ...PRE_CHECKS]) {
      const heading = section
        .split('\n')
        .findIndex(line => /^#{3,4} /.test(line) && line.endsWith(` ${entry.title}`))
      expect({ title: entry.title, found: heading >= 0 }).toEqual({ title: entry.title, found: true })
      const body = section
        .split('\n')
        .slice(heading + 1, heading + 6)
        .join('\n')
      expect(body).toContain(`- **Symptom:** \`${entry.symptom}\``)
      expect(body).toContain(`- **Fix:** ${entry.fix}`)
    }
  })
})

describe('README performance table equals bench/results.json', () => {
  it('reports each key with the value and target the committed bench wrote', () => {
    const results = JSON.parse(readFileSync(path.join(ROOT, 'bench', 'results.json'), 'utf8')) as Record<
      string,
      unknown
    > & { targets: Record<string, string> }
    const section = readme.slice(readme.indexOf('## Performance'), readme.indexOf('## Troubleshooting'))
    const rows = Object.fromEntries(
      [...section.matchAll(/^\| `(\w+)` \| [^|]+ \| ([\d.]+) \| ([^|]+) \| (\w+) \|$/gm)].map(m => [
        m[1],
        { value: Number(m[2]), target: m[3].trim(), met: m[4] }
      ])
    )
    expect(Object.keys(rows).sort()).toEqual(Object.keys(results.targets).sort())
    for (const [key, target] of Object.entries(results.targets)) {
      const value = results[key] as number
      const [op, bound] = target.split(' ')
      const met = op === '<=' ? value <= Number(bound) : value >= Number(bound)
      expect({ key, ...rows[key] }).toEqual({
        key,
        value,
        target: target.replace('<=', '≤').replace('>=', '≥'),
        met: met ? 'yes' : 'no'
      })
    }
  })
})

describe("SECURITY.md's claims table", () => {
  const security = readFileSync(path.join(ROOT, 'SECURITY.md'), 'utf8')
  const rows = security
    .split('\n## ')
    .join('\n### ')
    .split(/^### Claims and the tests that prove them$/m)[1]
    ?.split('\n')
    .filter(line => line.startsWith('| ') && !line.startsWith('| Claim') && !line.startsWith('| ---'))
    .map(line => line.split(' | ').slice(-1)[0].replace(/ \|$/, ''))

  it('names, for each claim, test files that exist and tests they hold', () => {
    expect(rows?.length).toBeGreaterThan(10)
    for (const cell of rows ?? []) {
      // A part without a file of its own names tests of the part before it.
      let file: string | undefined
      for (const part of cell.split(/;\s*/)) {
        const files = [...part.matchAll(/`([^`]+\.test\.ts)`/g)].map(match => match[1])
        for (const named of files)
          expect({ named, exists: existsSync(path.join(ROOT, named)) }).toEqual({ named, exists: true })
        file = files[0] ?? file
        expect({ cell, file: Boolean(file) }).toEqual({ cell, file: true })
        const source = readFileSync(path.join(ROOT, file as string), 'utf8')
        // "› name…": the test's name as the file spells it, up to the ellipsis.
        for (const [, name] of part.matchAll(/› ([^›;]+?)(?:…|$)/g))
          expect({ file, name, found: source.includes(name.trim()) }).toEqual({
            file,
            name,
            found: true
          })
      }
    }
  })
})
