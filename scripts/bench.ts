/**
 * `npm run bench`: what the action costs on every push, measured on the real dist/index.js.
 * - size of the bundle, and its start-up time (a run that stops at input validation);
 * - `command: package` of the fixture service, cold (empty tool cache, no node_modules) and warm
 *   (the same runner and checkout again), for a service with its own lockfile and for one without
 *   package.json, with the per-phase times the job summary reports.
 * It prints numbers; it asserts nothing.
 */
import { rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { copyFixture } from '../__tests__/support/fixture.js'
import { localPipIndexEnv } from '../__tests__/support/pip.js'
import { DIST, runAction, type ActionRun } from '../__tests__/support/runner.js'

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Phase times from the job summary's Time table. */
function phases(run: ActionRun): Record<string, number> {
  const time = run.summary.split('<h4>Time</h4>')[1] ?? ''
  return Object.fromEntries(
    [...time.matchAll(/<tr><td>([^<]+)<\/td><td>([\d.]+)<\/td><\/tr>/g)].map(m => [m[1], Number(m[2])])
  )
}

async function timed(run: () => Promise<ActionRun>): Promise<{ seconds: number; run: ActionRun }> {
  const started = performance.now()
  const result = await run()
  if (result.exitCode !== 0) throw new Error(`run failed:\n${result.stdout.slice(-3000)}`)
  return { seconds: (performance.now() - started) / 1000, run: result }
}

async function packageTwice(label: string, withPackageJson: boolean): Promise<void> {
  const service = copyFixture('service')
  if (!withPackageJson) {
    rmSync(path.join(service, 'package.json'))
    rmSync(path.join(service, 'package-lock.json'))
  }
  const inputs = { command: 'package', 'working-directory': service, stage: 'prod' }
  const cold = await timed(() => runAction({ inputs, env: localPipIndexEnv() }))
  const warm = await timed(() => runAction({ inputs, env: localPipIndexEnv(), home: cold.run.home }))
  console.log(`\n${label}`)
  console.log(`  cold: ${cold.seconds.toFixed(1)} s  ${JSON.stringify(phases(cold.run))}`)
  console.log(`  warm: ${warm.seconds.toFixed(1)} s  ${JSON.stringify(phases(warm.run))}`)
}

async function main(): Promise<void> {
  console.log(`dist/index.js: ${(statSync(DIST).size / 1024).toFixed(0)} KiB`)
  const starts: number[] = []
  for (let i = 0; i < 5; i++) {
    const started = performance.now()
    await runAction({ inputs: { command: 'bench-start-up' } })
    starts.push(performance.now() - started)
  }
  console.log(`start-up to the first input check (median of 5): ${median(starts).toFixed(0)} ms`)
  await packageTwice('package, service with its own package-lock.json (npm ci, then skipped):', true)
  await packageTwice(
    'package, service without package.json (serverless provided into the tool cache, then reused):',
    false
  )
}

main().catch(error => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
