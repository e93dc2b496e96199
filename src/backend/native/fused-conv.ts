// Conv2D layers with ReLU, on the native backend: one oneDNN convolution with bias and ReLU fused forward, and a
// backward pass from the layer's output alone (tfjs-layers splits them into Conv2D + Add + Relu when training, which
// keeps three activation-sized tensors per layer for the backward pass instead of one).
import * as tf from '@tensorflow/tfjs';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs';

import { isDonated } from '../donation.js';
import { inputGradWanted } from '../wanted-grads.js';
import type { NativeBackend } from './backend.js';
import { NATIVE_BACKEND_NAME } from './gradients.js';
import { RELU_BIAS_GRAD } from './kernels/fused.js';

/** What convBiasRelu needs of a conv layer's configuration. */
export interface ConvGeometry {
  strides: [number, number];
  pad: 'same' | 'valid';
}

/**
 * y = relu(conv2d(x, filter) + bias), NHWC / HWIO, dilation 1, as one custom-gradient op that saves x, filter and y:
 * forward is the FusedConv2D kernel; backward computes dz = dy * (y > 0) and the bias gradient in one pass
 * (relu'(z) = 1 exactly where y = relu(z) > 0), then the input and filter gradients from dz, and frees dz.
 * x [n,h,w,ci], filter [kh,kw,ci,co], bias [co] -> y [n,oh,ow,co].
 */
function convBiasRelu_(x: Tensor4D, filter: Tensor4D, bias: Tensor1D, geo: ConvGeometry): Tensor4D {
  const engine = tf.engine();
  const convAttrs = { strides: geo.strides, pad: geo.pad, dataFormat: 'NHWC' };
  const op = tf.customGrad(((xi: Tensor4D, wi: Tensor4D, bi: Tensor1D, save: (t: Tensor[]) => void) => {
    const y = engine.runKernel('FusedConv2D', { x: xi, filter: wi, bias: bi },
      // leakyreluAlpha as the native kernel reads tfjs's fused.conv2d calls (absent: 0.2; relu ignores it), so that
      // inference, which tfjs-layers runs through fused.conv2d, shares this op's convolution plan and layout choice.
      { ...convAttrs, dilations: [1, 1], activation: 'relu', leakyreluAlpha: 0.2 }) as Tensor4D;
    save([xi, wi, y]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, ws, ys] = saved as [Tensor4D, Tensor4D, Tensor4D];
        // A donated dy (nothing reads it after this) takes dz in place: one activation-sized buffer less.
        const [dz, db] = engine.runKernel(RELU_BIAS_GRAD, { dy, y: ys }, { inPlace: isDonated(dy) }) as Tensor[];
        // x's gradient where the backward pass reads it: not for a model's input images (a placeholder then, never
        // read, freed with the backward pass's other tensors).
        const dx = inputGradWanted('0')
          ? engine.runKernel('Conv2DBackpropInput', { dy: dz!, filter: ws }, { ...convAttrs, inputShape: xs.shape }) as Tensor
          : tf.zeros([0]);
        const dw = engine.runKernel('Conv2DBackpropFilter', { x: xs, dy: dz! }, { ...convAttrs, filterShape: ws.shape }) as Tensor;
        dz!.dispose();
        return [dx, dw, db!];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filter, bias) as Tensor4D;
}

/** convBiasRelu as a named op: profiles list it as convBiasRelu__op around its kernels (not as an unnamed scope). */
export const convBiasRelu = tf.op({ convBiasRelu_ });

/** The fields of a tfjs-layers Conv2D instance read here (public at run time, not in tfjs's exported types). */
interface ConvLayerFields {
  kernel: { read(): Tensor };
  bias: { read(): Tensor } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { getClassName(): string } | null;
  rank: number;
}

type CallArgs = Parameters<tf.layers.Layer['call']>;

/** The layer's output through convBiasRelu, or undefined where the layer's own call must run (another backend,
 *  activation, layout or dilation, no bias, an addon without the backward kernel). */
function nativeCall(layer: tf.layers.Layer, inputs: CallArgs[0]): Tensor | undefined {
  if (tf.getBackend() !== NATIVE_BACKEND_NAME) return undefined;
  const l = layer as unknown as ConvLayerFields;
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
  const [sh, sw] = l.strides;
  if (!x || x.rank !== 4 || x.dtype !== 'float32' || l.rank !== 2 || l.dataFormat !== 'channelsLast' || !l.bias ||
    l.activation?.getClassName() !== 'relu' || l.dilationRate.some((d) => d !== 1) || sh === undefined ||
    sw === undefined || (l.padding !== 'same' && l.padding !== 'valid')) return undefined;
  if (!(tf.backend() as NativeBackend).addon.reluBiasGrad) return undefined;
  const bias = l.bias;
  return tf.tidy(() => convBiasRelu(x as Tensor4D, l.kernel.read() as Tensor4D, bias.read() as Tensor1D,
    { strides: [sh, sw], pad: l.padding as 'same' | 'valid' }));
}

/**
 * Makes a tf.layers.conv2d layer run through convBiasRelu on the native backend (training and inference alike) and
 * as before elsewhere. Only the instance's call changes: the class, config, weights and saved models stay tfjs's.
 */
export function fuseConvOnNative<L extends tf.layers.Layer>(layer: L): L {
  const own = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => nativeCall(layer, inputs) ?? own(inputs, kwargs);
  return layer;
}
