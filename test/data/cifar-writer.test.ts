// The CIFAR-10 file-set writer (scripts/make-cifar.ts): the loader reads what it writes, any size, seeded, no stale files.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CIFAR10_NAMES, readCifar } from '../../src/data/cifar.js';
import { writeCifar10 } from '../../src/data/cifar-writer.js';
import { UserError } from '../../src/errors.js';
import { removeDir, tempDir } from './helpers.js';

describe('data/cifar-writer', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('writes training files of up to recordsPerFile records, a test file and the names; readCifar reads them back', () => {
    writeCifar10(dir, { train: 25, test: 7, seed: 3, recordsPerFile: 10 });
    const sizes = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'test_batch.bin'].map((f) => fs.statSync(path.join(dir, f)).size);
    expect(sizes).to.deep.equal([10, 10, 5, 7].map((n) => n * 3073));
    const { classNames, train, test } = readCifar(dir, 'cifar10', 'fine');
    expect(classNames).to.deep.equal(CIFAR10_NAMES);
    expect([train.n, test.n]).to.deep.equal([25, 7]);
    // Labels are the records' first bytes (readCifar range-checks them); pixels are spread over all 256 values.
    const raw = fs.readFileSync(path.join(dir, 'data_batch_1.bin'));
    expect(Array.from(train.labels.subarray(0, 10))).to.deep.equal(Array.from({ length: 10 }, (_, i) => raw[i * 3073]));
    expect(new Set(train.labels).size).to.be.greaterThan(4);
    expect(new Set(train.images).size).to.equal(256);
    const mean = train.images.reduce((s, v) => s + v, 0) / train.images.length;
    expect(mean).to.be.closeTo(127.5, 2);
  });

  it('the same seed writes the same bytes, another seed other bytes', () => {
    const bytes = (seed: number) => {
      writeCifar10(dir, { train: 3, test: 2, seed });
      return Buffer.concat(['data_batch_1.bin', 'test_batch.bin'].map((f) => fs.readFileSync(path.join(dir, f))));
    };
    const a = bytes(1);
    expect(bytes(1).equals(a)).to.equal(true);
    expect(bytes(2).equals(a)).to.equal(false);
  });

  it('removes training files of an earlier, larger set, which the loader would otherwise read too', () => {
    writeCifar10(dir, { train: 30, test: 1, recordsPerFile: 10 });
    writeCifar10(dir, { train: 12, test: 1, recordsPerFile: 10 });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('data_batch_')).sort()).to.deep.equal(['data_batch_1.bin', 'data_batch_2.bin']);
    expect(readCifar(dir, 'cifar10', 'fine').train.n).to.equal(12);
  });

  it('bad sizes and an unwritable folder are UserErrors naming what is wrong', () => {
    expect(() => writeCifar10(dir, { train: 0, test: 1 })).to.throw(UserError, 'train: expected a whole number >= 1, got 0');
    expect(() => writeCifar10(dir, { train: 1, test: 1.5 })).to.throw(UserError, 'test:');
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    expect(() => writeCifar10(path.join(file, 'sub'), { train: 1, test: 1 })).to.throw(UserError, 'cannot create the folder');
  });

  it('scripts/make-cifar.ts writes a set from the command line', () => {
    const out = path.join(dir, 'set');
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-cifar.ts', '--out', out, '--train', '3', '--test', '2'], {
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).to.equal(0);
    expect(res.stdout).to.contain(`wrote 3 training and 2 test images in 3 files to ${out}`);
    expect(readCifar(out, 'cifar10', 'fine').test.n).to.equal(2);
  });
});
