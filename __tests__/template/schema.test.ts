// The template collection and every devcontainer.json against the official Dev Container schemas
// (copied in schemas/devcontainers, see SOURCE.md there), plus the rules the schemas cannot express.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { Ajv2019 } from 'ajv/dist/2019.js'
import addFormatsModule from 'ajv-formats'
import semver from 'semver'
import {
  REPO_ROOT,
  SCHEMAS_DIR,
  TEMPLATE_DIR,
  applyTemplate,
  listFiles,
  optionNamesIn,
  readJson,
  readJsonc,
  readTemplateMetadata,
  removeDir,
  templateDirs
} from './helpers.js'

// ajv-formats is CommonJS (module.exports is the plugin, also under .default): accept either shape.
type FormatsPlugin = (ajv: Ajv) => Ajv
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin)

const schema = (name: string): Record<string, unknown> => readJson(join(SCHEMAS_DIR, name))
const describeErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? []).map(e => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('\n')

function templateValidator(): ValidateFunction {
  const templateSchema = schema('devContainerTemplate.schema.json')
  expect(templateSchema.$schema).toBe('http://json-schema.org/draft-07/schema#')
  const ajv = new Ajv({ allErrors: true, strict: false })
  addFormats(ajv)
  return ajv.compile(templateSchema)
}

function devContainerValidator(): ValidateFunction {
  // devContainer.schema.json = base ∧ two vscode-hosted editor schemas that cannot be resolved offline
  // (one points at vscode:// URIs). Load both, check that shape, and validate against the base.
  const combined = schema('devContainer.schema.json') as { allOf: { $ref: string }[] }
  expect(combined.allOf.map(part => part.$ref)).toContain('./devContainer.base.schema.json')
  const base = schema('devContainer.base.schema.json')
  expect(base.$schema).toBe('https://json-schema.org/draft/2019-09/schema')
  // strict: false because the schema carries editor-only keywords (markdownDescription, deprecationMessage, ...).
  const ajv = new Ajv2019({ allErrors: true, strict: false })
  addFormats(ajv as unknown as Ajv)
  return ajv.compile(base)
}

const templates = templateDirs()
const devcontainerFiles = [
  join(REPO_ROOT, '.devcontainer', 'devcontainer.json'),
  ...templates.map(dir => join(dir, '.devcontainer', 'devcontainer.json'))
]

describe('Dev Container Template metadata', () => {
  const validate = templateValidator()

  it('finds the fastapi-lambda template', () => {
    expect(templates).toContain(TEMPLATE_DIR)
  })

  it('rejects metadata the schema forbids (the validator is live)', () => {
    const metadata = readTemplateMetadata()
    expect(validate({ ...metadata, unknownProperty: true })).toBe(false)
    expect(validate({ ...metadata, options: { x: { type: 'string', description: 'no default' } } })).toBe(
      false
    )
    const withoutVersion: Record<string, unknown> = { ...metadata }
    delete withoutVersion.version
    expect(validate(withoutVersion)).toBe(false)
  })

  describe.each(templates.map(dir => [basename(dir), dir]))('%s', (folder, dir) => {
    const metadata = readTemplateMetadata(dir)

    it('validates against devContainerTemplate.schema.json', () => {
      const valid = validate(metadata)
      if (!valid) throw new Error(describeErrors(validate.errors))
      expect(valid).toBe(true)
    })

    it('has an id equal to its folder name', () => {
      expect(metadata.id).toBe(folder)
    })

    it('has a semver version and the fields the publisher and the index show', () => {
      expect(semver.valid(metadata.version)).toBe(metadata.version)
      for (const field of ['name', 'description', 'documentationURL', 'publisher'] as const) {
        expect(typeof metadata[field]).toBe('string')
        expect((metadata[field] as string).length).toBeGreaterThan(0)
      }
      expect(new URL(metadata.documentationURL as string).protocol).toBe('https:')
      expect(metadata.keywords?.length).toBeGreaterThan(0)
      expect(metadata.platforms?.length).toBeGreaterThan(0)
    })

    it('gives every option a default that is among its proposals', () => {
      const options = Object.entries(metadata.options ?? {})
      expect(options.map(([name]) => name)).toEqual(expect.arrayContaining(['pythonVersion', 'awsRegion']))
      for (const [name, option] of options) {
        expect([name, typeof option.default]).toEqual([name, option.type])
        if (option.proposals) expect(option.proposals).toContain(option.default)
        if (option.enum) expect(option.enum).toContain(option.default)
      }
    })

    it('uses only declared options in ${templateOption:...}, and uses every declared option', () => {
      const declared = Object.keys(metadata.options ?? {})
      const used = new Map<string, string[]>()
      for (const file of listFiles(dir)) {
        for (const name of optionNamesIn(readFileSync(join(dir, file), 'utf8'))) {
          used.set(name, [...(used.get(name) ?? []), file])
        }
      }
      const undeclared = [...used].filter(([name]) => !declared.includes(name))
      expect(undeclared).toEqual([])
      expect(declared.filter(name => !used.has(name))).toEqual([])
    })
  })
})

describe('devcontainer.json files', () => {
  const validate = devContainerValidator()

  it('rejects a configuration the schema forbids (the validator is live)', () => {
    const config = readJsonc<Record<string, unknown>>(devcontainerFiles[0])
    expect(validate({ ...config, remoteUsr: 'node' })).toBe(false)
    expect(validate({ ...config, forwardPorts: ['not a port'] })).toBe(false)
    expect(validate({ ...config, mounts: [{ source: 'x' }] })).toBe(false)
  })

  it.each(devcontainerFiles.map(file => [file.slice(REPO_ROOT.length + 1), file]))(
    '%s parses as JSONC and validates against devContainer.base.schema.json',
    (_name, file) => {
      const config = readJsonc(file)
      const valid = validate(config)
      if (!valid) throw new Error(describeErrors(validate.errors))
      expect(valid).toBe(true)
    }
  )

  it('stays valid once the template is applied with its defaults', () => {
    const dest = mkdtempSync(join(tmpdir(), 'template-schema-'))
    try {
      applyTemplate(dest)
      const config = readJsonc(join(dest, '.devcontainer', 'devcontainer.json'))
      const valid = validate(config)
      if (!valid) throw new Error(describeErrors(validate.errors))
      expect(valid).toBe(true)
    } finally {
      removeDir(dest)
    }
  })
})
