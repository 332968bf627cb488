import * as core from '@actions/core'
import os from 'node:os'
import path from 'node:path'
import { resolveCredentials } from './credentials.js'
import { checkFramework, installNodeModules, prepareServerless } from './dependencies.js'
import { diagnose } from './diagnosis.js'
import { checkEndpoint } from './endpoint.js'
import { UserError } from './errors.js'
import { readInputs } from './inputs.js'
import { PYTHON_MANIFEST_URL, setupPython } from './python.js'
import { readService } from './service.js'
import { runServerless } from './serverless.js'
import { serviceUrl, stackOutputs } from './stack.js'
import { Phases, writeSummary, type Report } from './summary.js'

export async function run(): Promise<void> {
  const phases = new Phases()
  const report: Report = { command: 'deploy', phases: phases.list }
  try {
    if (process.platform === 'win32') {
      throw new UserError(
        'This action runs on Linux and macOS runners (Lambda builds its Python packages for Linux). Set runs-on: ubuntu-latest.'
      )
    }
    const inputs = readInputs()
    report.command = inputs.command
    const service = readService(inputs.workingDirectory, {
      stage: inputs.stage,
      region: inputs.awsRegion,
      env: process.env
    })
    checkFramework(service, inputs.serverlessVersion)
    Object.assign(report, {
      service: service.name,
      stage: service.stage,
      region: service.region,
      stackName: service.stackName
    })
    const pythonVersion = inputs.pythonVersion ?? service.pythonVersion
    if (inputs.pythonVersion && !inputs.pythonVersion.startsWith(service.pythonVersion)) {
      core.warning(
        `Input 'python-version' is '${inputs.pythonVersion}' but provider.runtime is ${service.runtime}: dependencies are built for ${inputs.pythonVersion} and run on ${service.runtime} in Lambda.`
      )
    }

    // Packaging needs no AWS account; the rest gets credentials before the slow work, so a refusal comes first.
    const credentials =
      inputs.command === 'package'
        ? { env: {} }
        : await phases.time('credentials', () => resolveCredentials(inputs, service.region))
    report.accountId = credentials.accountId

    const runnerTemp = process.env.RUNNER_TEMP || os.tmpdir()
    const python = await phases.time('python', () =>
      setupPython({
        version: pythonVersion,
        arch: os.arch(),
        manifestUrl: process.env.PYTHON_VERSIONS_MANIFEST_URL || PYTHON_MANIFEST_URL,
        binDir: path.join(runnerTemp, 'serverless-python-deploy', 'bin')
      })
    )
    report.pythonVersion = python.version

    const serverless = await phases.time('npm', () =>
      core.group('npm', async () => {
        await installNodeModules(service.dir)
        return prepareServerless(service, {
          requested: inputs.serverlessVersion,
          cacheRoot: process.env.RUNNER_TOOL_CACHE || path.join(os.tmpdir(), 'tool-cache')
        })
      })
    )
    report.serverlessVersion = serverless.version

    const result = await phases.time(`serverless ${inputs.command}`, () =>
      core.group(`serverless ${inputs.command} --stage ${service.stage} --region ${service.region}`, () =>
        runServerless({
          bin: serverless.bin,
          command: inputs.command,
          stage: service.stage,
          region: service.region,
          args: inputs.args,
          cwd: service.dir,
          env: credentials.env
        })
      )
    )
    if (result.exitCode !== 0) {
      const cause = diagnose(result.output, inputs.command, service.stackName)
      throw new UserError(
        `serverless ${inputs.command} failed (exit code ${result.exitCode})${cause ? `: ${cause}` : '; its output is above.'}`
      )
    }

    if (inputs.command === 'deploy' || inputs.command === 'info') {
      const outputs = await phases.time('stack outputs', () =>
        stackOutputs(service.stackName, service.region, credentials.credentials)
      )
      report.url = serviceUrl(outputs)
      if (!report.url)
        core.warning(
          `Stack ${service.stackName} has no HttpApiUrl, ServiceEndpoint or function URL output; url is empty.`
        )
    }
    if (inputs.command === 'deploy' && report.url) await phases.time('url check', () => checkUrl(report))
    setOutputs(report)
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error)
    if (!(error instanceof UserError) && error instanceof Error && error.stack) core.debug(error.stack)
    core.setFailed(report.error)
  } finally {
    if (report.service)
      await writeSummary(report).catch(error => core.warning(`Job summary not written: ${String(error)}`))
  }
}

/**
 * Says whether the deployed URL answers. One that does not is a warning rather than a failure: the
 * stack is deployed either way, and a private API may not be reachable from the runner.
 */
async function checkUrl(report: Report): Promise<void> {
  const url = report.url as string
  // A rehearsal against LocalStack or moto reports an AWS URL that nothing serves.
  if (process.env.AWS_ENDPOINT_URL) {
    report.answer = 'not checked (AWS_ENDPOINT_URL is set)'
    core.info(`${url} not checked: AWS_ENDPOINT_URL is set, so this is a rehearsal.`)
    return
  }
  const check = await checkEndpoint(url)
  report.answer = check.detail
  if (check.answered) core.info(`${url} answers: ${check.detail}`)
  else
    core.warning(
      `Deployed, but ${url} does not answer (${check.detail}). Read the function's logs: serverless logs -f <function> --stage ${report.stage}.`
    )
}

function setOutputs(report: Report): void {
  core.setOutput('url', report.url ?? '')
  core.setOutput('stack-name', report.stackName ?? '')
  core.setOutput('service', report.service ?? '')
  core.setOutput('stage', report.stage ?? '')
  core.setOutput('region', report.region ?? '')
  core.setOutput('python-version', report.pythonVersion ?? '')
  core.setOutput('serverless-version', report.serverlessVersion ?? '')
  core.setOutput('aws-account-id', report.accountId ?? '')
}
