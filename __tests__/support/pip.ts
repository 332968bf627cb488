export { localPipIndexEnv, pipEnv, SHARED_WHEELS } from './pip-index.mjs'
