// Three projects so each layer can run alone: unit (no Docker), integration
// (real Redis through testcontainers) and e2e (the real compose stack).
const shared = {
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleNameMapper: {
    '^@cb-lab/(shared|testing)$': '<rootDir>/$1/src/index.ts',
    '^@cb-lab/shared-breaker$': '<rootDir>/breaker/src/index.ts',
    '^@cb-lab/shared-breaker/prometheus$': '<rootDir>/breaker/src/prometheus.ts',
  },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
module.exports = {
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/*/src/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '/node_modules/', '/dist/'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/*/src/**/*.int.test.ts'],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/e2e/**/*.e2e.test.ts'],
    },
  ],
};
