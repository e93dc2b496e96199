// The test-requirement helper: a missing dependency skips a test on a developer's machine and fails it in CI.
import { expect } from 'chai';
import { needs, required } from './requires.js';

describe('test requirements', () => {
  it('are required in CI (CI=true) or by their own variable, optional elsewhere', () => {
    expect(required(undefined, { CI: 'true' })).to.equal(true);
    expect(required('GAPLAB_REQUIRE_NATIVE', { GAPLAB_REQUIRE_NATIVE: '1' })).to.equal(true);
    expect(required('GAPLAB_REQUIRE_NATIVE', {})).to.equal(false);
    expect(required(undefined, { CI: 'false' })).to.equal(false);
  });

  it('fail with what is missing when required, skip otherwise, and pass when present', function () {
    const saved = process.env.CI;
    let skipped = 0;
    const ctx = { skip: () => { skipped++; } } as unknown as Mocha.Context;
    try {
      process.env.CI = 'true';
      expect(() => needs(ctx, false, 'Chromium at /usr/bin/chromium')).to.throw('missing in CI: Chromium at /usr/bin/chromium');
      needs(ctx, true, 'anything');
      process.env.CI = 'false';
      needs(ctx, false, 'Chromium');
      expect(skipped).to.equal(1);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});
