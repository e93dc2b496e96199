// Class activation maps: CAM (Zhou et al.) from class maps or GAP->dense weights, Grad-CAM (Selvaraju et al.), upsampling.
import * as tf from '@tensorflow/tfjs';

/**
 * CAM of a gap-dense head: M_c(x, y) = sum_k w_k^c f_k(x, y), without the bias (as in the paper).
 * features [n,h,w,k], kernel [k,C] (the dense layer after GAP), classes[i] picks image i's class -> [n,h,w].
 */
export function denseCam(features: tf.Tensor4D, kernel: tf.Tensor2D, classes: Int32Array): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, , , k] = features.shape;
    const idx = tf.tensor1d(classes, 'int32');
    const w = tf.gather(tf.transpose(kernel), idx).reshape([n, 1, 1, k]); // row i = w^{c_i}, [n,1,1,k]
    return tf.sum(tf.mul(features, w), 3) as tf.Tensor3D;
  });
}

/** CAM of NIN's gap head: the class's own map. classMaps [n,h,w,C] -> [n,h,w] (map c_i of image i, exactly). */
export function classMapCam(classMaps: tf.Tensor4D, classes: Int32Array): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, , , c] = classMaps.shape;
    const hot = tf.oneHot(tf.tensor1d(classes, 'int32'), c).toFloat().reshape([n, 1, 1, c]);
    return tf.sum(tf.mul(classMaps, hot), 3) as tf.Tensor3D;
  });
}

/** Maps features [n,h,w,k] to logits [n,C] (the part of the model after the feature layer). */
export type HeadFn = (features: tf.Tensor4D) => tf.Tensor2D;

/**
 * Grad-CAM: alpha_k^c = mean over (x, y) of d logit_c / d f_k(x, y); map = ReLU(sum_k alpha_k^c f_k).
 * Each image's logit depends on that image's features only (inference mode), so one gradient of the summed
 * selected logits gives every image's gradient at once. features [n,h,w,k] -> [n,h,w].
 */
export function gradCam(features: tf.Tensor4D, head: HeadFn, classes: Int32Array): tf.Tensor3D {
  return tf.tidy(() => {
    const idx = tf.tensor1d(classes, 'int32');
    const selected = (f: tf.Tensor) => {
      const logits = head(f as tf.Tensor4D); // [n,C]
      return tf.sum(tf.mul(logits, tf.oneHot(idx, logits.shape[1]).toFloat()));
    };
    const grads = tf.grad(selected)(features) as tf.Tensor4D; // [n,h,w,k]
    const alpha = tf.mean(grads, [1, 2], true); // [n,1,1,k]
    return tf.relu(tf.sum(tf.mul(features, alpha), 3)) as tf.Tensor3D;
  });
}

/**
 * Bilinear upsampling of maps [n,h,w] to [n,height,width] with half-pixel centres (the convention of OpenCV's and
 * PIL's resize, which the CAM papers' code uses).
 */
export function upsampleMaps(maps: tf.Tensor3D, height: number, width: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [n] = maps.shape;
    return tf.image.resizeBilinear(maps.expandDims(3) as tf.Tensor4D, [height, width], false, true).reshape([n, height, width]);
  });
}
