import { createWorld, installTools } from './hermetic.mjs'

/**
 * Before the suite: the tools the tests need (installed once, project-local), and a private world for
 * this run's temp folders and caches, which global-teardown.mjs removes.
 */
export default function globalSetup() {
  installTools()
  createWorld('spd-test')
}
