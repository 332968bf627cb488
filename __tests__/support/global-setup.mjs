import { createWorld, installTools } from './hermetic.mjs'
import { prepareWarm } from './warm.mjs'

/**
 * Before a tier's tests: the tools it needs (installed once, project-local), and a private world for
 * this run's temp folders and caches, which global-teardown.mjs removes. Jest runs it once for each
 * project that has tests to run, with that project's configuration.
 * @param {unknown} _globalConfig
 * @param {{ displayName?: { name?: string } | string }} projectConfig
 */
export default function globalSetup(_globalConfig, projectConfig) {
  const tier =
    typeof projectConfig?.displayName === 'object'
      ? projectConfig.displayName.name
      : projectConfig?.displayName
  installTools({ node24: tier === 'e2e' })
  const world = createWorld('spd-test')
  // The e2e tests that are not about cold installs start warm (warm.mjs).
  if (tier === 'e2e') process.env.SPD_WARM = prepareWarm(world)
}
