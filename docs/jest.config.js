// Tests that keep the documentation true: every command in the operations docs is run (or
// allow-listed with a reason), and every relative link resolves. See docs/README.md.
module.exports = require('../jest.preset.js')(__dirname, 'docs', {
  testMatch: ['<rootDir>/test/**/*.test.ts'],
});
