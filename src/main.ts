import path from 'node:path'
import type { RunContext } from './context.js'
import { realEdges, type Edges } from './edges.js'
import { UserError } from './errors.js'
import type { Command } from './inputs.js'
import type { AnnotationProperties } from './runner.js'
import { optimiseArtifact, packageService, preparePython, verifyArtifact } from './steps/build.js'
import { installNode, obtainCredentials, resolveService, start } from './steps/prepare.js'
import { awaitStack, deployPackage, readUrl, rollBackIfFailed, smokeTestDeploy } from './steps/release.js'
import { planChanges } from './steps/plan.js'
import { afterwards, showInfo } from './steps/report.js'
import { removeStack } from './steps/teardown.js'
import { Phases, renderSummary, type Report } from './summary.js'

type Step = [name: string, run: (ctx: RunContext) => Promise<void>]

/** Every command starts here: credentials before the slow work, so that a refusal comes first. */
const PREPARE: Step[] = [
  ['credentials', obtainCredentials],
  ['node dependencies', installNode],
  ['resolve service', resolveService]
]

const BUILD: Step[] = [
  ['python', preparePython],
  ['serverless package', packageService],
  ['artifact', optimiseArtifact],
  ['verify', verifyArtifact]
]

/** What each command does after the common preparation, step by step. */
const COMMAND_STEPS: Record<Command, Step[]> = {
  deploy: [
    ...BUILD,
    // Only with protect: a deploy that would replace or remove a protected resource stops here.
    ['plan', planChanges],
    ['stack state', awaitStack],
    ['serverless deploy', deployPackage],
    ['stack outputs', readUrl],
    ['smoke test', smokeTestDeploy],
    ['rollback', rollBackIfFailed]
  ],
  package: BUILD,
  info: [
    ['serverless info', showInfo],
    ['stack outputs', readUrl]
  ],
  remove: [['serverless remove', removeStack]],
  plan: [...BUILD, ['plan', planChanges]]
}

/** Runs the command the inputs name; the report is what the outputs and the job summary said. */
export async function run(edges: Edges = realEdges()): Promise<Report> {
  const { runner } = edges
  const phases = new Phases()
  const report: Report = { command: 'deploy', phases: phases.list }
  let ctx: RunContext | undefined
  try {
    if (edges.platform === 'win32') {
      throw new UserError(
        'This action runs on Linux and macOS runners (Lambda builds its Python packages for Linux). Set runs-on: ubuntu-latest.'
      )
    }
    const started = await phases.time('inputs', () => start(edges, report, phases))
    ctx = started
    for (const [name, step] of [...PREPARE, ...COMMAND_STEPS[started.inputs.command]]) {
      await phases.time(name, () => step(started))
    }
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error)
    runner.setExitCode(1)
    if (error instanceof UserError) {
      report.errorTitle = error.annotation.title
      runner.error(report.error, annotation(error, edges.workspace))
    } else {
      if (error instanceof Error && error.stack) runner.debug(error.stack)
      runner.error(report.error)
    }
  } finally {
    if (ctx) {
      await afterwards(ctx)
      ctx.outputs.publish(report)
    }
    if (report.service)
      await runner
        .appendSummary(renderSummary(report))
        .catch(error => runner.warning(`Job summary not written: ${String(error)}`))
  }
  return report
}

/** The error's annotation, its file relative to the repository so that GitHub shows it on the file. */
function annotation(error: UserError, workspace: string): AnnotationProperties {
  const { file, ...rest } = error.annotation
  return { ...rest, ...(file ? { file: path.isAbsolute(file) ? path.relative(workspace, file) : file } : {}) }
}
