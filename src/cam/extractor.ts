// Runs a loaded model on a batch and returns its predictions and upsampled class activation maps (CAM or Grad-CAM).
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { classMapCam, denseCam, gradCam, upsampleMaps, type HeadFn } from './maps.js';
import { CLASS_MAP_LAYER, FEATURE_LAYER, LOGITS_LAYER } from '../models/layer-names.js';
import { camStructure, headFunction, type CamStructure } from './structure.js';

/** 'cam': Zhou et al.'s CAM (GAP heads only); 'gradcam': Selvaraju et al.'s Grad-CAM on the 'features' maps. */
export type CamMethod = 'cam' | 'gradcam';
export const CAM_METHODS = ['cam', 'gradcam'] as const;

export interface BatchCams {
  /** Softmax probabilities [n*C], row-major. */
  probs: Float32Array;
  /** Top-1 class per image. */
  predicted: Int32Array;
  /** maps[0]: each image's map for its predicted class; maps[j]: for classSets[j-1]. Each [n*H*W] at input size. */
  maps: Float32Array[];
}

export class CamExtractor {
  readonly structure: CamStructure;
  /** input -> [features, probs, class_maps?]; shares the model's layers (the caller disposes the model). */
  private readonly net: tf.LayersModel;
  private readonly head: HeadFn;

  constructor(private readonly model: tf.LayersModel) {
    this.structure = camStructure(model);
    const out = (name: string) => model.getLayer(name).output as tf.SymbolicTensor;
    const outputs = [out(FEATURE_LAYER), model.outputs[0]];
    if (this.structure.cam === 'class-maps') outputs.push(out(CLASS_MAP_LAYER));
    this.net = tf.model({ inputs: model.inputs, outputs });
    this.head = headFunction(model);
  }

  /** CAM where the head allows it, else Grad-CAM. */
  defaultMethod(): CamMethod {
    return this.structure.cam ? 'cam' : 'gradcam';
  }

  /** A UserError when `method` does not apply to this model. */
  checkMethod(method: CamMethod): void {
    if (method === 'cam' && !this.structure.cam) {
      throw new UserError(
        `CAM needs a global-average-pooling head (gap or gap-dense); model '${this.model.name}' has none: use --method gradcam`,
      );
    }
  }

  /** x [n,h,w,c] preprocessed; returns predictions and maps for the predicted class and for each of `classSets`. */
  async analyze(x: tf.Tensor4D, classSets: Int32Array[], method: CamMethod): Promise<BatchCams> {
    this.checkMethod(method);
    const [, h, w] = x.shape;
    const outs = this.net.predict(x) as tf.Tensor[];
    try {
      const [features, probs, classMaps] = outs as [tf.Tensor4D, tf.Tensor2D, tf.Tensor4D | undefined];
      const probData = (await probs.data()) as Float32Array;
      const top = probs.argMax(1);
      const predicted = (await top.data()) as Int32Array;
      top.dispose();
      const maps: Float32Array[] = [];
      for (const classes of [predicted, ...classSets]) {
        const up = tf.tidy(() => upsampleMaps(this.lowResMaps(method, features, classMaps, classes), h, w));
        maps.push((await up.data()) as Float32Array);
        up.dispose();
      }
      return { probs: probData, predicted, maps };
    } finally {
      tf.dispose(outs);
    }
  }

  /** [n,h',w'] maps at the feature resolution. */
  private lowResMaps(method: CamMethod, features: tf.Tensor4D, classMaps: tf.Tensor4D | undefined, classes: Int32Array): tf.Tensor3D {
    if (method === 'gradcam') return gradCam(features, this.head, classes);
    if (this.structure.cam === 'class-maps') return classMapCam(classMaps!, classes);
    const kernel = this.model.getLayer(LOGITS_LAYER).getWeights()[0] as tf.Tensor2D; // [k,C], owned by the layer
    return denseCam(features, kernel, classes);
  }
}
