// The one place the versions the action and the devcontainer template agree on are written down.
// __tests__/versions.test.ts fails when the template, action.yml or this file drift apart.

/** Node major of the runner (`runs.using: node24`) and of the template's image. */
export const NODE_MAJOR = 24

/** Python used by the template's starter service (its `pythonVersion` default and `provider.runtime`). */
export const DEFAULT_PYTHON_VERSION = '3.13'

/** Lambda's Python runtimes this action can install and deploy. */
export const LAMBDA_PYTHON_VERSIONS = ['3.10', '3.11', '3.12', '3.13', '3.14'] as const

/** Serverless Framework given to a service that does not bring its own. */
export const SERVERLESS_VERSION = '3.40.0'

/** The framework given to a service without its own, by the `framework` input: Serverless v3 or its maintained fork. */
export const FRAMEWORK_VERSIONS: Readonly<Record<'serverless' | 'osls', string>> = {
  serverless: SERVERLESS_VERSION,
  osls: '3.77.1'
}

/** Plugin lines that still support Serverless v3, used when the service does not install them itself. */
export const PLUGIN_VERSIONS: Readonly<Record<string, string>> = {
  'serverless-python-requirements': '6.1.2',
  'serverless-offline': '13.9.0',
  'serverless-localstack': '1.4.0'
}

/**
 * Lambda's published lifecycle of its Python runtimes (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html,
 * as of August 2026; AWS has moved these dates before). After `deprecated` Lambda no longer patches the
 * runtime; after `blockUpdate` a deploy that updates a function on it fails.
 */
export const LAMBDA_PYTHON_LIFECYCLE: Readonly<
  Record<string, { deprecated: string; blockCreate: string; blockUpdate: string }>
> = {
  'python3.8': { deprecated: '2024-10-14', blockCreate: '2027-02-01', blockUpdate: '2027-03-03' },
  'python3.9': { deprecated: '2025-12-15', blockCreate: '2027-02-01', blockUpdate: '2027-03-03' },
  'python3.10': { deprecated: '2026-10-31', blockCreate: '2027-02-01', blockUpdate: '2027-03-03' },
  'python3.11': { deprecated: '2027-06-30', blockCreate: '2027-07-31', blockUpdate: '2027-08-31' },
  'python3.12': { deprecated: '2028-10-31', blockCreate: '2028-11-30', blockUpdate: '2029-01-10' },
  'python3.13': { deprecated: '2029-06-30', blockCreate: '2029-07-31', blockUpdate: '2029-08-31' },
  'python3.14': { deprecated: '2029-06-30', blockCreate: '2029-07-31', blockUpdate: '2029-08-31' }
}
