// Tiny model configs for tests elsewhere (training loop, CAM, CLI): every body x head, a few thousand parameters.
import { defaultConfig, type BodyName, type HeadName, type ModelConfig } from '../config/schema.js';

/**
 * The default model config with very small widths: NIN at width 1/24 (8-7-4 / 8-8-8 / 8-8 channels), a Keras-style
 * CNN with 4 and 8 filters and an 8-unit hidden layer, ResNet-8 of width 4. Builds in milliseconds; runs forward on
 * a few 32x32 images in well under a second on the cpu backend.
 */
export function tinyModelConfig(body: BodyName, head: HeadName): ModelConfig {
  const cfg = defaultConfig().model;
  cfg.body = body;
  cfg.head = head;
  cfg.nin.width = 1 / 24;
  cfg.cnn.stages = [
    { filters: 4, convs: 2 },
    { filters: 8, convs: 2 },
  ];
  cfg.resnet = { depth: 8, width: 4 };
  cfg.fc.hidden = body === 'cnn' ? [8] : [];
  return cfg;
}
