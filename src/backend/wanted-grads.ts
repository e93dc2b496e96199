// Which inputs of the tape node being differentiated need a gradient, for gradient functions that can skip the rest.
//
// tfjs calls a kernel gradient's per-input functions only for inputs on a path from the variables, but a customGrad
// function computes every input's gradient at once: a model's first convolution then computes the gradient of the
// input images (at NIN's first layer, as much work as its filter gradient) for nothing. The training step's backward
// pass (src/train/grads.ts) says here which inputs it will read; elsewhere (tf.grad of an input image, tfjs's own
// backward pass) nothing is set and every gradient is computed.

let wanted: ReadonlySet<string> | null = null;

/** Runs f (a node's gradient function) with only `names` among its inputs' gradients wanted. */
export function withWantedInputs<T>(names: Iterable<string>, f: () => T): T {
  const outer = wanted;
  wanted = new Set(names);
  try {
    return f();
  } finally {
    wanted = outer;
  }
}

/** False only when the backward pass now running will not read the gradient of input `name` (customGrad names its
 *  inputs '0', '1', ... in call order). */
export function inputGradWanted(name: string): boolean {
  return wanted === null || wanted.has(name);
}
