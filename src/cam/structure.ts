// Reads a loaded model's CAM structure from its layer names: which CAM applies, and the head as a function for Grad-CAM.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { HeadFn } from './maps.js';
import { CLASS_MAP_LAYER, FEATURE_LAYER, LOGITS_LAYER } from '../models/layer-names.js';

/**
 * How CAM is computed for a model: 'class-maps' (NIN's gap head: class c's map is the CAM), 'dense-weights'
 * (gap-dense: the kernel of the dense layer after GAP weights the feature maps), or none (fc heads: Grad-CAM only).
 */
export type CamKind = 'class-maps' | 'dense-weights';

export interface CamStructure {
  /** Undefined when the head has no GAP structure (CAM does not apply; Grad-CAM does). */
  cam?: CamKind;
  /** [h, w, c] of one input image. */
  inputShape: [number, number, number];
  /** [h', w', k] of the feature maps. */
  featureShape: [number, number, number];
  numClasses: number;
}

type Layer = tf.layers.Layer;

function findLayer(model: tf.LayersModel, name: string): Layer | undefined {
  return model.layers.find((l) => l.name === name);
}

/** The layers feeding `layer` (its first inbound node: the model's own graph). */
function inboundOf(layer: Layer): Layer[] {
  return layer.inboundNodes[0]?.inboundLayers ?? [];
}

function onlyInbound(layer: Layer): Layer | undefined {
  const ins = inboundOf(layer);
  return ins.length === 1 ? ins[0] : undefined;
}

function shapeOf(layer: Layer): number[] {
  return (layer.output as tf.SymbolicTensor).shape.map((d) => d ?? -1);
}

/** A shape for messages, the batch dimension (-1 or null) as n. */
const dims = (shape: Array<number | null>): string => shape.map((d) => (d === null || d < 0 ? 'n' : d)).join(', ');

function describeInputs(model: tf.LayersModel): string {
  return model.inputs.map((t) => `[${dims(t.shape)}]`).join(' and ');
}

export function camStructure(model: tf.LayersModel): CamStructure {
  const features = findLayer(model, FEATURE_LAYER);
  const logits = findLayer(model, LOGITS_LAYER);
  for (const [layer, name] of [[features, FEATURE_LAYER], [logits, LOGITS_LAYER]] as const) {
    if (!layer) {
      throw new UserError(`model '${model.name}' has no layer named '${name}' (CAM needs a model built by gaplab's registry)`);
    }
  }
  // A model of another shape loads fine in tfjs but would fail deep inside CAM: check the ranks CAM relies on.
  const inputShape = model.inputs.length === 1 ? model.inputs[0].shape : [];
  if (inputShape.length !== 4) {
    throw new UserError(`model '${model.name}' must take one batch of images [n, h, w, c]; its input is ${describeInputs(model)}`);
  }
  const input = inputShape.slice(1) as [number, number, number];
  const fShape = shapeOf(features!).slice(1) as [number, number, number];
  if (fShape.length !== 3) {
    throw new UserError(`model '${model.name}': layer '${FEATURE_LAYER}' must output feature maps [n, h, w, k]; it outputs [${dims(shapeOf(features!))}]`);
  }
  const lShape = shapeOf(logits!);
  if (lShape.length !== 2 || model.outputs.length !== 1) {
    throw new UserError(`model '${model.name}': layer '${LOGITS_LAYER}' must output [n, classes] and the model have one output; it outputs [${dims(lShape)}]`);
  }
  const numClasses = lShape[1];
  let cam: CamKind | undefined;
  const pooled = onlyInbound(logits!);
  const classMaps = findLayer(model, CLASS_MAP_LAYER);
  if (logits!.getClassName() === 'GlobalAveragePooling2D' && classMaps && pooled === classMaps) {
    cam = 'class-maps';
  } else if (
    logits!.getClassName() === 'Dense' &&
    pooled?.getClassName() === 'GlobalAveragePooling2D' &&
    onlyInbound(pooled) === features
  ) {
    cam = 'dense-weights';
  }
  return { ...(cam ? { cam } : {}), inputShape: input, featureShape: fShape, numClasses };
}

/**
 * The model's head, feature maps -> logits, as a function on concrete tensors (so tf.grad can differentiate it):
 * every layer between 'features' and 'logits' applied in the model's topological order, in inference mode.
 */
export function headFunction(model: tf.LayersModel): HeadFn {
  const layers = model.layers;
  const start = layers.findIndex((l) => l.name === FEATURE_LAYER);
  const end = layers.findIndex((l) => l.name === LOGITS_LAYER);
  if (start < 0 || end < 0 || end <= start) throw new UserError(`model '${model.name}': cannot find its head between '${FEATURE_LAYER}' and '${LOGITS_LAYER}'`);
  // Keep the layers 'logits' depends on (walking back from it), stopping at 'features'.
  const needed = new Set<string>();
  const visit = (l: Layer): void => {
    if (l.name === FEATURE_LAYER || needed.has(l.name)) return;
    needed.add(l.name);
    const ins = inboundOf(l);
    if (ins.length === 0) throw new UserError(`model '${model.name}': the logits depend on input other than '${FEATURE_LAYER}' (layer '${l.name}')`);
    ins.forEach(visit);
  };
  visit(layers[end]);
  const chain = layers.filter((l) => needed.has(l.name));
  return (features) => {
    const values = new Map<string, tf.Tensor>([[FEATURE_LAYER, features]]);
    for (const layer of chain) {
      const ins = inboundOf(layer).map((l) => values.get(l.name)!);
      values.set(layer.name, layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor);
    }
    return values.get(LOGITS_LAYER) as tf.Tensor2D;
  };
}
