// The one place the versions the action and the devcontainer template agree on are written down.
// __tests__/versions.test.ts fails when the template, action.yml or this file drift apart.

/** Node major of the runner (`runs.using: node24`) and of the template's image. */
export const NODE_MAJOR = 24

/** Python used by the template's starter service (its `pythonVersion` default and `provider.runtime`). */
export const DEFAULT_PYTHON_VERSION = '3.11'

/** Lambda's Python runtimes this action can install and deploy. */
export const LAMBDA_PYTHON_VERSIONS = ['3.10', '3.11', '3.12', '3.13', '3.14'] as const

/** Serverless Framework given to a service that does not bring its own. */
export const SERVERLESS_VERSION = '3.40.0'

/** Plugin lines that still support Serverless v3, used when the service does not install them itself. */
export const PLUGIN_VERSIONS: Readonly<Record<string, string>> = {
  'serverless-python-requirements': '6.1.2',
  'serverless-offline': '13.9.0',
  'serverless-localstack': '1.4.0'
}
