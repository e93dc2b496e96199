// SGD (momentum, Nesterov) and Adam with PyTorch's update rules, a settable learning rate and saveable state.
//
// tfjs's own optimizers bake the learning rate into a constant at construction, so schedules cannot change it,
// and they know nothing of weight decay on kernels only; these few lines give both, plus exact resume.
import * as tf from '@tensorflow/tfjs';
import { nativeSgdMomentum } from '../backend/native/sgd.js';
import type { TrainConfig } from '../config/schema.js';

export interface OptimizerState {
  step: number;
  /** Slot tensors by variable name, e.g. { 'body_conv1/kernel': { momentum: Tensor } }. */
  slots: Record<string, Record<string, tf.Tensor>>;
}

/** An optimizer whose `lr` may change between steps. */
export interface Optimizer {
  lr: number;
  /** Names of the slots each variable gets at its first update (checkpoints check them). */
  readonly slotNames: readonly string[];
  /** Applies one update; `grads` are consumed (disposed). `decay` names the variables that get weight decay. */
  apply(vars: readonly tf.Variable[], grads: Record<string, tf.Tensor>, decay: ReadonlySet<string>): void;
  /** Slot tensors (owned by the optimizer) for checkpoints. */
  state(): OptimizerState;
  /** Replaces the state with copies of the given tensors. */
  load(state: OptimizerState): void;
  dispose(): void;
}

/** A non-trainable variable holding `init`'s buffer; `init` itself is disposed (a variable shares its buffer, so
 *  keeping the tensor too left one tensor behind per slot). */
function ownVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

abstract class SlotOptimizer implements Optimizer {
  protected slots = new Map<string, Record<string, tf.Variable>>();
  protected t = 0;
  constructor(
    public lr: number,
    protected readonly weightDecay: number,
    readonly slotNames: readonly string[],
  ) {}

  protected slotsFor(v: tf.Variable): Record<string, tf.Variable> {
    let s = this.slots.get(v.name);
    if (!s) {
      s = {};
      for (const n of this.slotNames) s[n] = ownVariable(tf.zerosLike(v));
      this.slots.set(v.name, s);
    }
    return s;
  }

  /** The new value of `v` given its (decayed) gradient and slots; runs inside tidy. */
  protected abstract update(v: tf.Variable, g: tf.Tensor, s: Record<string, tf.Variable>): tf.Tensor;

  /** The whole update (decay included) as one fused kernel, updating the slots; undefined where there is none (then
   *  the decay and update() run as tfjs ops). Must give the same values as they do. Runs inside tidy. */
  protected fused(_v: tf.Variable, _g0: tf.Tensor, _weightDecay: number, _s: Record<string, tf.Variable>): tf.Tensor | undefined {
    return undefined;
  }

  apply(vars: readonly tf.Variable[], grads: Record<string, tf.Tensor>, decay: ReadonlySet<string>): void {
    this.t += 1;
    for (const v of vars) {
      const g0 = grads[v.name];
      if (!g0) continue;
      const s = this.slotsFor(v);
      tf.tidy(() => {
        // PyTorch/Caffe weight decay: g += wd * w, on the named (kernel) variables only.
        const wd = this.weightDecay > 0 && decay.has(v.name) ? this.weightDecay : 0;
        const fused = this.fused(v, g0, wd, s);
        if (fused) {
          v.assign(fused);
          return;
        }
        const g = wd > 0 ? tf.add(g0, tf.mul(v, wd)) : g0;
        v.assign(this.update(v, g, s));
      });
      g0.dispose();
    }
  }

  state(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [name, s] of this.slots) slots[name] = { ...s };
    return { step: this.t, slots };
  }

  load(state: OptimizerState): void {
    this.dispose();
    this.t = state.step;
    for (const [name, s] of Object.entries(state.slots)) {
      const copy: Record<string, tf.Variable> = {};
      for (const [k, t] of Object.entries(s)) copy[k] = ownVariable(t.clone());
      this.slots.set(name, copy);
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) for (const t of Object.values(s)) t.dispose();
    this.slots.clear();
  }
}

/** v = m v + g; w -= lr v (Nesterov: w -= lr (g + m v)), as torch.optim.SGD. */
export class Sgd extends SlotOptimizer {
  constructor(lr: number, private readonly momentum: number, private readonly nesterov: boolean, weightDecay: number) {
    super(lr, weightDecay, momentum > 0 ? ['momentum'] : []);
  }
  /** On the native backend, decay, buffer and step in one kernel (the same float32 operations in the same order). */
  protected override fused(v: tf.Variable, g0: tf.Tensor, weightDecay: number, s: Record<string, tf.Variable>): tf.Tensor | undefined {
    if (this.momentum === 0 || !this.fusedEnabled) return undefined;
    const out = nativeSgdMomentum(v, g0, s.momentum!, { weightDecay, momentum: this.momentum, lr: this.lr, nesterov: this.nesterov });
    if (!out) return undefined;
    s.momentum!.assign(out[1]);
    return out[0];
  }

  /** False: always the tfjs ops (tests compare the two). */
  fusedEnabled = true;

  protected update(v: tf.Variable, g: tf.Tensor, s: Record<string, tf.Variable>): tf.Tensor {
    if (this.momentum === 0) return tf.sub(v, tf.mul(g, this.lr));
    // torch initializes the buffer with the first gradient; zeros + g is the same thing.
    const buf = tf.add(tf.mul(s.momentum, this.momentum), g);
    s.momentum.assign(buf);
    const step = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
    return tf.sub(v, tf.mul(step, this.lr));
  }
}

/** Adam with bias correction, as torch.optim.Adam (L2 decay added to the gradient). */
export class Adam extends SlotOptimizer {
  constructor(lr: number, private readonly b1: number, private readonly b2: number, private readonly eps: number, weightDecay: number) {
    super(lr, weightDecay, ['m', 'v']);
  }
  protected update(v: tf.Variable, g: tf.Tensor, s: Record<string, tf.Variable>): tf.Tensor {
    const m = tf.add(tf.mul(s.m, this.b1), tf.mul(g, 1 - this.b1));
    const u = tf.add(tf.mul(s.v, this.b2), tf.mul(tf.square(g), 1 - this.b2));
    s.m.assign(m);
    s.v.assign(u);
    const mHat = tf.div(m, 1 - this.b1 ** this.t);
    const vHat = tf.div(u, 1 - this.b2 ** this.t);
    return tf.sub(v, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.eps)), this.lr));
  }
}

export function createOptimizer(cfg: TrainConfig['optimizer'], weightDecay: number): Optimizer {
  return cfg.name === 'adam'
    ? new Adam(cfg.lr, cfg.beta1, cfg.beta2, cfg.epsilon, weightDecay)
    : new Sgd(cfg.lr, cfg.momentum, cfg.nesterov, weightDecay);
}
