import { removeWorld } from './hermetic.mjs'

/** After the suite, passed or failed: nothing of this run is left in the temp directory. */
export default function globalTeardown() {
  removeWorld(process.env.SPD_WORLD)
}
