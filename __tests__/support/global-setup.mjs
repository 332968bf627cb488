import { createWorld, installTools } from './hermetic.mjs'

/**
 * Before the integration and repo tiers: moto and cfn-lint (installed once, project-local), and a
 * private world for this run's temp folders and caches, which global-teardown.mjs removes.
 *
 * Jest runs a global setup module once per run, with the configuration of the first test that uses
 * it, whatever tiers follow. So what only the e2e tier needs lives in its own module
 * (e2e-setup.mjs): a setup that looked at the project it was handed would skip Node 24 whenever a
 * whole-suite run happened to start with another tier's test.
 */
export default function globalSetup() {
  installTools({ node24: false })
  createWorld('spd-test')
}
