// The layer names other code relies on: training cuts the model at the logits, CAM reads the features and class maps.

/** The body's last layer: feature maps [n,h',w',k] (CAM and Grad-CAM read them). */
export const FEATURE_LAYER = 'features';
/** The head's last layer: pre-softmax scores [n,C] (training's logits model ends here; gap-dense's CAM weights). */
export const LOGITS_LAYER = 'logits';
/** The gap head's 1x1 conv with one map per class [n,h',w',C]: NIN's CAM of class c is map c. */
export const CLASS_MAP_LAYER = 'class_maps';
