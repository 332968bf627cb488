// ts-jest in ESM mode: the @actions/* packages are ESM-only, so tests load src/ as ESM too.
const transform = { '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }] }
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  transform,
  // Project-local and reused: jest's transform cache stays out of the shared temp directory.
  cacheDirectory: '<rootDir>/.cache/jest'
}
// Tools installed once (project-local), and a private temp folder and caches for the run, removed
// after it. Each tier that needs them sets them up; the unit tier needs neither. The teardown is one
// module for all tiers, so it runs once, after every tier.
const world = {
  globalSetup: '<rootDir>/__tests__/support/global-setup.mjs',
  globalTeardown: '<rootDir>/__tests__/support/global-teardown.mjs'
}

/**
 * Four tiers, each a project with its own script: unit (in process, no child process, no setup),
 * integration (real Python, pip and moto for one module at a time), repo (what the repository ships:
 * dist, README, action.yml, the template, the IAM bootstrap) and e2e (the committed dist/index.js as
 * the runner runs it). `npm test` runs them all.
 */
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts', '<rootDir>/__tests__/support/github-api.test.ts']
    },
    {
      ...common,
      ...world,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/__tests__/integration/**/*.test.ts',
        '<rootDir>/__tests__/support/cache-server.test.ts'
      ]
    },
    {
      ...common,
      ...world,
      displayName: 'repo',
      testMatch: [
        '<rootDir>/__tests__/repo/**/*.test.ts',
        '<rootDir>/__tests__/template/**/*.test.ts',
        '<rootDir>/__tests__/iam/**/*.test.ts'
      ],
      testPathIgnorePatterns: ['/template/apply\\.test\\.ts$']
    },
    {
      ...common,
      ...world,
      // Its own setup module: jest runs each setup module once, for the first tier that uses it.
      globalSetup: '<rootDir>/__tests__/support/e2e-setup.mjs',
      displayName: 'e2e',
      // Slow: real npm, pip, serverless and moto. The template's apply test runs the starter project.
      testMatch: ['<rootDir>/__tests__/e2e/**/*.test.ts', '<rootDir>/__tests__/template/apply.test.ts'],
      slowTestThreshold: 600
    }
  ],
  // Both cores: a test file is one worker, and every e2e file starts its own moto.
  maxWorkers: 2,
  testTimeout: 15000,
  reporters: ['default', '<rootDir>/__tests__/support/plain-summary-reporter.mjs']
}
