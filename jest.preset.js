// Shared jest settings for every workspace project. Sources are transformed by swc
// (type-checking is tsc -b's job), and @mem0-stack/* imports resolve to the sibling
// package's src/ so a unit test never needs a rebuild of its dependencies. Child
// processes started by tests load the built dist/ instead (npm test builds first).
const path = require('node:path');

const root = __dirname;

/** @param {string} dir project directory @param {string} name display name */
module.exports = function preset(dir, name, overrides = {}) {
  return {
    displayName: name,
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    transform: {
      '^.+\\.(t|j)s$': [
        '@swc/jest',
        { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
      ],
    },
    moduleNameMapper: {
      '^@mem0-stack/([a-z0-9-]+)$': path.join(root, 'packages/$1/src/index.ts'),
    },
    testTimeout: 30000,
    ...overrides,
  };
};
