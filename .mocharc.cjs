// Mocha settings. In CI (CI=true) a pending (skipped) test fails the run: a test whose dependency is missing there
// must not pass by skipping (test/requires.ts turns most such skips into errors already).
module.exports = {
  'node-option': ['import=tsx'],
  timeout: 120000,
  reporter: 'spec',
  require: ['test/setup.ts'],
  'forbid-pending': process.env.CI === 'true',
};
