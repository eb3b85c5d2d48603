// End-to-end suites: real processes (collector, Prometheus, a service under the preload).
// test/chaos/ is kept for a separate `chaos` project.
module.exports = require('../jest.preset.js')(__dirname, 'e2e', {
  testMatch: ['<rootDir>/e2e/**/*.test.ts'],
  testTimeout: 120_000,
});
