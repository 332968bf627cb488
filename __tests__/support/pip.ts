export { localPipIndexEnv } from './pip-index.mjs'
