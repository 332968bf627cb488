import { readFileSync } from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
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
