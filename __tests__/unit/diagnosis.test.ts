import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  diagnose,
  lineOf,
  pluginLine,
  PRE_CHECKS,
  requirementLine,
  resourceNamed,
  RULES,
  serverlessError,
  type DiagnosisContext
} from '../../src/diagnosis.js'
import { FIXTURES } from '../support/fixture.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'unit-diagnosis-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Text captured from public reports, for the failures that cannot be provoked here (see sources.json). */
const CAPTURED = path.join(FIXTURES, 'diagnosis')
const SOURCES = JSON.parse(readFileSync(path.join(CAPTURED, 'sources.json'), 'utf8')) as Record<
  string,
  { rule: string; source: string; quoted: string } | string
>
const captured = (file: string) => readFileSync(path.join(CAPTURED, file), 'utf8')

/** Serverless v3's footer, as it prints it after every error. */
const FOOTER =
  '\nEnvironment: linux, node 24.11.1, framework 3.40.0 (local), plugin 7.2.3, SDK 4.5.1\nDocs:        docs.serverless.com\nSupport:     forum.serverless.com\nBugs:        github.com/serverless/serverless/issues\n'

const SERVERLESS_YML = [
  'service: api',
  "frameworkVersion: '~3.38.0'",
  'provider:',
  '  name: aws',
  '  runtime: python3.11',
  '  environment:',
  '    WEATHER_URL: ${env:WEATHER_URL}',
  '    SETTINGS: ${file(./missing.yml):settings}',
  '    API_KEY: ${ssm:/weather/api-key}',
  'plugins:',
  '  - serverless-python-requirements',
  '  - serverless-domain-manager',
  'custom:',
  '  pythonRequirements:',
  '    dockerizePip: true',
  'resources:',
  '  Resources:',
  '    OrdersQueue:',
  '      Type: AWS::SQS::Queue',
  '      Properties:',
  '        FifoQueue: true',
  '    UpdateRecordLambdaFunction:',
  '      Type: AWS::Lambda::Function',
  ''
].join('\n')
const CONFIG = path.join(dir, 'serverless.yml')

describe('serverlessError', () => {
  it('keeps every line of the Error: block, not just the first', () => {
    const output = `Packaging\n\nError:\nCannot resolve serverless.yml: Variables resolution errored with:\n  - Cannot resolve variable at "provider.environment.WEATHER_URL": Value not found at "env" source,\n  - Cannot resolve variable at "custom.bucket": Value not found at "ssm" source\n${FOOTER}`
    expect(serverlessError(output)).toBe(
      'Cannot resolve serverless.yml: Variables resolution errored with:\n  - Cannot resolve variable at "provider.environment.WEATHER_URL": Value not found at "env" source,\n  - Cannot resolve variable at "custom.bucket": Value not found at "ssm" source'
    )
  })

  it('stops at a stack trace', () => {
    expect(serverlessError('Error:\nboom\n    at Object.<anonymous> (/x/y.js:1:1)\n')).toBe('boom')
    expect(serverlessError('no error here')).toBeUndefined()
  })
})

describe('where in the service a failure points', () => {
  beforeAll(() => writeFileSync(CONFIG, SERVERLESS_YML))

  it('finds the line of a property path in serverless.yml (its key), or of its deepest written parent', () => {
    expect(lineOf(CONFIG, 'provider.environment.WEATHER_URL')).toBe(7)
    expect(lineOf(CONFIG, 'provider.environment.OTHER')).toBe(6)
    // exact: only the path itself.
    expect(lineOf(CONFIG, 'resources.Resources.OrdersQueue', true)).toBe(18)
    expect(lineOf(CONFIG, 'resources.Resources.ApiLambdaFunction', true)).toBeUndefined()
    expect(lineOf(path.join(dir, 'missing.yml'), 'service')).toBeUndefined()
  })

  it('finds the line that names a plugin, in a list or under modules:', () => {
    expect(pluginLine(CONFIG, 'serverless-domain-manager')).toBe(12)
    expect(pluginLine(CONFIG, 'serverless-offline')).toBeUndefined()
    const modules = path.join(dir, 'modules.yml')
    writeFileSync(
      modules,
      'service: api\nplugins:\n  localPath: ./plugins\n  modules:\n    - serverless-offline\n'
    )
    expect(pluginLine(modules, 'serverless-offline')).toBe(5)
  })

  it('finds the resource a CloudFormation message is about: by logical ID, else by the only type it names', () => {
    expect(resourceNamed(CONFIG, 'UpdateRecordLambdaFunction - boom')).toEqual({
      id: 'UpdateRecordLambdaFunction',
      type: 'AWS::Lambda::Function'
    })
    expect(resourceNamed(CONFIG, 'Queue name must end in .fifo for FIFO queues')).toEqual({
      id: 'OrdersQueue',
      type: 'AWS::SQS::Queue'
    })
    expect(resourceNamed(CONFIG, 'Rate exceeded')).toBeUndefined()
  })

  it('finds the requirements line of a package, through -r includes and normalised names', () => {
    writeFileSync(path.join(dir, 'requirements.txt'), '# app\n-r base.txt\nfastapi>=0.115\n')
    writeFileSync(path.join(dir, 'base.txt'), 'Pydantic_Core==2.0\n')
    expect(requirementLine(dir, 'pydantic-core')).toEqual({
      file: path.join(dir, 'base.txt'),
      line: 1,
      text: 'Pydantic_Core==2.0'
    })
    expect(requirementLine(dir, 'fastapi')?.line).toBe(3)
    expect(requirementLine(dir, 'nothing')).toBeUndefined()
  })
})

interface Case {
  name: string
  rule: string
  output: string
  context?: Partial<DiagnosisContext>
  /** What the message must say: the cause and the fix. */
  says: RegExp[]
  annotation?: { file?: string; startLine?: number }
}

/**
 * One case per rule at least. The text is what the real tools printed: Serverless 3.40.0, pip and
 * Docker as __tests__/e2e/diagnosis.test.ts provokes them (excerpts of its runs), or, for what cannot
 * be provoked here, the captured reports in __tests__/fixtures/diagnosis/.
 */
const CASES: Case[] = [
  {
    // osls 4.3.1 with serverless-localstack 1.4.0, as run on this machine (its error block, verbatim).
    name: 'osls 4: a plugin that calls an AWS SDK v2 interface osls 4 removed',
    rule: 'plugin-needs-sdk-v2',
    output:
      'Environment: linux, node 24.11.0, framework 4.3.1 (local), plugin 7.2.3, SDK 4.3.3\nError:\nprovider.getCredentials() is no longer available. Construct AWS SDK v3 clients with configuration from provider.getAwsSdkV3Config() instead. See https://github.com/oss-serverless/osls/blob/4.x/docs/guides/upgrading-to-v4.md\n',
    context: { plugins: ['serverless-python-requirements', 'serverless-localstack'] },
    says: [
      /^osls 4 removed provider\.getCredentials\(\), which a plugin of this service still uses: serverless-localstack\./,
      /or pin osls to 3\.x \(npm install --save-dev osls@3\)/
    ]
  },
  {
    // pip's own words (pip/_internal/resolution/.../ and req_install's check of Requires-Python).
    name: 'pip: a package that needs a newer Python than the runtime',
    rule: 'python-version-required',
    output: "ERROR: Package 'fastnew' requires a different Python: 3.11.7 not in '>=3.12'\n",
    says: [
      /^fastnew requires Python >=3\.12, and the functions run on Python 3\.11\.7/,
      /Pin a version of fastnew that supports Python 3\.11\.7/
    ]
  },
  {
    // Poetry 2 without poetry-plugin-export, as serverless-python-requirements runs it.
    name: 'poetry 2 without its export plugin',
    rule: 'poetry-export-missing',
    output: captured('poetry-export-missing.txt'),
    says: [/^The runner's poetry has no export command/, /poetry self add poetry-plugin-export/]
  },
  {
    name: "the action's pip helper: a wheel only for another platform",
    rule: 'no-wheel-for-platform',
    output:
      'ERROR: No matching distribution found for spdx86only\nserverless-python-deploy: spdx86only 1.0 has no wheel for manylinux2014_aarch64 (CPython 3.11): only for other platforms (cp311-cp311-manylinux2014_x86_64). Pin a version that publishes one, or replace the package.\n',
    says: [
      // The helper's reason, without its own advice: the fix follows once.
      /^spdx86only 1\.0 has no wheel for manylinux2014_aarch64 \(CPython 3\.11\): only for other platforms \(cp311-cp311-manylinux2014_x86_64\) \(requirements\.txt line 1: spdx86only\)\. Lambda cannot run a build for another platform\. Pin a version that publishes a wheel for it/,
      /set provider\.architecture to a platform it has wheels for/
    ],
    annotation: { file: path.join(dir, 'requirements.txt'), startLine: 1 }
  },
  {
    name: "pip (through the action's helper): a version that does not exist",
    rule: 'pip-no-distribution',
    output: `× Stdout: Looking in indexes: file:///opt/pypi/simple\n  ERROR: Could not find a version that satisfies the requirement mangum==9.9.9 (from versions: 0.19.0)\n  ERROR: No matching distribution found for mangum==9.9.9\n  serverless-python-deploy: mangum ==9.9.9 has no wheel for manylinux2014_x86_64 (CPython 3.11), and no version of it installs here at all.\n${FOOTER}\nError:\nError: \`python3 -m pip install -t /tmp/x -r /tmp/x/requirements.txt\` Exited with code 1\n    at ChildProcess.<anonymous> (/x/node_modules/child-process-ext/spawn.js:38:8)\n`,
    context: { platform: 'manylinux2014_x86_64', pythonVersion: '3.11' },
    says: [
      /^pip could not install mangum ==9\.9\.9 for manylinux2014_x86_64, CPython 3\.11 \(requirements\.txt line 2: mangum==9\.9\.9\); the index has versions 0\.19\.0\./,
      /Check the name and version/
    ],
    annotation: { file: path.join(dir, 'requirements.txt'), startLine: 2 }
  },
  {
    name: 'AWS, in a public report: no permission, on a named resource',
    rule: 'not-authorized',
    output: captured('not-authorized.txt'),
    context: { stackName: 'my-service-dev', region: 'us-east-1' },
    says: [
      /^AWS refused cloudformation:DescribeStacks on arn:aws:cloudformation:us-east-1:123456789012:stack\/my-service-dev\/\* to arn:aws:iam::123456789012:user\/serverless/,
      /"Action": "cloudformation:DescribeStacks",\n {2}"Resource": "arn:aws:cloudformation:us-east-1:123456789012:stack\/my-service-dev\/\*"/,
      /add it to the DeployPolicy resource's statements/
    ]
  },
  {
    name: "moto's IAM enforcement: no permission, no resource named",
    rule: 'not-authorized',
    output: `× Stack fixture-api-test failed to deploy (0s)\n${FOOTER}\nError:\nUser: arn:aws:iam::123456789012:user/deployer is not authorized to perform: cloudformation:CreateStack\n`,
    context: { stackName: 'fixture-api-test', region: 'eu-west-1' },
    says: [
      /^AWS refused cloudformation:CreateStack to arn:aws:iam::123456789012:user\/deployer, the identity serverless deployed with/,
      /"Resource": "arn:aws:cloudformation:eu-west-1:\*:stack\/fixture-api-test\/\*"/
    ]
  },
  {
    name: 'Serverless: an ${ssm:} variable with no credentials at all, while packaging',
    rule: 'credentials-missing',
    output: `${FOOTER}\nError:\nCannot resolve serverless.yml: Variables resolution errored with:\n  - Cannot resolve variable at "provider.environment.API_KEY": AWS provider credentials not found. Learn how to set up AWS provider credentials in our docs here: <http://slss.io/aws-creds-setup>.\n`,
    context: { command: 'package' },
    says: [
      /^No AWS credentials reached serverless package\. serverless\.yml reads \$\{ssm:\/weather\/api-key\} at provider\.environment\.API_KEY \(line 9\), and Serverless resolves it from the AWS account even to package\./,
      /Set role-to-assume \(with permissions: id-token: write\), or configure credentials in an earlier step\.$/
    ],
    annotation: { file: CONFIG, startLine: 9 }
  },
  {
    name: 'Serverless, in a public report: credentials that expired',
    rule: 'credentials-expired',
    output: captured('credentials-expired.txt'),
    says: [/^The AWS credentials expired during serverless deploy\. Raise role-duration-seconds/]
  },
  {
    name: 'Serverless, in a public report: a stack another run is updating',
    rule: 'stack-busy',
    output: captured('stack-busy.txt'),
    context: { stackName: 'e2e-tests-serverless-lambda-dev' },
    says: [
      /^Stack e2e-tests-serverless-lambda-dev was UPDATE_IN_PROGRESS: another run deployed the same stage/,
      /concurrency group per stage/
    ]
  },
  {
    name: 'Serverless, in a public report: a stack stuck in UPDATE_ROLLBACK_FAILED',
    rule: 'stack-rollback-failed',
    output: captured('stack-rollback-failed.txt'),
    context: { stackName: 'aws-nodejs-app-dev', region: 'eu-central-1' },
    says: [
      /The previous version keeps serving\./,
      /aws cloudformation continue-update-rollback --stack-name aws-nodejs-app-dev --region eu-central-1/,
      /Do not delete the stack/
    ]
  },
  {
    name: 'Serverless: a plugin serverless.yml names and package.json does not install',
    rule: 'plugin-missing',
    output: `${FOOTER}\nError:\nServerless plugin "serverless-domain-manager" not found. Make sure it's installed and listed in the "plugins" section of your serverless config file. Run "serverless plugin install -n serverless-domain-manager" to install it.\n`,
    says: [
      /^serverless\.yml names the plugin serverless-domain-manager \(line 12\), but it is not installed\./,
      /npm install --save-dev serverless-domain-manager/
    ],
    annotation: { file: CONFIG, startLine: 12 }
  },
  {
    name: 'Serverless: an unset ${env:} and a missing ${file()}',
    rule: 'variables',
    output: `${FOOTER}\nError:\nCannot resolve serverless.yml: Variables resolution errored with:\n  - Cannot resolve variable at "provider.environment.WEATHER_URL": Value not found at "env" source,\n  - Cannot resolve variable at "provider.environment.SETTINGS": Value not found at "file" source\n`,
    says: [
      // Serverless' whole message, then what to do about each variable.
      /^Cannot resolve serverless\.yml: Variables resolution errored with:\n {2}- Cannot resolve variable at "provider\.environment\.WEATHER_URL": Value not found at "env" source,\n {2}- Cannot resolve variable at "provider\.environment\.SETTINGS": Value not found at "file" source\n/,
      /provider\.environment\.WEATHER_URL reads the environment variable WEATHER_URL, which is not set: set it in the workflow/,
      /provider\.environment\.SETTINGS reads \.\/missing\.yml, which does not exist in the service folder/
    ],
    annotation: { file: CONFIG, startLine: 7 }
  },
  {
    name: 'serverless-python-requirements: dockerizePip on a runner without a Docker engine',
    rule: 'docker-missing',
    output: `${FOOTER}\nError:\nRunning "docker run --rm -v /c:/var/task:z public.ecr.aws/sam/build-python3.11:latest-x86_64 /bin/sh -c python3 -m pip install -t /var/task/ -r /var/task/requirements.txt" failed with: "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n\nRun 'docker run --help' for more information"\n`,
    says: [/^custom\.pythonRequirements\.dockerizePip \(line 15\) runs pip in Docker/, /Remove dockerizePip/],
    annotation: { file: CONFIG, startLine: 15 }
  },
  {
    name: 'Lambda, in a public report (Serverless 3 form): a package over 250 MB unzipped',
    rule: 'code-too-large',
    output: captured('code-too-large.txt'),
    says: [
      /^Lambda refused the package of ApiLambdaFunction: unzipped, a function and its layers may hold 250 MB/
    ]
  },
  {
    name: "Lambda, in a public report (the older 'An error occurred' form)",
    rule: 'code-too-large',
    output: captured('code-too-large-an-error-occurred.txt'),
    says: [/^Lambda refused the package of PredictLambdaFunction/, /custom\.pythonRequirements\.slim: true/]
  },
  {
    name: "Serverless: the project's own serverless is newer than frameworkVersion allows",
    rule: 'framework-version',
    output: `${FOOTER}\nError:\nThe Serverless version (3.40.0) does not satisfy the "frameworkVersion" (~3.38.0) in serverless.yml\n`,
    says: [
      /^serverless\.yml asks for frameworkVersion ~3\.38\.0 \(line 2\), but serverless 3\.40\.0 runs\./,
      /Pin serverless in package\.json \(and commit the lockfile\) to a version ~3\.38\.0 allows, or widen frameworkVersion/
    ],
    annotation: { file: CONFIG, startLine: 2 }
  },
  {
    name: 'CloudFormation, in a public report (Serverless 3 form): a resource that failed',
    rule: 'cloudformation-failed',
    output: captured('cloudformation-failed.txt'),
    context: { stackName: 'route53-updater-dev' },
    says: [
      /^CloudFormation failed on UpdateRecordLambdaFunction \(AWS::Lambda::Function\): Resource handler returned message: "The runtime parameter of python3\.6 is no longer supported/,
      /The stack route53-updater-dev rolled back\. Fix that resource/
    ],
    annotation: { file: CONFIG, startLine: 22 }
  },
  {
    name: "CloudFormation, in a public report (the older 'An error occurred' form)",
    rule: 'cloudformation-failed',
    output: captured('cloudformation-failed-an-error-occurred.txt'),
    says: [
      /^CloudFormation failed on App6LambdaFunction: The function could not be updated due to a concurrent/
    ]
  },
  {
    name: 'Serverless against moto: CloudFormation refused a resource of the template',
    rule: 'deploy-refused',
    output: `Deploying fixture-api to stage test (eu-west-1)\n\n× Stack fixture-api-test failed to deploy (6s)\n${FOOTER}\nError:\nQueue name must end in .fifo for FIFO queues\n`,
    says: [
      /^Stack fixture-api-test failed to deploy: Queue name must end in \.fifo for FIFO queues\. No resource of the stack reported the failure/,
      /The error is about OrdersQueue \(AWS::SQS::Queue\), line 18 of serverless\.yml\./
    ],
    annotation: { file: CONFIG, startLine: 18 }
  }
]

describe('diagnose: every rule, against what the real tools print', () => {
  const context: DiagnosisContext = {
    command: 'deploy',
    dir,
    configFile: CONFIG,
    stackName: 'api-dev',
    region: 'eu-west-1'
  }
  beforeAll(() => {
    writeFileSync(CONFIG, SERVERLESS_YML)
    writeFileSync(path.join(dir, 'requirements.txt'), 'spdx86only\nmangum==9.9.9\n')
  })

  it.each(CASES.map(c => [c.name, c] as const))('%s', (_name, c) => {
    const rule = RULES.find(r => r.id === c.rule)
    const found = diagnose(c.output, { ...context, ...c.context })
    expect(found?.title).toBe(rule?.title)
    for (const says of c.says) expect(found?.message).toMatch(says)
    expect(found?.annotation).toEqual(c.annotation)
  })

  it('has a case for every rule, and each rule its title, symptom, cause and fix for the README', () => {
    expect(new Set(RULES.map(rule => rule.id)).size).toBe(RULES.length)
    expect([...new Set(CASES.map(c => c.rule))].sort()).toEqual(RULES.map(rule => rule.id).sort())
    for (const rule of RULES) {
      for (const field of [rule.title, rule.symptom, rule.cause, rule.fix])
        expect(field.length).toBeGreaterThan(10)
    }
    for (const check of PRE_CHECKS)
      expect(check.title && check.symptom && check.action && check.fix).toBeTruthy()
  })

  it("falls back to the whole of serverless' Error: block", () => {
    const output = `Packaging api\n\nError:\nInvalid handler "main.nope" in function api\nCheck the handler.\n${FOOTER}`
    expect(diagnose(output, context)).toEqual({
      title: 'serverless deploy failed',
      message: 'Invalid handler "main.nope" in function api\nCheck the handler.'
    })
  })

  it('is undefined for output it does not recognise', () => {
    expect(diagnose('Segmentation fault (core dumped)', context)).toBeUndefined()
  })
})

describe('captured text', () => {
  it('every file has its public source, and every source its file and rule', () => {
    const files = readdirSync(CAPTURED).filter(file => file.endsWith('.txt'))
    const entries = Object.entries(SOURCES).filter(([key]) => !key.startsWith('$'))
    expect(entries.map(([file]) => file).sort()).toEqual(files.sort())
    for (const [file, entry] of entries) {
      if (typeof entry === 'string') throw new Error(`${file}: no source`)
      expect(existsSync(path.join(CAPTURED, file))).toBe(true)
      expect(entry.source).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+\/issues\/\d+/)
      expect(RULES.map(rule => rule.id)).toContain(entry.rule)
      // The case that uses it expects its rule.
      expect(CASES.find(c => c.output === captured(file))?.rule).toBe(entry.rule)
    }
  })
})
