// Shared jest settings: ts-jest transpiles only (tsc -b and `npm run typecheck` do the type checking).
const path = require('path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.spec.json') }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(p-queue|p-timeout)/)'],
  moduleNameMapper: {
    '^@lockstep/core$': path.join(__dirname, 'packages/core/src/index.ts'),
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
};
