// CIFAR-10/100 loader: exact pixels and labels back from files the test writes; broken files; the shared real subset.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultConfig } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { parseCifar, readCifar } from '../../src/data/cifar.js';
import { dataCacheDir, loadDataset } from '../../src/data/registry.js';
import { makeCifarRecords, removeDir, SHARED_CIFAR_SUBSET, tempDir } from './helpers.js';
import { needs } from '../requires.js';

const cfg = (over: object) => ({ ...defaultConfig().data, download: false, ...over });
const noEnv = { env: {} };

async function expectUserError(p: Promise<unknown> | (() => unknown), ...parts: string[]): Promise<UserError> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    expect(e).to.be.instanceOf(UserError);
    for (const part of parts) expect((e as Error).message).to.contain(part);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('data/cifar', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('reads CIFAR-10 batches in the archive folder: exact NHWC pixels, labels, every batch present, names', async () => {
    const folder = path.join(dir, 'cifar-10-batches-bin');
    fs.mkdirSync(folder);
    const b1 = makeCifarRecords(3, 'cifar10', 1);
    const b2 = makeCifarRecords(2, 'cifar10', 2);
    const b10 = makeCifarRecords(1, 'cifar10', 10);
    const t = makeCifarRecords(4, 'cifar10', 3);
    fs.writeFileSync(path.join(folder, 'data_batch_1.bin'), b1.bytes);
    fs.writeFileSync(path.join(folder, 'data_batch_2.bin'), b2.bytes);
    fs.writeFileSync(path.join(folder, 'data_batch_10.bin'), b10.bytes); // numeric order: after 2
    fs.writeFileSync(path.join(folder, 'test_batch.bin'), t.bytes);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    fs.writeFileSync(path.join(folder, 'batches.meta.txt'), names.join('\n') + '\n\n');
    const ds = await loadDataset(cfg({ name: 'cifar10', dir }), 1, undefined, noEnv);
    expect(ds.classNames).to.deep.equal(names);
    expect(ds.train.n).to.equal(6);
    expect([ds.train.height, ds.train.width, ds.train.channels]).to.deep.equal([32, 32, 3]);
    expect(Array.from(ds.train.labels)).to.deep.equal([...b1.fine, ...b2.fine, ...b10.fine]);
    expect(Buffer.from(ds.train.images).equals(Buffer.concat([b1.nhwc, b2.nhwc, b10.nhwc]))).to.equal(true);
    expect(Array.from(ds.test.labels)).to.deep.equal(t.fine);
    expect(Buffer.from(ds.test.images).equals(Buffer.from(t.nhwc))).to.equal(true);
  });

  it('planar to NHWC: pixel (row 0, col 1) of channel G is byte 1 + 1024 + 1', () => {
    const rec = Buffer.alloc(3073);
    rec[0] = 7;
    rec[1 + 1024 + 1] = 200;
    rec[1 + 2048 + 32] = 99; // B at row 1, col 0
    const set = parseCifar(rec, 'x.bin', 'cifar10');
    expect(set.labels[0]).to.equal(7);
    expect(set.images[(0 * 32 + 1) * 3 + 1]).to.equal(200);
    expect(set.images[(1 * 32 + 0) * 3 + 2]).to.equal(99);
  });

  it('reads CIFAR-100 fine labels by default and coarse labels on request, files directly in data.dir', async () => {
    const tr = makeCifarRecords(3, 'cifar100', 4);
    const te = makeCifarRecords(2, 'cifar100', 5);
    fs.writeFileSync(path.join(dir, 'train.bin'), tr.bytes);
    fs.writeFileSync(path.join(dir, 'test.bin'), te.bytes);
    const fine = Array.from({ length: 100 }, (_, i) => `f${i}`);
    const coarse = Array.from({ length: 20 }, (_, i) => `c${i}`);
    fs.writeFileSync(path.join(dir, 'fine_label_names.txt'), fine.join('\n'));
    fs.writeFileSync(path.join(dir, 'coarse_label_names.txt'), coarse.join('\r\n'));
    const ds = await loadDataset(cfg({ name: 'cifar100', dir }), 1, undefined, noEnv);
    expect(ds.classNames).to.deep.equal(fine);
    expect(Array.from(ds.train.labels)).to.deep.equal(tr.fine);
    expect(Array.from(ds.test.labels)).to.deep.equal(te.fine);
    expect(Buffer.from(ds.train.images).equals(Buffer.from(tr.nhwc))).to.equal(true);
    const dc = await loadDataset(cfg({ name: 'cifar100', dir, labels: 'coarse' }), 1, undefined, noEnv);
    expect(dc.classNames).to.deep.equal(coarse);
    expect(Array.from(dc.train.labels)).to.deep.equal(tr.coarse);
    expect(Array.from(dc.test.labels)).to.deep.equal(te.coarse);
  });

  it('applies trainLimit and testLimit (first N images)', async () => {
    const tr = makeCifarRecords(5, 'cifar10', 6);
    fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), tr.bytes);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), makeCifarRecords(3, 'cifar10', 7).bytes);
    const ds = await loadDataset(cfg({ name: 'cifar10', dir, trainLimit: 2, testLimit: 1 }), 1, undefined, noEnv);
    expect(ds.train.n).to.equal(2);
    expect(ds.test.n).to.equal(1);
    expect(Array.from(ds.train.labels)).to.deep.equal(tr.fine.slice(0, 2));
    expect(Buffer.from(ds.train.images).equals(Buffer.from(tr.nhwc.subarray(0, 2 * 3072)))).to.equal(true);
  });

  it('GAPLAB_DATA_DIR overrides data.dir', async () => {
    fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), makeCifarRecords(2, 'cifar10', 8).bytes);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), makeCifarRecords(1, 'cifar10', 9).bytes);
    const ds = await loadDataset(cfg({ name: 'cifar10', dir: '/nonexistent/gaplab' }), 1, undefined, {
      env: { GAPLAB_DATA_DIR: dir },
    });
    expect(ds.train.n).to.equal(2);
    expect(dataCacheDir({ dir: 'data' }, { GAPLAB_DATA_DIR: dir })).to.equal(path.join(dir, '.cache'));
    expect(dataCacheDir({ dir: '/x/data' }, {})).to.equal('/x/data/.cache');
  });

  it('caches beside a read-only dataset folder in the user cache instead (a shared dataset, even as root)', () => {
    const ro = path.join(dir, 'shared-ro');
    fs.mkdirSync(ro);
    fs.chmodSync(ro, 0o555);
    try {
      const home = path.join(dir, 'home');
      const got = dataCacheDir({ dir: ro }, { HOME: home });
      expect(path.dirname(got)).to.equal(path.join(home, '.cache', 'gaplab', 'data'));
      expect(path.basename(got)).to.match(/^[0-9a-f]{16}$/);
      // XDG_CACHE_HOME wins over HOME; the same folder always maps to the same cache, another folder to another.
      expect(dataCacheDir({ dir: ro }, { HOME: home, XDG_CACHE_HOME: '/xdg' })).to.equal(path.join('/xdg', 'gaplab', 'data', path.basename(got)));
      fs.mkdirSync(path.join(dir, 'other-ro'), { mode: 0o555 });
      expect(dataCacheDir({ dir: path.join(dir, 'other-ro') }, { HOME: home })).to.not.equal(got);
    } finally {
      fs.chmodSync(ro, 0o755);
    }
  });

  describe('rejects broken input with a UserError naming the file', () => {
    it('truncated file', async () => {
      const b = makeCifarRecords(2, 'cifar10', 1).bytes;
      fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), b.subarray(0, b.length - 5));
      fs.writeFileSync(path.join(dir, 'test_batch.bin'), makeCifarRecords(1, 'cifar10', 2).bytes);
      await expectUserError(loadDataset(cfg({ name: 'cifar10', dir }), 1, undefined, noEnv), 'data_batch_1.bin', '6141 bytes', '3073-byte');
    });
    it('wrong record size (a CIFAR-100 file read as CIFAR-10)', () =>
      expectUserError(() => parseCifar(makeCifarRecords(3, 'cifar100', 1).bytes, 'train.bin', 'cifar10'), 'train.bin', 'not a whole number'));
    it('label out of range', async () => {
      const b = makeCifarRecords(3, 'cifar10', 1).bytes;
      b[3073] = 10;
      await expectUserError(() => parseCifar(b, 'data_batch_1.bin', 'cifar10'), 'data_batch_1.bin', 'record 1', 'label 10', '0..9');
      const c = makeCifarRecords(2, 'cifar100', 1).bytes;
      c[1] = 100;
      await expectUserError(() => parseCifar(c, 'train.bin', 'cifar100'), 'train.bin', 'record 0', 'fine label 100', '0..99');
      c[1] = 0;
      c[0] = 20;
      await expectUserError(() => parseCifar(c, 'train.bin', 'cifar100', 'fine'), 'coarse label 20', '0..19');
    });
    it('empty file', async () => {
      fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), '');
      fs.writeFileSync(path.join(dir, 'test_batch.bin'), makeCifarRecords(1, 'cifar10', 2).bytes);
      await expectUserError(loadDataset(cfg({ name: 'cifar10', dir }), 1, undefined, noEnv), 'data_batch_1.bin', 'empty file');
    });
    it('missing test file', async () => {
      fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), makeCifarRecords(1, 'cifar10', 2).bytes);
      await expectUserError(loadDataset(cfg({ name: 'cifar10', dir }), 1, undefined, noEnv), 'test_batch.bin', 'not found');
    });
    it('no training file', () =>
      expectUserError(() => readCifar(dir, 'cifar10', 'fine'), dir, 'data_batch_1.bin ... data_batch_5.bin'));
    it('wrong number of class names', async () => {
      fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), makeCifarRecords(1, 'cifar10', 2).bytes);
      fs.writeFileSync(path.join(dir, 'test_batch.bin'), makeCifarRecords(1, 'cifar10', 2).bytes);
      fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'a\nb\n');
      await expectUserError(loadDataset(cfg({ name: 'cifar10', dir }), 1, undefined, noEnv), 'batches.meta.txt', '2 class names', 'expected 10');
    });
    it('empty and missing folders say which files to place where', async () => {
      await expectUserError(
        loadDataset(cfg({ name: 'cifar10', dir }), 1, undefined, noEnv),
        `${dir} is empty`,
        'data_batch_1.bin',
        'test_batch.bin',
        path.join(dir, 'cifar-10-batches-bin'),
      );
      await expectUserError(
        loadDataset(cfg({ name: 'cifar100', dir: path.join(dir, 'nope') }), 1, undefined, noEnv),
        'does not exist',
        'train.bin and test.bin',
        path.join(dir, 'nope', 'cifar-100-binary'),
      );
    });
    it('data.dir that is a file', async () => {
      const f = path.join(dir, 'file');
      fs.writeFileSync(f, 'x');
      await expectUserError(loadDataset(cfg({ name: 'cifar10', dir: f }), 1, undefined, noEnv), 'data.dir', 'is a file');
    });
  });

  it('reads the shared real CIFAR-10 subset when present', async function () {
    needs(this, fs.existsSync(path.join(SHARED_CIFAR_SUBSET, 'data_batch_1.bin')), `the CIFAR-10 subset in ${SHARED_CIFAR_SUBSET} (../shared beside the checkout)`);
    const ds = await loadDataset(cfg({ name: 'cifar10', dir: SHARED_CIFAR_SUBSET }), 1, undefined, noEnv);
    expect(ds.train.n).to.equal(10000);
    expect(ds.test.n).to.equal(10000);
    expect(ds.classNames).to.have.length(10);
    expect(ds.classNames[0]).to.equal('airplane');
    for (const set of [ds.train, ds.test]) for (const l of set.labels) expect(l).to.be.within(0, 9);
    const first = fs.readFileSync(path.join(SHARED_CIFAR_SUBSET, 'data_batch_1.bin')).subarray(0, 3073);
    expect(ds.train.labels[0]).to.equal(first[0]);
    // Red, green and blue of pixel (0, 0) come from the three planes.
    expect([ds.train.images[0], ds.train.images[1], ds.train.images[2]]).to.deep.equal([first[1], first[1025], first[2049]]);
  });
});
