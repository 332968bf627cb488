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

export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
      testPathIgnorePatterns: ['/e2e/', '/template/apply\\.test\\.ts$']
    },
    {
      ...common,
      displayName: 'e2e',
      // Slow: real npm ci, pip, serverless and moto. The template's apply test runs the starter project.
      testMatch: ['<rootDir>/__tests__/e2e/**/*.test.ts', '<rootDir>/__tests__/template/apply.test.ts'],
      slowTestThreshold: 600
    }
  ],
  // Tools installed once (project-local), and a private temp folder and caches for the run, removed after it.
  globalSetup: '<rootDir>/__tests__/support/global-setup.mjs',
  globalTeardown: '<rootDir>/__tests__/support/global-teardown.mjs',
  testTimeout: 15000,
  reporters: ['default', '<rootDir>/__tests__/support/plain-summary-reporter.mjs']
}
