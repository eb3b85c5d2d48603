// One jest run over every workspace that has a jest.config.js, so `npm test` prints one summary.
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const dirs = ['packages', 'examples'].flatMap((parent) =>
  existsSync(join(__dirname, parent)) ? readdirSync(join(__dirname, parent)).map((d) => join(parent, d)) : [],
);
dirs.push('test', 'test/chaos', 'docs');

module.exports = {
  projects: dirs.filter((d) => existsSync(join(__dirname, d, 'jest.config.js'))).map((d) => `<rootDir>/${d}`),
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  // Global option: the per-project value in jest.preset.js is ignored when jest runs from the root.
  testTimeout: 30000,
};
