import type { Command } from './inputs.js'

/**
 * Turns the failure at the end of serverless' output into one line that says what to fix. The full
 * output is already in the log group; this is what the error annotation says.
 */
export function diagnose(output: string, command: Command, stackName: string): string | undefined {
  const pip =
    /No matching distribution found for ([^\s]+)/.exec(output) ??
    /Could not find a version that satisfies the requirement ([^\s]+)/.exec(output)
  if (pip) {
    const line =
      output
        .split('\n')
        .find(l => l.includes(pip[0]))
        ?.trim() ?? pip[0]
    return `pip could not install '${pip[1]}' from the service's requirements.txt (${line}). Check its name and version, and that the package index this runner uses has it.`
  }
  if (
    /AWS provider credentials not found|Could not load credentials from any providers|Missing credentials in config/.test(
      output
    )
  ) {
    return `No AWS credentials reached serverless ${command}. Set role-to-assume (with permissions: id-token: write), or configure credentials in an earlier step.`
  }
  if (/ExpiredToken|security token included in the request is expired/i.test(output)) {
    return `The AWS credentials expired during serverless ${command}. Raise role-duration-seconds, or make the job shorter.`
  }
  if (command === 'remove' && /does not exist/.test(output)) {
    return `Stack ${stackName} does not exist, so there is nothing to remove. Check stage and aws-region.`
  }
  if (/ROLLBACK_COMPLETE|UPDATE_ROLLBACK_FAILED/.test(output)) {
    return `Stack ${stackName} is stuck after a failed deploy. Read the stack's events in the CloudFormation console, fix the cause, then remove the stack (command: remove) and deploy again.`
  }
  const error = /Error:\s*\n+\s*(.+)/.exec(output)
  return error ? error[1].trim() : undefined
}
