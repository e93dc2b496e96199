// Adam with coupled L2 weight decay on a dense layer's kernel only, against torch.optim.Adam's rule worked out in numpy.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { defaultConfig } from '../../src/config/schema.js';
import { createOptimizer } from '../../src/train/optimizer.js';
import { decayedVariableNames, trainableVariables } from '../../src/train/step.js';

/**
 * Expected values: torch.optim.Adam's _single_tensor_adam (amsgrad off) in float64 numpy, 3 steps:
 *   g += wd * w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * with lr 0.1, betas (0.9, 0.999), eps 0.1 (large, so where eps goes shows), weight_decay 0.5.
 * Step 1 by hand: m/(1-b1) = g and sqrt(v/(1-b2)) = |g|, so w -= lr * g / (|g| + eps). Kernel: g = [0.2 + 0.5*0.5,
 * -0.1 + 0.5*-1] = [0.45, -0.6] -> w = [0.5 - 0.1*0.45/0.55, -1 + 0.1*0.6/0.7] = [0.4181818, -0.9142857]. Bias (no decay):
 * g = 0.3 -> 2 - 0.1*0.3/0.4 = 1.925.
 * The kernel rows would differ by more than 1e-3 with eps inside the sqrt (step 1: -0.9115348), with eps before the bias
 * correction as tfjs's own Adam has it (0.4875425, -0.9840522) or without bias correction (0.4606059, -0.9495687).
 */
const KERNEL_GRADS = [[0.2, -0.1], [-0.4, 0.05], [0.1, 0.1]];
const BIAS_GRADS = [0.3, -0.1, 0.2];
const KERNEL_EXPECTED = [
  [0.418181818182, -0.914285714286],
  [0.392894057276, -0.832921614435],
  [0.350920172754, -0.755439160658],
];
/** The bias is not decayed; with decay it would be 1.907142857143, 1.818357823301, 1.728455956718. */
const BIAS_EXPECTED = [1.925, 1.897347287224, 1.856124492834];

describe('Adam with weight decay (torch.optim.Adam semantics)', () => {
  it('decays the dense kernel and not the bias, with bias correction and eps after the sqrt', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ name: 'wd_dense', units: 1, inputShape: [2] })] });
    const layer = model.getLayer('wd_dense');
    const init = [tf.tensor2d([[0.5], [-1]]), tf.tensor1d([2])];
    layer.setWeights(init);
    tf.dispose(init);
    const [kernel, bias] = trainableVariables(model);
    const decay = decayedVariableNames(model);
    expect([...decay]).to.deep.equal([kernel.name]);
    const opt = createOptimizer({ ...defaultConfig().train.optimizer, name: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 0.1 }, 0.5);
    for (let t = 0; t < 3; t++) {
      opt.apply([kernel, bias], { [kernel.name]: tf.tensor2d(KERNEL_GRADS[t], [2, 1]), [bias.name]: tf.tensor1d([BIAS_GRADS[t]]) }, decay);
      const k = Array.from(kernel.dataSync());
      KERNEL_EXPECTED[t].forEach((e, i) => expect(k[i], `step ${t + 1} kernel[${i}]`).to.be.closeTo(e, 1e-6));
      expect(bias.dataSync()[0], `step ${t + 1} bias`).to.be.closeTo(BIAS_EXPECTED[t], 1e-6);
    }
    opt.dispose();
    model.dispose();
  });
});
