// The PyTorch peer: the same model (parameter counts), the same optimizer settings, a tuned and a plain environment.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { peerOptimizer } from '../../src/bench/config.js';
import { ALLOCATOR_CANDIDATES, findAllocator, peerArgs, peerEnv } from '../../src/bench/torch.js';
import { defaultConfig } from '../../src/config/schema.js';
import { buildModel } from '../../src/models/registry.js';
import { needs } from '../requires.js';

const SCRIPT = fileURLToPath(new URL('../../bench/pytorch/nin.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const TCMALLOC = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4';
const hasTorch = () => spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('bench PyTorch peer', () => {
  it('finds the first installed allocator, or none', () => {
    expect(findAllocator((p) => p.endsWith('libjemalloc.so.2'))).to.equal('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2');
    expect(findAllocator((p) => p === TCMALLOC || p.includes('jemalloc'))).to.equal(TCMALLOC);
    expect(findAllocator(() => false)).to.equal(undefined);
    expect(ALLOCATOR_CANDIDATES[0]).to.equal(TCMALLOC);
  });

  it('tuned: preloads the allocator (keeping other preloads) and sets OMP_NUM_THREADS; plain: neither', () => {
    const base = { LD_PRELOAD: '/lib/libfoo.so /usr/lib/libjemalloc.so.2', OMP_NUM_THREADS: '7', PATH: '/bin' };
    const tuned = peerEnv('tuned', 2, TCMALLOC, base);
    expect(tuned.LD_PRELOAD).to.equal(`/lib/libfoo.so:${TCMALLOC}`);
    expect(tuned.OMP_NUM_THREADS).to.equal('2');
    expect(tuned.PATH).to.equal('/bin');
    const plain = peerEnv('plain', 2, TCMALLOC, base);
    expect(plain.LD_PRELOAD).to.equal('/lib/libfoo.so');
    expect(plain.OMP_NUM_THREADS).to.equal(undefined);
    expect(peerEnv('plain', 2, undefined, { PATH: '/bin' })).to.not.have.property('LD_PRELOAD');
    expect(() => peerEnv('tuned-bf16', 2, undefined, base)).to.throw(/no tcmalloc or jemalloc installed \(apt-get install libtcmalloc-minimal4\)/);
  });

  it("passes our config's optimizer to the peer (configs/nin-cifar10.yaml: SGD lr 0.02, momentum 0.9, weight decay 5e-4)", () => {
    const opt = peerOptimizer('gap');
    expect(opt).to.deep.equal({ lr: 0.02, momentum: 0.9, weightDecay: 0.0005 });
    const args = peerArgs({ python: PYTHON, script: SCRIPT, head: 'fc-dropout', batch: 64, steps: 20, warmup: 3, threads: 2, ...opt }, 'tuned-bf16');
    expect(args.join(' ')).to.equal(`${SCRIPT} --head fc-dropout --batch 64 --steps 20 --warmup 3 --threads 2 --lr 0.02 --momentum 0.9 --weight-decay 0.0005 --bf16`);
  });

  it('builds the same NIN as ours: 966,986 parameters with the gap head, 1,087,946 with fc (REFERENCES.md; 965,056 + 12,288 x 10 + 10)', function () {
    needs(this, hasTorch(), `PyTorch for ${PYTHON} (apt-get install python3-torch)`);
    this.timeout(60_000);
    const cfg = defaultConfig().model;
    cfg.body = 'nin';
    for (const [head, expected] of [['gap', 966_986], ['fc-dropout', 1_087_946]] as const) {
      const out = JSON.parse(execFileSync(PYTHON, [SCRIPT, '--params-only', '--head', head], { encoding: 'utf8' })) as { params: number };
      expect(out.params, `pytorch ${head}`).to.equal(expected);
      const ours = buildModel({ ...cfg, head }, { inputShape: [32, 32, 3], numClasses: 10 }, 1);
      expect(ours.params.total, `gaplab ${head}`).to.equal(expected);
      ours.model.dispose();
    }
  });

  it('runs one timed step and reports the allocator it ran with and oneDNN ISA', function () {
    needs(this, hasTorch(), `PyTorch for ${PYTHON} (apt-get install python3-torch)`);
    this.timeout(120_000);
    const out = execFileSync(PYTHON, [SCRIPT, '--head', 'gap', '--batch', '2', '--steps', '1', '--warmup', '0', '--threads', '1'],
      { encoding: 'utf8', env: peerEnv('plain', 1, undefined, process.env) });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(r).to.include({ head: 'gap', batch: 2, params: 966_986, precision: 'fp32', allocator: 'glibc malloc' });
    expect(r.isa).to.match(/AVX|SSE/i);
    expect(r.train_images_per_s).to.be.a('number').above(0);
    // One timed step: median, min and max are that step; the rate is the batch over it.
    const ms = r.train_step_ms as { median: number; min: number; max: number };
    expect(ms.min).to.equal(ms.median).and.equal(ms.max);
    expect(r.train_images_per_s).to.be.closeTo(2000 / ms.median, 0.1 + 2000 / ms.median * 0.01);
  });
});
