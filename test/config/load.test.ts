// Config loading: extends chains, --set overrides, defaults, and one clear error per mistake.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyOverrides, deepMerge, loadConfig } from '../../src/config/load.js';
import { UserError } from '../../src/errors.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-cfg-'));
}

function write(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('config loading', () => {
  it('fills defaults and names the experiment after the file', () => {
    const d = tmpDir();
    const f = write(d, 'mine.yaml', 'seed: 7\n');
    const { config } = loadConfig(f);
    expect(config.seed).to.equal(7);
    expect(config.experiment).to.equal('mine');
    expect(config.train.epochs).to.equal(10); // the schema's default
    expect(config.data.augmentation.crop).to.equal(4);
  });

  it('merges extends chains (later wins, arrays replaced) and applies --set last', () => {
    const d = tmpDir();
    write(d, 'base.yaml', 'train:\n  epochs: 5\n  batchSize: 16\nmodel:\n  fc: { hidden: [512, 256] }\n');
    write(d, 'mid.yaml', 'extends: base\ntrain:\n  epochs: 9\nmodel:\n  fc: { hidden: [8] }\n');
    const f = write(d, 'leaf.yaml', 'extends: mid.yaml\nmodel:\n  head: fc\n');
    const { config, sources } = loadConfig(f, ['train.batchSize=32', 'data.dir=/x/y', 'model.fc.hidden=[1,2]']);
    expect(sources.map((s) => path.basename(s))).to.deep.equal(['base.yaml', 'mid.yaml', 'leaf.yaml']);
    expect(config.train.epochs).to.equal(9);
    expect(config.train.batchSize).to.equal(32);
    expect(config.data.dir).to.equal('/x/y');
    expect(config.model.head).to.equal('fc');
    expect(config.model.fc.hidden).to.deep.equal([1, 2]);
  });

  it('resolves a bare name under the configs folder', () => {
    const { config } = loadConfig('nin-gap', [], 'configs');
    expect(config.model.body).to.equal('nin');
    expect(config.model.head).to.equal('gap');
    expect(config.data.name).to.equal('cifar10');
    expect(config.experiment).to.equal('nin-gap');
  });

  it('every shipped config validates', () => {
    for (const f of fs.readdirSync('configs').filter((n) => n.endsWith('.yaml'))) {
      expect(() => loadConfig(path.join('configs', f)), f).to.not.throw();
    }
  });

  it('names the file and key path of an unknown key, with a hint', () => {
    const d = tmpDir();
    const f = write(d, 'bad.yaml', 'train:\n  epoch: 3\n');
    const e = errorOf(() => loadConfig(f));
    expect(e.message).to.contain('bad.yaml');
    expect(e.message).to.contain("train.epoch: unknown key (did you mean 'epochs'?)");
    expect(e.exitCode).to.equal(2);
  });

  it('refuses early stopping without a validation set, naming both keys', () => {
    const d = tmpDir();
    const e = errorOf(() => loadConfig(write(d, 'es.yaml', 'data: { validationSize: 0 }\ntrain: { earlyStopping: { patience: 3 } }\n')));
    expect(e.message).to.contain('train.earlyStopping.patience: early stopping watches a validation metric, but data.validationSize is 0');
    expect(e.exitCode).to.equal(2);
    expect(() => loadConfig(write(d, 'es-off.yaml', 'data: { validationSize: 0 }\n'))).to.not.throw();
  });

  it('names wrong types, out-of-range values and unknown names', () => {
    const d = tmpDir();
    expect(errorOf(() => loadConfig(write(d, 'a.yaml', 'train: { epochs: "ten" }\n'))).message).to.match(/train\.epochs: .*number/);
    expect(errorOf(() => loadConfig(write(d, 'b.yaml', 'train: { batchSize: 0 }\n'))).message).to.contain('train.batchSize:');
    expect(errorOf(() => loadConfig(write(d, 'c.yaml', 'train: { batchSize: 100000000 }\n'))).message).to.contain('train.batchSize:');
    expect(errorOf(() => loadConfig(write(d, 'd.yaml', 'model: { head: maxpool }\n'))).message).to.match(/model\.head: .*"gap"/);
    expect(errorOf(() => loadConfig(write(d, 'e.yaml', 'data: { name: imagenet }\n'))).message).to.contain('data.name:');
    expect(errorOf(() => loadConfig(write(d, 'f.yaml', 'model: { resnet: { depth: 21 } }\n'))).message).to.contain('model.resnet.depth: must be 6n+2');
  });

  it('blames --set for a bad override', () => {
    const d = tmpDir();
    const f = write(d, 'ok.yaml', '{}\n');
    expect(errorOf(() => loadConfig(f, ['train.epochs=-1'])).message).to.contain('--set train.epochs=-1');
    expect(errorOf(() => loadConfig(f, ['novalue'])).message).to.contain('expected key.path=value');
    expect(errorOf(() => loadConfig(f, ['__proto__.x=1'])).message).to.contain('bad key path');
  });

  it('rejects YAML syntax errors, non-mappings, cycles, missing files and alias bombs', () => {
    const d = tmpDir();
    expect(errorOf(() => loadConfig(write(d, 's.yaml', 'train: [\n'))).message).to.contain('invalid YAML');
    expect(errorOf(() => loadConfig(write(d, 'l.yaml', '- 1\n- 2\n'))).message).to.contain('must be a mapping');
    write(d, 'x.yaml', 'extends: y\n');
    expect(errorOf(() => loadConfig(write(d, 'y.yaml', 'extends: x\n'))).message).to.contain('extends cycle');
    expect(errorOf(() => loadConfig(path.join(d, 'nope.yaml'))).message).to.contain('config not found');
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 9; i++) bomb.push(`${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(', ')}]`);
    expect(errorOf(() => loadConfig(write(d, 'bomb.yaml', bomb.join('\n') + '\n'))).message).to.contain('invalid YAML');
  });

  it('deepMerge and applyOverrides do not mutate their inputs', () => {
    const base = { a: { b: 1 } };
    const merged = deepMerge(base, { a: { c: 2 } });
    expect(base).to.deep.equal({ a: { b: 1 } });
    expect(merged).to.deep.equal({ a: { b: 1, c: 2 } });
    expect(applyOverrides(base, ['a.b=true'])).to.deep.equal({ a: { b: true } });
  });
});
