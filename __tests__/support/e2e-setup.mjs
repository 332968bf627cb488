import { createWorld, installTools } from './hermetic.mjs'
import { prepareWarm } from './warm.mjs'

/**
 * Before the e2e tier: what the other tiers need, a real Node 24 to run dist/index.js, and the warm
 * framework and tool cache that the e2e tests not about cold installs start from (warm.mjs). The
 * world is shared with the other tiers' setup when both run (createWorld returns the existing one).
 */
export default function e2eSetup() {
  installTools({ node24: true })
  const world = createWorld('spd-test')
  if (!process.env.SPD_WARM) process.env.SPD_WARM = prepareWarm(world)
}
