// IDX (MNIST-family) loader: exact pixels and labels from plain and gzipped files, broken files, Fashion-MNIST from /usr/share.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { defaultConfig } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { parseIdx } from '../../src/data/idx.js';
import { loadDataset, SYSTEM_FASHION_MNIST_DIR } from '../../src/data/registry.js';
import { idxBytes, removeDir, tempDir, writeIdxFolder } from './helpers.js';
import { needs } from '../requires.js';

const cfg = (over: object) => ({ ...defaultConfig().data, download: false, ...over });

function expectUserError(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(UserError);
    for (const part of parts) expect((e as Error).message).to.contain(part);
    return;
  }
  throw new Error('expected a UserError');
}

describe('data/idx', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  for (const gzip of [false, true]) {
    it(`reads ${gzip ? 'gzipped' : 'plain'} MNIST files from data.dir/mnist: exact pixels and labels`, async () => {
      const w = writeIdxFolder(path.join(dir, 'mnist'), { n: 5, m: 3, side: 4, gzip, seed: 1 });
      const ds = await loadDataset(cfg({ name: 'mnist', dir }), 1, undefined, { env: {} });
      expect(ds.classNames).to.deep.equal(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect([ds.train.n, ds.train.height, ds.train.width, ds.train.channels]).to.deep.equal([5, 4, 4, 1]);
      expect(Array.from(ds.train.images)).to.deep.equal(Array.from(w.trainImages));
      expect(Array.from(ds.train.labels)).to.deep.equal(Array.from(w.trainLabels));
      expect(Array.from(ds.test.images)).to.deep.equal(Array.from(w.testImages));
      expect(Array.from(ds.test.labels)).to.deep.equal(Array.from(w.testLabels));
    });
  }

  it('reads Fashion-MNIST files placed directly in data.dir, with its class names', async () => {
    writeIdxFolder(dir, { n: 2, m: 2, side: 3, gzip: true, seed: 2 });
    const ds = await loadDataset(cfg({ name: 'fashion-mnist', dir }), 1, undefined, { env: {}, systemFashionDir: '/nonexistent' });
    expect(ds.classNames[0]).to.equal('T-shirt/top');
    expect(ds.classNames[9]).to.equal('Ankle boot');
    expect(ds.train.n).to.equal(2);
  });

  it('without files and downloads, says which four files to place where', async () => {
    try {
      await loadDataset(cfg({ name: 'mnist', dir }), 1, undefined, { env: {} });
      throw new Error('expected a UserError');
    } catch (e) {
      expect(e).to.be.instanceOf(UserError);
      const msg = (e as Error).message;
      for (const s of ['train-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', path.join(dir, 'mnist'), 'is empty']) expect(msg).to.contain(s);
    }
  });

  describe('rejects broken files with a UserError naming the file', () => {
    const good = idxBytes([2, 2, 2], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    it('accepts the good file', () => {
      const a = parseIdx(good, 'f', 3);
      expect(a.dims).to.deep.equal([2, 2, 2]);
      expect(Array.from(a.data)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    });
    it('wrong magic number', () => {
      const b = Buffer.from(good);
      b[2] = 0x0d; // float data
      expectUserError(() => parseIdx(b, 'imgs', 3), 'imgs', 'wrong magic number 00 00 0d 03', '00 00 08 03');
      expectUserError(() => parseIdx(good, 'labels', 1), 'labels', 'wrong magic number 00 00 08 03', '00 00 08 01');
    });
    it('truncated payload and truncated header', () => {
      expectUserError(() => parseIdx(good.subarray(0, good.length - 1), 'imgs', 3), 'imgs', 'truncated', 'needs 24');
      expectUserError(() => parseIdx(good.subarray(0, 10), 'imgs', 3), 'imgs', 'truncated header');
      expectUserError(() => parseIdx(good.subarray(0, 3), 'imgs', 3), 'imgs', 'too short');
    });
    it('trailing bytes (wrong size)', () => {
      expectUserError(() => parseIdx(Buffer.concat([good, Buffer.from([0])]), 'imgs', 3), 'imgs', 'wrong size', 'exactly 24');
    });
    it('empty file and zero items', () => {
      expectUserError(() => parseIdx(Buffer.alloc(0), 'imgs', 3), 'imgs', 'empty file');
      expectUserError(() => parseIdx(idxBytes([0, 2, 2], new Uint8Array(0)), 'imgs', 3), 'imgs', '0 items');
    });
    it('absurd dimensions fail before any allocation', () => {
      expectUserError(() => parseIdx(idxBytes([0xffffffff, 28, 28], new Uint8Array(0)), 'imgs', 3), 'imgs', 'items');
      expectUserError(() => parseIdx(idxBytes([1, 100000, 28], new Uint8Array(0)), 'imgs', 3), 'imgs', '100000x28');
    });
    it('corrupt or truncated gzip', () => {
      const gz = zlib.gzipSync(good);
      expectUserError(() => parseIdx(gz.subarray(0, gz.length - 6), 'imgs.gz', 3), 'imgs.gz', 'gzip');
      const bad = Buffer.from(gz);
      bad[bad.length - 12] ^= 0xff;
      expectUserError(() => parseIdx(bad, 'imgs.gz', 3), 'imgs.gz');
    });
    it('labels out of range and count mismatch', async () => {
      writeIdxFolder(dir, { n: 2, m: 2, side: 2, gzip: false, seed: 3 });
      fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idxBytes([2], Uint8Array.from([3, 10])));
      await loadDataset(cfg({ name: 'mnist', dir }), 1, undefined, { env: {} }).then(
        () => expect.fail('expected a UserError'),
        (e: Error) => {
          expect(e).to.be.instanceOf(UserError);
          expect(e.message).to.contain('train-labels-idx1-ubyte').and.contain('label 1 is 10').and.contain('0..9');
        },
      );
      fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idxBytes([3], Uint8Array.from([3, 1, 2])));
      await loadDataset(cfg({ name: 'mnist', dir }), 1, undefined, { env: {} }).then(
        () => expect.fail('expected a UserError'),
        (e: Error) => expect(e.message).to.contain('3 labels').and.contain('2 images'),
      );
    });
    it('a missing file among the four', async () => {
      writeIdxFolder(dir, { n: 2, m: 2, side: 2, gzip: true, seed: 3 });
      fs.rmSync(path.join(dir, 't10k-images-idx3-ubyte.gz'));
      await loadDataset(cfg({ name: 'mnist', dir }), 1, undefined, { env: {} }).then(
        () => expect.fail('expected a UserError'),
        (e: Error) => expect(e.message).to.contain('t10k-images-idx3-ubyte.gz').and.contain('not found'),
      );
    });
  });

  it('falls back to Debian’s Fashion-MNIST in /usr/share when data.dir has no files (when installed)', async function () {
    needs(this, fs.existsSync(path.join(SYSTEM_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')), `Fashion-MNIST in ${SYSTEM_FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
    this.timeout(60_000);
    const ds = await loadDataset(cfg({ name: 'fashion-mnist', dir, testLimit: 100 }), 1, undefined, { env: {} });
    expect([ds.train.n, ds.train.height, ds.train.width, ds.train.channels]).to.deep.equal([60000, 28, 28, 1]);
    expect(ds.test.n).to.equal(100);
    const counts = new Array(10).fill(0);
    for (const l of ds.train.labels) counts[l]++;
    expect(counts).to.deep.equal(new Array(10).fill(6000)); // Fashion-MNIST is exactly balanced
    const raw = zlib.gunzipSync(fs.readFileSync(path.join(SYSTEM_FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz')));
    expect(ds.train.labels[0]).to.equal(raw[8]);
  });
});
