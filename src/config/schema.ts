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
export const BACKEND_NAMES = ['auto', 'native', 'tensorflow', 'webgpu', 'cpu'] as const;
export const PRECISIONS = ['fp32', 'bf16', 'auto'] as const;
export const INITIALIZERS = ['heNormal', 'heUniform', 'glorotNormal', 'glorotUniform', 'randomNormal'] as const;

const syntheticSchema = z.strictObject({
  classes: z.number().int().min(2).max(10).default(6).describe('Number of object classes drawn (at most 10).'),
  trainSize: posInt(LIMITS.datasetSize).default(6000).describe('Generated training images (before the validation split).'),
  testSize: posInt(LIMITS.datasetSize).default(1500).describe('Generated test images.'),
  imageSize: z.number().int().min(8).max(LIMITS.imageSize).default(32)
    .describe('Side of the square RGB images, in pixels.'),
  clutter: z.number().min(0).max(1).default(1)
    .describe('Background distractors and pixel noise, 0 (plain gradient, easy) to 1 (full clutter, hard).'),
});

const augmentationSchema = z.strictObject({
  crop: nonNegInt(64).default(4)
    .describe('Pad by this many pixels (zero padding) and crop back at a random offset; 0 turns it off.'),
  flip: z.boolean().default(true).describe('Random horizontal flip with probability 0.5.'),
});

const dataSchema = z.strictObject({
  name: z.enum(DATASET_NAMES).default('synthetic').describe('Dataset: the built-in generated one, CIFAR-10/100 (binary layout) or an IDX set.'),
  dir: z.string().min(1).default('data')
    .describe('Folder holding the dataset files (CIFAR .bin files, IDX files); downloads land here too.'),
  download: z.boolean().default(true).describe('Download CIFAR-10/100 when the files are missing (checksum-verified).'),
  labels: z.enum(['fine', 'coarse']).default('fine')
    .describe('CIFAR-100 label byte: fine (100 classes) or coarse (20 superclasses).'),
  validationSize: nonNegInt(LIMITS.datasetSize).default(1000)
    .describe('Images carved from the training set for validation (seeded split).'),
  trainLimit: nonNegInt(LIMITS.datasetSize).default(0)
    .describe('Use only the first N training images (0 = all); for CPU-sized runs.'),
  testLimit: nonNegInt(LIMITS.datasetSize).default(0).describe('Use only the first N test images (0 = all).'),
  preprocessing: z.enum(['standardize', 'gcn-zca', 'none']).default('standardize')
    .describe("Per-channel standardization from training statistics, the paper's GCN + ZCA whitening, or none (x/255)."),
  augmentation: augmentationSchema.prefault({}).describe('Training-time augmentation (never applied to validation, train-eval or test).'),
  synthetic: syntheticSchema.prefault({}).describe('The built-in generated dataset (data.name: synthetic).'),
});

const ninSchema = z.strictObject({
  width: z.number().positive().max(16).default(1)
    .describe("Multiplies every layer's channel count (0.25 gives a CPU-sized NIN)."),
  blocks: z.number().int().min(1).max(3).default(3).describe('Number of mlpconv blocks, 1 to 3; the paper uses 3.'),
  pool: z.enum(['max', 'avg']).default('max')
    .describe("Pooling after blocks 1 and 2: the authors' cuda-convnet model uses max, the Caffe port average after block 2."),
  dropout: rate.default(0.5).describe('Dropout after the pooling of blocks 1 and 2.'),
});

const cnnStageSchema = z.strictObject({
  filters: posInt(LIMITS.filters).describe('Output channels of every conv in the stage.'),
  convs: z.number().int().min(1).max(8).default(2).describe("3x3 convs (ReLU) before the stage's pooling."),
});

const cnnSchema = z.strictObject({
  stages: z.array(cnnStageSchema).min(1).max(8).default([{ filters: 32, convs: 2 }, { filters: 64, convs: 2 }])
    .describe('Keras cifar10_cnn: [32 x2, pool, dropout] -> [64 x2, pool, dropout].'),
  pool: z.enum(['max', 'avg']).default('max'),
  dropout: rate.default(0.25),
});

const resnetSchema = z.strictObject({
  depth: z.number().int().min(8).max(200).refine((d) => (d - 2) % 6 === 0, 'must be 6n+2 (20, 32, 44, ...)').default(20)
    .describe('6n+2 layers: 20, 32, 44, 56, 110.'),
  width: posInt(LIMITS.filters).default(16)
    .describe('Channels of the first stage (16 in He et al.); stages use 1x, 2x, 4x.'),
});

const fcSchema = z.strictObject({
  hidden: z.array(posInt(65536)).max(4).default([])
    .describe('Hidden dense layers between flatten and the classifier (Keras CNN: [512]; NIN section 4.6: []).'),
  dropout: rate.default(0.5)
    .describe('Dropout rate of the fc-dropout head (after flatten and after each hidden layer).'),
});

const gapSchema = z.strictObject({
  activation: z.enum(['relu', 'linear']).default('relu')
    .describe('Activation of the 1x1 class-map conv of the gap head; NIN applies ReLU to it.'),
  bias: z.number().min(-100).max(100).default(1)
    .describe('Initial bias of every class map. With ReLU maps a zero start lets maps die: a map that is active raises its own softmax probability, so it is pushed down on more images than it is pushed up, until every map is zero on every image (loss ln C, no gradient; see docs/gap-relu.md). Starting every map above zero keeps the push balanced. It shifts all logits equally, so it changes nothing for linear maps.'),
});

const modelSchema = z.strictObject({
  body: z.enum(BODY_NAMES).default('nin').describe("Feature extractor: Network in Network, Keras's cifar10_cnn, or ResNet-(6n+2)."),
  head: z.enum(HEAD_NAMES).default('gap').describe("Classifier head, the experiment's switch: GAP over class maps, GAP + dense, fully connected, fully connected + dropout."),
  weightDecay: z.number().min(0).max(1).default(0.0005)
    .describe('L2 weight decay on kernels, PyTorch/Caffe meaning: gradient += weightDecay * kernel.'),
  initializer: z.enum(INITIALIZERS).default('heNormal').describe("Kernel initializer of every conv and dense layer (randomNormal: N(0, 0.05^2), the NIN authors' choice)."),
  nin: ninSchema.prefault({}),
  cnn: cnnSchema.prefault({}),
  resnet: resnetSchema.prefault({}),
  fc: fcSchema.prefault({}),
  gap: gapSchema.prefault({}),
});

const optimizerSchema = z.strictObject({
  name: z.enum(['sgd', 'adam']).default('sgd').describe("SGD (momentum, Nesterov) or Adam, with PyTorch's update rules."),
  lr: z.number().positive().max(10).default(0.05).describe('Learning rate (the schedule scales it).'),
  momentum: z.number().min(0).max(0.999).default(0.9),
  nesterov: z.boolean().default(false),
  beta1: z.number().min(0).max(0.9999).default(0.9),
  beta2: z.number().min(0).max(0.99999).default(0.999),
  epsilon: z.number().positive().max(1).default(1e-7),
});

const scheduleSchema = z.strictObject({
  name: z.enum(['constant', 'step', 'cosine', 'plateau']).default('cosine').describe('Learning-rate schedule over the epochs.'),
  milestones: z.array(posInt(LIMITS.epochs)).default([])
    .describe('step: epochs (1-based, counted from the start) after which the rate is multiplied by gamma.'),
  gamma: z.number().positive().max(1).default(0.1).describe('step and plateau: factor applied to the rate.'),
  patience: posInt(LIMITS.epochs).default(5)
    .describe('plateau: epochs without val_loss improvement before multiplying by gamma.'),
  minLr: z.number().min(0).default(0).describe('Floor of the learning rate for cosine and plateau.'),
  warmupEpochs: nonNegInt(LIMITS.epochs).default(0)
    .describe('Linear warm-up from lr/10 over this many epochs (0 = none).'),
});

const earlyStoppingSchema = z.strictObject({
  patience: nonNegInt(LIMITS.epochs).default(0)
    .describe('Epochs without improvement of `monitor` before stopping; 0 turns early stopping off.'),
  monitor: z.enum(['val_loss', 'val_acc']).default('val_loss').describe('Metric watched by early stopping and by the best-model checkpoint (model-best/).'),
  minDelta: z.number().min(0).default(0).describe('Smallest change of `monitor` that counts as an improvement.'),
});

const trainSchema = z.strictObject({
  epochs: posInt(LIMITS.epochs).default(10).describe('Passes over the training set.'),
  batchSize: posInt(LIMITS.batchSize).default(64).describe('Training batch size.'),
  evalBatchSize: posInt(LIMITS.batchSize).default(256)
    .describe('Batch size for validation and test passes (no gradients, so it can be larger).'),
  trainEvalSize: z
    .union([z.literal('val'), nonNegInt(LIMITS.datasetSize)], { error: "expected 'val' or a whole number >= 0" })
    .default('val')
    .describe("Training images re-evaluated in inference mode (no dropout, no augmentation) at every epoch end, for a true generalization gap (gap_acc = train_eval_acc - val_acc). 'val' = as many as the validation set; 0 turns it off; more than the training set means all of it. A seeded sample, drawn once per run: the same for every head and epoch."),
  optimizer: optimizerSchema.prefault({}),
  schedule: scheduleSchema.prefault({}),
  earlyStopping: earlyStoppingSchema.prefault({}),
  checkpointMinutes: z.number().min(0).max(1440).default(10)
    .describe('Also checkpoint every N minutes within an epoch (0 = only at epoch ends).'),
  precision: z.enum(PRECISIONS).default('fp32')
    .describe("Arithmetic of convolutions and matmuls. bf16: bfloat16 operands with fp32 accumulation on the native backend, each layer kept in fp32 where that measured faster; weights, optimizer state, loss and saved models stay fp32. Needs a CPU with AVX512_BF16 or AMX (an error otherwise); 'auto' uses bf16 there and fp32 elsewhere, saying so in one line."),
});

export const configSchema = z.strictObject({
  experiment: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, ".", "_" and "-" only (it names a folder)')
    .optional()
    .describe("Runs go to <outputDir>/<experiment>/<run-id>/; defaults to the config file's name."),
  seed: z.number().int().nonnegative().max(2 ** 31 - 1).default(1)
    .describe('Seeds weight init, the validation split, shuffling, augmentation and dropout.'),
  backend: z.enum(BACKEND_NAMES).default('auto').describe('tfjs backend: auto picks tfjs-node-gpu when it sees a CUDA GPU, else webgpu (Dawn) on a hardware GPU adapter, else native (oneDNN), else tfjs-node, else the pure-JS cpu backend; webgpu by name also runs on a software adapter (docs/webgpu.md).'),
  threads: nonNegInt(LIMITS.threads).default(0).describe('Threads for the native backend (0 = one per core).'),
  // Optional without a default, so that configs (and run folders' config.yaml, which resume compares) without it
  // resolve as before.
  webgpu: z.strictObject({
    adapter: z.string().min(1).max(200).optional()
      .describe("Run on the adapter whose name contains this text, ignoring case and punctuation (scripts/gpu-check.sh lists the names); default: Dawn's high-performance adapter."),
  }).optional().describe('The webgpu backend (also used by auto on a hardware GPU).'),
  outputDir: z.string().min(1).default('experiments').describe('Root of all run folders.'),
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
export type PrecisionName = (typeof PRECISIONS)[number];

/** The defaults alone, e.g. for tests that override a few keys. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
