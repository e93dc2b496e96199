// The oneDNN-alone reference of `npm run bench -- --ceiling`: NIN's layer list, the program's arithmetic and output.
import { expect } from 'chai';

import { loadAddon } from '../../src/backend/native/addon.js';
import { buildCeilingProgram, formatCeiling, measureCeiling, ninConvLayers } from '../../src/bench/ceiling.js';

describe('bench: oneDNN-alone convolutions (--ceiling)', function () {
  this.timeout(120_000);

  it("lists NIN's convolutions by hand: 8 in the body, the gap head's class maps as a 9th, no input gradient for the first", () => {
    const body = ['32,3,192,5,1', '32,192,160,1,0', '32,160,96,1,0', '16,96,192,5,0', '16,192,192,1,0', '16,192,192,1,0', '8,192,192,3,0', '8,192,192,1,0'];
    expect(ninConvLayers('fc-dropout')).to.deep.equal(body);
    expect(ninConvLayers('gap')).to.deep.equal([...body, '8,192,10,1,0']);
  });

  it('builds and runs: per-layer times that add up, and the FLOPs of a NIN training step (1.305 GFLOP per image)', () => {
    const bin = buildCeilingProgram();
    const c = measureCeiling(bin, 'fp32', 2, 2, 'gap', 1);
    expect(c.layers.map((l) => l.layer)).to.deep.equal([
      '32x32 3->192 k5', '32x32 192->160 k1', '32x32 160->96 k1', '16x16 96->192 k5', '16x16 192->192 k1', '16x16 192->192 k1',
      '8x8 192->192 k3', '8x8 192->192 k1', '8x8 192->10 k1']);
    expect(c.layers[0]!.bwdDataMs, 'first layer: no input gradient').to.equal(0);
    const sum = (k: 'fwdMs' | 'bwdDataMs' | 'bwdWeightsMs') => c.layers.reduce((s, l) => s + l[k], 0);
    expect(c.fwdMs).to.be.closeTo(sum('fwdMs'), 0.01);
    expect(c.totalMs).to.be.closeTo(c.fwdMs + c.bwdDataMs + c.bwdWeightsMs, 0.01);
    expect(c.imagesPerS).to.be.closeTo((2 * 1000) / c.totalMs, 0.1 + c.imagesPerS * 1e-3);
    // Multiply-adds per image, forward: 32*32*(3*192*25 + 192*160 + 160*96) + 16*16*(96*192*25 + 2*192*192)
    // + 8*8*(192*192*9 + 192*192 + 192*10) = 222,486,528; a training step: 3 passes, minus the first layer's input
    // gradient (32*32*3*192*25 = 14,745,600): 652,713,984 multiply-adds = 1.305 GFLOP per image.
    const flops = 2 * 2 * (3 * 222_486_528 - 14_745_600);
    expect(c.gflops * c.totalMs * 1e6).to.be.closeTo(flops, flops * 0.01 + 0.05 * c.totalMs * 1e6);
    const inferCeiling = (2 * 1000) / c.fwdMs;
    expect(formatCeiling(c, 'gap', [{ name: 'native', train: c.imagesPerS / 2, infer: inferCeiling / 4 }, { name: 'pytorch tuned' }]))
      .to.match(/fp32 batch 2: .* native 50% \/ 25%, pytorch tuned - \/ -$/);
  });

  it('runs bf16 where oneDNN has bf16 convolutions, and fails with a message naming the measurement where it has none', () => {
    const bin = buildCeilingProgram();
    const isa = loadAddon()?.info().isa ?? '';
    if (isa.startsWith('avx512')) {
      const c = measureCeiling(bin, 'bf16', 2, 2, 'gap', 1);
      expect(c.precision).to.equal('bf16');
      expect(c.layers).to.have.length(9);
    } else {
      expect(() => measureCeiling(bin, 'bf16', 2, 2, 'gap', 1)).to.throw(/oneDNN-alone measurement failed/);
    }
  });
});
