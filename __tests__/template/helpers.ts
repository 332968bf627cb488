// Shared by the template tests: where the template lives, how `devcontainer templates apply` turns it
// into a project, and small readers for its JSONC/YAML files.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const TEMPLATES_SRC = join(REPO_ROOT, 'template', 'src')
export const TEMPLATE_ID = 'fastapi-lambda'
export const TEMPLATE_DIR = join(TEMPLATES_SRC, TEMPLATE_ID)
export const SCHEMAS_DIR = join(REPO_ROOT, '__tests__', 'schemas', 'devcontainers')

/**
 * What `devcontainer templates apply` does, as devcontainers/cli implements it at commit
 * f683c29f64a20109b4453e5149807e390ff65133 (0.88.0; 0.89.0 on npm does the same), read from its source:
 * - src/spec-configuration/containerTemplatesOCI.ts, fetchTemplate: extracts the template's archive into the
 *   workspace, omitting `[...omitPaths, 'devcontainer-template.json', 'README.md', 'NOTES.md']`, then replaces
 *   `${templateOption:x}` in every extracted file (replaceTemplatedValues, the pattern below) with the chosen
 *   value, else the option's default when that is truthy, else ''.
 * - src/spec-configuration/containerCollectionsOCI.ts, getBlob: a name in that list is compared with the whole
 *   path of each archive entry (after dropping "./"), so only the template's top-level README.md is left out:
 *   docs/README.md, where the starter keeps its guide, is copied.
 * apply.test.ts runs the real CLI (devcontainer-cli.ts) and checks that applyTemplate below gives the same
 * files, byte for byte; the quicker tests use applyTemplate.
 */
export const TEMPLATE_OPTION_PATTERN = /\$\{templateOption:\s*(\w+?)\s*\}/g

/** Paths (relative to the template folder) that the CLI leaves out when it applies a template. */
export const OMITTED_ON_APPLY = ['devcontainer-template.json', 'README.md', 'NOTES.md']

/** Directories that are build or install output, never part of the template. */
const GENERATED_DIRS = new Set([
  'node_modules',
  '__pycache__',
  '.pytest_cache',
  '.serverless',
  '.venv',
  'venv'
])

export interface TemplateOption {
  type: 'string' | 'boolean'
  description: string
  default: string | boolean
  proposals?: string[]
  enum?: string[]
}

export interface TemplateMetadata {
  id: string
  version: string
  name: string
  description?: string
  documentationURL?: string
  publisher?: string
  keywords?: string[]
  platforms?: string[]
  options?: Record<string, TemplateOption>
}

/** Parses JSONC the way the devcontainer tooling does, failing on syntax errors instead of guessing. */
export function readJsonc<T = unknown>(file: string): T {
  const errors: ParseError[] = []
  const value = parseJsonc(readFileSync(file, 'utf8'), errors, { allowTrailingComma: false }) as T
  if (errors.length > 0) {
    const messages = errors.map(e => `${printParseErrorCode(e.error)} at offset ${e.offset}`)
    throw new Error(`${file} is not valid JSONC: ${messages.join(', ')}`)
  }
  return value
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T
}

/** Template folders under template/src (each holds a devcontainer-template.json). */
export function templateDirs(): string[] {
  return readdirSync(TEMPLATES_SRC)
    .map(name => join(TEMPLATES_SRC, name))
    .filter(dir => existsSync(join(dir, 'devcontainer-template.json')))
}

export function readTemplateMetadata(dir = TEMPLATE_DIR): TemplateMetadata {
  return readJsonc<TemplateMetadata>(join(dir, 'devcontainer-template.json'))
}

/** Every file of a folder, relative to it, skipping install and build output. */
export function listFiles(dir: string): string[] {
  const files: string[] = []
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!GENERATED_DIRS.has(entry.name)) walk(join(current, entry.name))
      } else if (entry.isFile()) {
        files.push(relative(dir, join(current, entry.name)).split(sep).join('/'))
      }
    }
  }
  walk(dir)
  return files.sort()
}

/** `${templateOption:x}` names used in a text. */
export function optionNamesIn(text: string): string[] {
  return [...text.matchAll(TEMPLATE_OPTION_PATTERN)].map(match => match[1])
}

/** The values `devcontainer templates apply` would use: the given ones, then each option's default. */
export function resolveOptions(
  metadata: TemplateMetadata,
  chosen: Record<string, string> = {}
): Record<string, string> {
  const resolved: Record<string, string> = {}
  for (const [name, option] of Object.entries(metadata.options ?? {})) {
    // Like the CLI: a default is used only when it is truthy.
    if (chosen[name] === undefined && option.default) resolved[name] = String(option.default)
  }
  return { ...resolved, ...chosen }
}

/**
 * Applies the template into `dest` like the devcontainers CLI (see OMITTED_ON_APPLY): copies the folder
 * without the top-level files it omits, then replaces every `${templateOption:x}` in every file (an unknown
 * option becomes '', as in the CLI). Returns the options used.
 */
/**
 * The template's options for runs that package the starter here: this machine's package index has
 * CPython 3.11 wheels only (pydantic-core among them), so they choose 3.11, as the template offers;
 * the default (3.13) is checked by the template's own tests.
 */
export const PACKAGED_HERE = { pythonVersion: '3.11' }

export function applyTemplate(
  dest: string,
  chosen: Record<string, string> = {},
  src = TEMPLATE_DIR
): Record<string, string> {
  const options = resolveOptions(readTemplateMetadata(src), chosen)
  mkdirSync(dest, { recursive: true })
  for (const file of listFiles(src)) {
    if (OMITTED_ON_APPLY.includes(file)) continue
    const target = join(dest, file)
    mkdirSync(dirname(target), { recursive: true })
    cpSync(join(src, file), target)
    const text = readFileSync(target, 'utf8')
    const replaced = text.replace(TEMPLATE_OPTION_PATTERN, (_match, name: string) => options[name] ?? '')
    if (replaced !== text) writeFileSync(target, replaced)
  }
  return options
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export { freePort } from '../support/moto.js'
