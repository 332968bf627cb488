import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Files the action runs as they are: its Python programs (py/) and the Node preload (preload/). They
 * are real files, linted and tested on their own, and `npm run bundle` copies them beside dist/index.js,
 * where this finds them in the bundle as it finds them beside src/ in the tests.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url))

export function asset(...parts: string[]): string {
  return path.join(HERE, ...parts)
}
