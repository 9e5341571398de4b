// Three projects: `unit` (pure logic, beside the code), `integration`
// (test/: a real krilld with runc, conmon, CNI and a local registry; root) and
// `e2e` (test/e2e/: a real kubelet drives Krill in the test bed, hack/testbed).
const transform = { '\\.[cm]?[jt]s$': '<rootDir>/test/jest/transform.js' };
// smol-toml ships ESM that jest's CommonJS runtime cannot load untransformed.
const transformIgnorePatterns = ['/node_modules/(?!smol-toml/)'];

module.exports = {
  testTimeout: 120_000,
  // Coverage (make coverage, hack/coverage): V8's own counters, of the product code only. Files no
  // test loads count as 0 %, so the figure is of all of pkg/ and cmd/, not of what happened to run.
  coverageProvider: 'v8',
  collectCoverageFrom: ['pkg/**/*.ts', 'cmd/**/*.ts', '!**/*.test.ts', '!**/testing/**', '!**/testing.ts', '!**/*.d.ts'],
  coverageReporters: ['json', 'text-summary'],
  reporters: ['default', '<rootDir>/test/jest/totals-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/api', '<rootDir>/cmd', '<rootDir>/pkg', '<rootDir>/hack', '<rootDir>/bench'],
      testMatch: ['**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'integration',
      // Node's environment plus a leak check after each file (mounts, netns, veths, cgroups, processes).
      testEnvironment: '<rootDir>/test/harness/environment.ts',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/e2e/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/e2e/harness/global-teardown.ts',
    },
  ],
};
