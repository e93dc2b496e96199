// The one validated config schema: every key, its type, range and default live here and nowhere else.
import { z } from 'zod';

/** Upper bounds that keep a typo from allocating the machine away (issue: hostile configs). */
export const LIMITS = {
  epochs: 100_000,
  batchSize: 8192,
  imageSize: 512,
  datasetSize: 10_000_000,
  classes: 1000,
  filters: 8192,
  threads: 1024,
} as const;

const posInt = (max: number) => z.number().int().positive().max(max);
const nonNegInt = (max: number) => z.number().int().nonnegative().max(max);
const rate = z.number().min(0).max(0.99);

export const BODY_NAMES = ['nin', 'cnn', 'resnet'] as const;
export const HEAD_NAMES = ['gap', 'gap-dense', 'fc', 'fc-dropout'] as const;
export const DATASET_NAMES = ['synthetic', 'cifar10', 'cifar100', 'mnist', 'fashion-mnist'] as const;
export const BACKEND_NAMES = ['auto', 'native', 'tensorflow', 'cpu'] as const;
export const INITIALIZERS = ['heNormal', 'heUniform', 'glorotNormal', 'glorotUniform', 'randomNormal'] as const;

const syntheticSchema = z.strictObject({
  /** Number of object classes drawn (at most 10). */
  classes: z.number().int().min(2).max(10).default(6),
  trainSize: posInt(LIMITS.datasetSize).default(6000),
  testSize: posInt(LIMITS.datasetSize).default(1500),
  /** Side of the square RGB images, in pixels. */
  imageSize: z.number().int().min(8).max(LIMITS.imageSize).default(32),
  /** Background distractors and pixel noise, 0 (plain gradient, easy) to 1 (full clutter, hard). */
  clutter: z.number().min(0).max(1).default(1),
});

const augmentationSchema = z.strictObject({
  /** Pad by this many pixels (zero padding) and crop back at a random offset; 0 turns it off. */
  crop: nonNegInt(64).default(4),
  /** Random horizontal flip with probability 0.5. */
  flip: z.boolean().default(true),
});

const dataSchema = z.strictObject({
  name: z.enum(DATASET_NAMES).default('synthetic'),
  /** Folder holding the dataset files (CIFAR .bin files, IDX files); downloads land here too. */
  dir: z.string().min(1).default('data'),
  /** Download CIFAR-10/100 when the files are missing (checksum-verified). */
  download: z.boolean().default(true),
  /** CIFAR-100 label byte: fine (100 classes) or coarse (20 superclasses). */
  labels: z.enum(['fine', 'coarse']).default('fine'),
  /** Images carved from the training set for validation (seeded split). */
  validationSize: nonNegInt(LIMITS.datasetSize).default(1000),
  /** Use only the first N training images (0 = all); for CPU-sized runs. */
  trainLimit: nonNegInt(LIMITS.datasetSize).default(0),
  /** Use only the first N test images (0 = all). */
  testLimit: nonNegInt(LIMITS.datasetSize).default(0),
  /** Per-channel standardization from training statistics, the paper's GCN + ZCA whitening, or none (x/255). */
  preprocessing: z.enum(['standardize', 'gcn-zca', 'none']).default('standardize'),
  augmentation: augmentationSchema.prefault({}),
  synthetic: syntheticSchema.prefault({}),
});

const ninSchema = z.strictObject({
  /** Multiplies every layer's channel count (0.25 gives a CPU-sized NIN). */
  width: z.number().positive().max(16).default(1),
  /** Number of mlpconv blocks, 1 to 3; the paper uses 3. */
  blocks: z.number().int().min(1).max(3).default(3),
  /** Pooling after blocks 1 and 2: the authors' cuda-convnet model uses max, the Caffe port average after block 2. */
  pool: z.enum(['max', 'avg']).default('max'),
  /** Dropout after the pooling of blocks 1 and 2. */
  dropout: rate.default(0.5),
});

const cnnStageSchema = z.strictObject({
  filters: posInt(LIMITS.filters),
  convs: z.number().int().min(1).max(8).default(2),
});

const cnnSchema = z.strictObject({
  /** Keras cifar10_cnn: [32 x2, pool, dropout] -> [64 x2, pool, dropout]. */
  stages: z.array(cnnStageSchema).min(1).max(8).default([{ filters: 32, convs: 2 }, { filters: 64, convs: 2 }]),
  pool: z.enum(['max', 'avg']).default('max'),
  dropout: rate.default(0.25),
});

const resnetSchema = z.strictObject({
  /** 6n+2 layers: 20, 32, 44, 56, 110. */
  depth: z.number().int().min(8).max(200).refine((d) => (d - 2) % 6 === 0, 'must be 6n+2 (20, 32, 44, ...)').default(20),
  /** Channels of the first stage (16 in He et al.); stages use 1x, 2x, 4x. */
  width: posInt(LIMITS.filters).default(16),
});

const fcSchema = z.strictObject({
  /** Hidden dense layers between flatten and the classifier (Keras CNN: [512]; NIN section 4.6: []). */
  hidden: z.array(posInt(65536)).max(4).default([]),
  /** Dropout rate of the fc-dropout head (after flatten and after each hidden layer). */
  dropout: rate.default(0.5),
});

const gapSchema = z.strictObject({
  /** Activation of the 1x1 class-map conv of the gap head; NIN applies ReLU to it. */
  activation: z.enum(['relu', 'linear']).default('relu'),
  /**
   * Initial bias of every class map. With ReLU maps a zero start lets maps die: a map that is active raises its own
   * softmax probability, so it is pushed down on more images than it is pushed up, until every map is zero on every
   * image (loss ln C, no gradient; see docs/gap-relu.md). Starting every map above zero keeps the push balanced. It
   * shifts all logits equally, so it changes nothing for linear maps.
   */
  bias: z.number().min(-100).max(100).default(1),
});

const modelSchema = z.strictObject({
  body: z.enum(BODY_NAMES).default('nin'),
  head: z.enum(HEAD_NAMES).default('gap'),
  /** L2 weight decay on kernels, PyTorch/Caffe meaning: gradient += weightDecay * kernel. */
  weightDecay: z.number().min(0).max(1).default(0.0005),
  initializer: z.enum(INITIALIZERS).default('heNormal'),
  nin: ninSchema.prefault({}),
  cnn: cnnSchema.prefault({}),
  resnet: resnetSchema.prefault({}),
  fc: fcSchema.prefault({}),
  gap: gapSchema.prefault({}),
});

const optimizerSchema = z.strictObject({
  name: z.enum(['sgd', 'adam']).default('sgd'),
  lr: z.number().positive().max(10).default(0.05),
  momentum: z.number().min(0).max(0.999).default(0.9),
  nesterov: z.boolean().default(false),
  beta1: z.number().min(0).max(0.9999).default(0.9),
  beta2: z.number().min(0).max(0.99999).default(0.999),
  epsilon: z.number().positive().max(1).default(1e-7),
});

const scheduleSchema = z.strictObject({
  name: z.enum(['constant', 'step', 'cosine', 'plateau']).default('cosine'),
  /** step: epochs (1-based, counted from the start) after which the rate is multiplied by gamma. */
  milestones: z.array(posInt(LIMITS.epochs)).default([]),
  gamma: z.number().positive().max(1).default(0.1),
  /** plateau: epochs without val_loss improvement before multiplying by gamma. */
  patience: posInt(LIMITS.epochs).default(5),
  /** Floor of the learning rate for cosine and plateau. */
  minLr: z.number().min(0).default(0),
  /** Linear warm-up from lr/10 over this many epochs (0 = none). */
  warmupEpochs: nonNegInt(LIMITS.epochs).default(0),
});

const earlyStoppingSchema = z.strictObject({
  /** Epochs without improvement of `monitor` before stopping; 0 turns early stopping off. */
  patience: nonNegInt(LIMITS.epochs).default(0),
  monitor: z.enum(['val_loss', 'val_acc']).default('val_loss'),
  minDelta: z.number().min(0).default(0),
});

const trainSchema = z.strictObject({
  epochs: posInt(LIMITS.epochs).default(10),
  batchSize: posInt(LIMITS.batchSize).default(64),
  /** Batch size for validation and test passes (no gradients, so it can be larger). */
  evalBatchSize: posInt(LIMITS.batchSize).default(256),
  /**
   * Training images re-evaluated in inference mode (no dropout, no augmentation) at every epoch end, for a true
   * generalization gap (gap_acc = train_eval_acc - val_acc). 'val' = as many as the validation set; 0 turns it off;
   * more than the training set means all of it. A seeded sample, drawn once per run: the same for every head and epoch.
   */
  trainEvalSize: z
    .union([z.literal('val'), nonNegInt(LIMITS.datasetSize)], { error: "expected 'val' or a whole number >= 0" })
    .default('val'),
  optimizer: optimizerSchema.prefault({}),
  schedule: scheduleSchema.prefault({}),
  earlyStopping: earlyStoppingSchema.prefault({}),
  /** Also checkpoint every N minutes within an epoch (0 = only at epoch ends). */
  checkpointMinutes: z.number().min(0).max(1440).default(10),
});

export const configSchema = z.strictObject({
  /** Runs go to <outputDir>/<experiment>/<run-id>/; defaults to the config file's name. */
  experiment: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, ".", "_" and "-" only (it names a folder)')
    .optional(),
  /** Seeds weight init, the validation split, shuffling, augmentation and dropout. */
  seed: z.number().int().nonnegative().max(2 ** 31 - 1).default(1),
  backend: z.enum(BACKEND_NAMES).default('auto'),
  /** Threads for the native backend (0 = one per core). */
  threads: nonNegInt(LIMITS.threads).default(0),
  /** Root of all run folders. */
  outputDir: z.string().min(1).default('experiments'),
  data: dataSchema.prefault({}),
  model: modelSchema.prefault({}),
  train: trainSchema.prefault({}),
}).superRefine((c, ctx) => {
  // Without a validation set there is no val_loss/val_acc to watch: early stopping would stop after `patience` epochs.
  if (c.train.earlyStopping.patience > 0 && c.data.validationSize === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['train', 'earlyStopping', 'patience'],
      message: 'early stopping watches a validation metric, but data.validationSize is 0 (set one, or patience: 0)',
    });
  }
});

/** A fully resolved config: every default filled in. */
export type Config = z.infer<typeof configSchema>;
export type DataConfig = Config['data'];
export type ModelConfig = Config['model'];
export type TrainConfig = Config['train'];
export type BodyName = (typeof BODY_NAMES)[number];
export type HeadName = (typeof HEAD_NAMES)[number];
export type DatasetName = (typeof DATASET_NAMES)[number];
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The defaults alone, e.g. for tests that override a few keys. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
