// tf.variableGrads with early frees: each gradient and each tensor saved for the backward pass is disposed as soon
// as the backward pass has used it, instead of all at its end (tfjs 4.22 keeps both until the last node is done).
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';

import { donate, withdraw } from '../backend/donation.js';
import { withWantedInputs } from '../backend/wanted-grads.js';

/** A node of tfjs's gradient tape (engine internals of tfjs-core 4.22, not in its public types). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  saved?: Tensor[];
  gradient?: (dys: Array<Tensor | null>) => Record<string, () => Tensor>;
}

/** The parts of tfjs's Engine this module drives (private in its .d.ts, public at run time). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
}

/**
 * The nodes of `tape` on a path from one of `xs` to `y`, in tape order, with their inputs reduced to those that
 * depend on an x (the other inputs get no gradient). Same selection as tfjs's own backward pass.
 */
export function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly Tensor[], y: Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodesFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    nodesToY.add(node.id);
    for (const t of Object.values(node.inputs)) toY.add(t.id);
  }
  return tape
    .filter((n) => nodesFromX.has(n.id) && nodesToY.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id))) }));
}

/** True when no other tensor shares t's buffer (backends without reference counts: false, nothing is donated). */
function soleOwner(t: Tensor): boolean {
  try {
    return tf.engine().backend.refCount(t.dataId) === 1;
  } catch {
    return false;
  }
}

/**
 * Walks `nodes` backwards from dL/dy = 1, accumulating gradients per tensor id. After a node, the gradients of its
 * outputs and its saved tensors are disposed unless another entry still holds the same tensor object (a gradient
 * function may hand its dy through unchanged). Returns the accumulated gradient of each x (undefined: none).
 */
function backprop(nodes: readonly TapeNode[], xs: readonly Tensor[], y: Tensor): Array<Tensor | undefined> {
  const grads = new Map<number, Tensor>([[y.id, tf.onesLike(y)]]);
  const count = (t: Tensor) => {
    let n = 0;
    for (const g of grads.values()) if (g === t) n++;
    return n;
  };
  const held = (t: Tensor) => count(t) > 0;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
    // A gradient read by this node only, whose buffer no other tensor shares, dies with the node: its gradient
    // function may write into it (the fused conv's ReLU gradient does).
    const donated = dys.filter((g): g is Tensor => g !== null && count(g) === 1 && soleOwner(g));
    donated.forEach(donate);
    let inputGrads: Record<string, () => Tensor>;
    try {
      // Only the inputs kept by nodesFromXsToY are read below: a gradient function may skip the others.
      inputGrads = withWantedInputs(Object.keys(node.inputs), () => node.gradient!(dys));
    } finally {
      donated.forEach(withdraw);
    }
    for (const [name, x] of Object.entries(node.inputs)) {
      const f = inputGrads[name];
      if (!f) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}.`);
      const dx = tf.tidy(f);
      if (dx.dtype !== 'float32') throw new Error(`The gradient of ${node.kernelName}'s input ${name} is ${dx.dtype}, not float32`);
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(`The gradient of ${node.kernelName}'s input ${name} has shape [${dx.shape}], not [${x.shape}]`);
      }
      const acc = grads.get(x.id);
      grads.set(x.id, acc ? tf.add(acc, dx) : dx);
      if (acc && !held(acc)) acc.dispose();
      if (acc && !held(dx)) dx.dispose();
    }
    for (const o of node.outputs) {
      const g = grads.get(o.id);
      grads.delete(o.id);
      if (g && !held(g)) g.dispose();
    }
    for (const t of node.saved ?? []) if (!held(t)) t.dispose();
  }
  return xs.map((x) => grads.get(x.id));
}

/**
 * Like tf.variableGrads(f, vars) (same kernels in the same order, so the same values), with every activation gradient
 * and saved activation freed once the backward pass is past it: the step's peak memory is then about the forward
 * pass's saved tensors, not those plus every gradient. Inside another gradient computation (higher-order
 * gradients need the tape) or with a non-trainable variable it is tf.variableGrads.
 */
export function variableGradsFreeing(f: () => tf.Scalar, vars: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth > 0 || vars.length === 0 || vars.some((v) => !v.trainable)) return tf.variableGrads(f, vars);
  engine.startTape();
  let y: tf.Scalar;
  try {
    y = tf.tidy(f);
  } finally {
    engine.endTape();
  }
  const tape = engine.state.activeTape ?? [];
  try {
    if (y.rank !== 0) throw new Error(`The f passed in variableGrads(f) must return a scalar, but it returned a rank-${y.rank} tensor`);
    return tf.tidy(() => {
      const grads = backprop(nodesFromXsToY(tape, vars, y), vars, y);
      if (grads.every((g) => g === undefined)) {
        throw new Error('Cannot find a connection between any variable and the result of the loss function.');
      }
      const named: tf.NamedTensorMap = {};
      vars.forEach((v, i) => {
        const g = grads[i];
        if (g) named[v.name] = g;
      });
      return { value: y, grads: named };
    });
  } finally {
    // Saved tensors of nodes off the x -> y paths (and any left by an error) are freed here, as tfjs does.
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    engine.state.activeTape = null;
  }
}
