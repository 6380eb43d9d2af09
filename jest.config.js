// Projects so each layer can run alone: unit (no Docker), integration (real Redis through
// testcontainers), e2e (the real compose stack) and ha (the compose stack on a Redis Cluster,
// outside npm test).
const shared = {
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleNameMapper: {
    '^@cb-lab/(shared|testing|contracts|load-generator|grafana)$': '<rootDir>/$1/src/index.ts',
    '^@cb-lab/lab/walkthrough$': '<rootDir>/lab/src/walkthrough/index.ts',
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
    // More of the lab on highly available Redis than npm test has time for: npm run test:ha.
    {
      ...shared,
      displayName: 'ha',
      testMatch: ['<rootDir>/e2e/**/*.ha.test.ts'],
    },
  ],
};
