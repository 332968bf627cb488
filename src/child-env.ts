import path from 'node:path'

/**
 * The environment of every child process the action starts, by kind. Each kind is given what it needs
 * and nothing else: the runner's tokens, the inputs (github-token among them) and the runner's command
 * files reach no child; AWS credentials reach only serverless, and with role-to-assume only the run's
 * own. Package managers and the action's Python get a list of what they may see rather than a list of
 * what they may not, so that a variable nobody thought of stays out.
 */

export type ChildKind =
  /** npm, yarn, pnpm and corepack, with the project's and its dependencies' install scripts. */
  | 'package-manager'
  /** The action's own Python programs, its probes and pip. */
  | 'python'
  /** A downloaded Python's installer (setup.sh). */
  | 'python-setup'
  /** serverless and its plugins, and what they start (pip through serverless-python-requirements). */
  | 'serverless'

export type Env = Readonly<Record<string, string | undefined>>

export interface ChildEnvOptions {
  /** Folders put first on PATH, in this order: the action's Python shims, then its Node. */
  pathFirst?: string[]
  /** serverless only: the run's credentials. */
  credentials?: Record<string, string>
  /** serverless only: the run's credentials are the only ones it may use (role-to-assume). */
  exclusive?: boolean
  /** Variables this child needs beyond its kind's list, such as those a project's .npmrc refers to. */
  referenced?: string[]
  /** Added last, as they are. */
  extra?: Record<string, string>
}

/** What any process needs to run at all: where things are, the locale, proxies and certificates. */
const BASICS =
  /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z_]+|TZ|TMPDIR|TEMP|TMP|TERM|CI|NO_COLOR|FORCE_COLOR|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|NODE_EXTRA_CA_CERTS|XDG_[A-Z_]+|RUNNER_(OS|ARCH|TEMP|TOOL_CACHE|ENVIRONMENT))$/

/** What each kind may see beyond the basics. */
const KIND: Record<Exclude<ChildKind, 'serverless'>, RegExp> = {
  'package-manager':
    /^(npm_config_[a-z0-9_]+|NPM_CONFIG_[A-Z0-9_]+|COREPACK_[A-Z_]+|YARN_[A-Z_]+|PNPM_[A-Z_]+|NODE_OPTIONS|NODE_ENV)$/,
  python: /^(PIP_[A-Z_]+|PYTHONIOENCODING|PYTHONUTF8|VIRTUAL_ENV)$/,
  'python-setup': /^(AGENT_TOOLSDIRECTORY)$/
}

/**
 * What serverless may never see: the runner's tokens and URLs, the inputs (github-token among them),
 * the post step's state, GitHub's tokens, and the runner's command files (a plugin could otherwise set
 * outputs, export variables or put a folder on PATH for later steps).
 */
const RUNNER_SECRETS =
  /^(ACTIONS_[A-Z_]+|INPUT_.*|STATE_.*|GITHUB_TOKEN|GH_TOKEN|GITHUB_(ENV|PATH|OUTPUT|STATE|STEP_SUMMARY))$/

/** Every way the AWS SDKs find credentials other than AWS_ACCESS_KEY_ID & co. */
const OTHER_CREDENTIAL_SOURCES =
  /^(AWS_PROFILE|AWS_DEFAULT_PROFILE|AWS_(?!SESSION_TOKEN$|ACCESS_KEY_ID$|SECRET_ACCESS_KEY$)[A-Z0-9_]+_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)|AWS_CONTAINER_[A-Z_]+|AWS_WEB_IDENTITY_TOKEN_FILE|AWS_ROLE_ARN|AWS_ROLE_SESSION_NAME|AWS_SHARED_CREDENTIALS_FILE|AWS_CONFIG_FILE|AWS_CREDENTIAL_EXPIRATION)$/

/** The credential variables themselves. */
const AWS_KEYS = /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN)$/

/** The variables of one kind of child. */
export function childEnv(kind: ChildKind, base: Env, options: ChildEnvOptions = {}): Record<string, string> {
  const env: Record<string, string> = {}
  const referenced = new Set(options.referenced ?? [])
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined || !admits(kind, key, referenced, options.exclusive ?? false)) continue
    env[key] = value
  }
  const pathList = [...(options.pathFirst ?? []), env.PATH].filter(Boolean).join(path.delimiter)
  if (pathList) env.PATH = pathList
  if (kind === 'serverless') {
    Object.assign(env, options.credentials ?? {})
    // No instance role either: with role-to-assume, the run's credentials are the only ones.
    if (options.exclusive) env.AWS_EC2_METADATA_DISABLED = 'true'
  }
  return { ...env, ...options.extra }
}

function admits(kind: ChildKind, key: string, referenced: Set<string>, exclusive: boolean): boolean {
  if (RUNNER_SECRETS.test(key)) return false
  if (kind === 'serverless') {
    if (exclusive && (OTHER_CREDENTIAL_SOURCES.test(key) || AWS_KEYS.test(key))) return false
    return true
  }
  return BASICS.test(key) || KIND[kind].test(key) || referenced.has(key)
}

/**
 * The variables a package manager's configuration refers to (`${NPM_TOKEN}` in .npmrc, `${NPM_AUTH}` in
 * .yarnrc.yml): a private registry's token reaches the package manager only when its configuration
 * asks for it by name, and never when it is one of the runner's secrets or an AWS credential.
 */
export function referencedVariables(configTexts: string[]): string[] {
  const names = new Set<string>()
  for (const text of configTexts)
    for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)) names.add(match[1])
  return [...names].filter(
    name => !AWS_KEYS.test(name) && !OTHER_CREDENTIAL_SOURCES.test(name) && !RUNNER_SECRETS.test(name)
  )
}
