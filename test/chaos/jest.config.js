// Reliability and security suite (issue 11): the example service under the preload, through the
// real collector, under load, faults and hostile input. One file per scenario; each writes its
// figures to .tmp/chaos/results/, and the global teardown renders docs/reliability.md from them.
module.exports = require('../../jest.preset.js')(__dirname, 'chaos', {
  testMatch: ['<rootDir>/**/*.test.ts'],
  testTimeout: 600_000,
  globalTeardown: '<rootDir>/helpers/globalTeardown.ts',
});
