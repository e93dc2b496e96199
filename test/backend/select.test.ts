// Backend selection: auto prefers native where built, falls back to cpu with one warning, explicit misses are UserErrors.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { DISABLE_ENV, selectBackend } from '../../src/backend/select.js';
import { UserError } from '../../src/errors.js';
import { needsNative } from '../requires.js';

async function withNativeDisabled<T>(f: () => Promise<T>): Promise<T> {
  const prev = process.env[DISABLE_ENV];
  process.env[DISABLE_ENV] = '1';
  try {
    return await f();
  } finally {
    if (prev === undefined) delete process.env[DISABLE_ENV];
    else process.env[DISABLE_ENV] = prev;
  }
}

describe('selectBackend', () => {
  after(() => tf.setBackend('cpu'));

  it('cpu on request, without warnings', async () => {
    const warnings: string[] = [];
    const info = await selectBackend('cpu', { threads: 1, warn: (l) => warnings.push(l) });
    expect(info).to.deep.include({ name: 'cpu', requested: 'cpu' });
    expect(tf.getBackend()).to.equal('cpu');
    expect(warnings).to.deep.equal([]);
  });

  it('auto picks native where the addon is built', async function () {
    needsNative(this);
    const warnings: string[] = [];
    const info = await selectBackend('auto', { threads: 2, warn: (l) => warnings.push(l) });
    expect(info.name).to.equal('native');
    expect(info.detail).to.match(/^oneDNN \d+\.\d+\.\d+, 2 threads$/);
    expect(tf.getBackend()).to.equal('native');
    expect(warnings).to.deep.equal([]);
  });

  it(`auto falls back to cpu with exactly one warning line when native is unavailable (${DISABLE_ENV}=1)`, async () => {
    const warnings: string[] = [];
    const info = await withNativeDisabled(() => selectBackend('auto', { threads: 2, warn: (l) => warnings.push(l) }));
    expect(info.name).to.equal('cpu');
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/slow/).and.match(/libdnnl-dev/).and.not.include('\n');
  });

  it('an explicit backend that is missing is a UserError naming it and how to get it', async () => {
    const opts = { threads: 1, warn: () => undefined };
    const err = await withNativeDisabled(() => selectBackend('native', opts).then(() => undefined, (e: unknown) => e));
    expect(err).to.be.instanceOf(UserError);
    expect((err as UserError).message).to.match(/'native'/).and.match(/libdnnl-dev/);
    const tfErr = await selectBackend('tensorflow', opts).then(() => undefined, (e: unknown) => e);
    if (tfErr === undefined) return; // tfjs-node is installed here
    expect(tfErr).to.be.instanceOf(UserError);
    expect((tfErr as UserError).message).to.match(/'tensorflow'/).and.match(/tfjs-node/);
  });
});
