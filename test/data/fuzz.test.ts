// Seeded fuzz: thousands of random and mutated buffers through every parser; only UserErrors or valid results, no hang.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { defaultConfig } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { parseCifar, type CifarKind } from '../../src/data/cifar.js';
import { parseIdx } from '../../src/data/idx.js';
import { loadDataset } from '../../src/data/registry.js';
import type { ImageSet } from '../../src/data/types.js';
import { Rng } from '../../src/util/rng.js';
import { idxBytes, makeCifarRecords, removeDir, tempDir } from './helpers.js';

/** Applies 1-4 random mutations: bit flips, byte overwrites, truncation, appended bytes, header-sized edits, splices. */
function mutate(src: Uint8Array, rng: Rng): Uint8Array {
  let b = Uint8Array.from(src);
  const times = 1 + rng.int(4);
  for (let t = 0; t < times; t++) {
    const kind = rng.int(7);
    if (b.length === 0 && kind < 3) continue;
    if (kind === 0) b[rng.int(b.length)] ^= 1 << rng.int(8);
    else if (kind === 1) b[rng.int(b.length)] = rng.int(256);
    else if (kind === 2) b[rng.int(Math.min(b.length, 16))] = [0, 1, 8, 255, 0x1f, 0x8b][rng.int(6)]; // headers / labels
    else if (kind === 3) b = b.slice(0, rng.int(b.length + 1));
    else if (kind === 4) b = Uint8Array.from([...b, ...Array.from({ length: 1 + rng.int(8) }, () => rng.int(256))]);
    else if (kind === 5) {
      const a = rng.int(b.length + 1);
      const c = rng.int(b.length + 1);
      b = Uint8Array.from([...b.slice(0, Math.min(a, c)), ...b.slice(Math.max(a, c))]);
    } else b = Uint8Array.from(Array.from({ length: rng.int(64) }, () => rng.int(256)));
  }
  return b;
}

function checkSet(s: ImageSet, classes: number): void {
  expect(s.images.length).to.equal(s.n * s.height * s.width * s.channels);
  expect(s.labels.length).to.equal(s.n);
  for (const l of s.labels) expect(l).to.be.within(0, classes - 1);
}

/** Runs fn; a thrown error must be a UserError. Returns true when it threw. */
function onlyUserErrors(fn: () => void, what: string): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`${what}: ${(e as Error).stack}`);
    expect(e.message).to.contain(what);
    return true;
  }
}

describe('data/fuzz (seeded)', function () {
  this.timeout(60_000);
  const rng = new Rng('fuzz');
  const cases = 1500;

  for (const kind of ['cifar10', 'cifar100'] as CifarKind[]) {
    it(`${kind}: ${cases} random and mutated files`, () => {
      const good = makeCifarRecords(2, kind, 1).bytes;
      let rejected = 0;
      for (let i = 0; i < cases; i++) {
        const buf = i % 5 === 0 ? mutate(new Uint8Array(0), rng) : mutate(good, rng);
        const name = `case${i}.bin`;
        rejected += Number(onlyUserErrors(() => checkSet(parseCifar(buf, name, kind, i % 2 ? 'coarse' : 'fine'), kind === 'cifar10' ? 10 : 100), name));
      }
      expect(rejected).to.be.greaterThan(cases / 2);
    });
  }

  for (const gzip of [false, true]) {
    it(`IDX ${gzip ? 'gzipped' : 'plain'}: ${cases} random and mutated image and label files`, () => {
      const images = idxBytes([3, 4, 5], Uint8Array.from({ length: 60 }, (_, i) => i));
      const labels = idxBytes([3], Uint8Array.from([1, 2, 3]));
      const enc = (b: Uint8Array) => (gzip ? zlib.gzipSync(b) : b);
      let rejected = 0;
      for (let i = 0; i < cases; i++) {
        const ndim = i % 2 === 0 ? 3 : 1;
        const buf = mutate(enc(ndim === 3 ? images : labels), rng);
        const name = `idx${i}`;
        rejected += Number(
          onlyUserErrors(() => {
            const a = parseIdx(buf, name, ndim);
            expect(a.dims).to.have.length(ndim);
            expect(a.data.length).to.equal(a.dims.reduce((x, y) => x * y, 1));
          }, name),
        );
      }
      expect(rejected).to.be.greaterThan(cases / 2);
    });
  }

  it('through the file loaders: 150 mutated CIFAR and IDX folders give valid data or a UserError', async () => {
    const dir = tempDir('gaplab-fuzz-');
    try {
      const train = makeCifarRecords(2, 'cifar10', 2).bytes;
      const test = makeCifarRecords(1, 'cifar10', 3).bytes;
      const img = zlib.gzipSync(idxBytes([2, 3, 3], new Uint8Array(18)));
      const lab = zlib.gzipSync(idxBytes([2], Uint8Array.from([0, 9])));
      const base = { ...defaultConfig().data, dir, download: false };
      for (let i = 0; i < 150; i++) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir);
        const mnist = i % 2 === 1;
        if (mnist) {
          const pick = rng.int(4);
          const names = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
          names.forEach((n, k) => fs.writeFileSync(path.join(dir, n), k === pick ? mutate(k % 2 ? lab : img, rng) : k % 2 ? lab : img));
        } else {
          const which = rng.int(3);
          fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), which === 0 ? mutate(train, rng) : train);
          fs.writeFileSync(path.join(dir, 'test_batch.bin'), which === 1 ? mutate(test, rng) : test);
          fs.writeFileSync(path.join(dir, 'batches.meta.txt'), which === 2 ? mutate(Buffer.from('a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n'), rng) : 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n');
        }
        try {
          const ds = await loadDataset({ ...base, name: mnist ? 'mnist' : 'cifar10' }, 1, undefined, { env: {} });
          checkSet(ds.train, 10);
          checkSet(ds.test, 10);
          expect(ds.classNames).to.have.length(10);
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          expect(e.message).to.contain(dir);
        }
      }
    } finally {
      removeDir(dir);
    }
  });
});
