// End-to-end suites: real processes (collector, Prometheus, a service under the preload).
// test/chaos/ is a project of its own (displayName `chaos`, test/chaos/jest.config.js): the root
// config lists it next to this one, so `npm test` runs both and `npm run test:chaos` selects it.
module.exports = require('../jest.preset.js')(__dirname, 'e2e', {
  testMatch: ['<rootDir>/e2e/**/*.test.ts'],
  testTimeout: 120_000,
});
