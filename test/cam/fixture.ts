// Test fixture: a run folder written by hand (tiny untrained model, small synthetic data) for the CAM report tests.
import fs from 'node:fs';
import path from 'node:path';
import { applyOverrides, configToYaml, validateConfig } from '../../src/config/load.js';
import type { BodyName, Config, HeadName } from '../../src/config/schema.js';
import { fitPreprocessor } from '../../src/data/preprocess.js';
import { loadDataset } from '../../src/data/registry.js';
import { saveModel } from '../../src/io/model-files.js';
import { buildModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';

/** Synthetic data: 3 classes, 32x32, 40 training and 12 test images. */
export function fixtureConfig(body: BodyName, head: HeadName, sets: string[] = []): Config {
  const tree = applyOverrides({}, [
    'experiment=cam-fixture', 'seed=5', 'data.name=synthetic', 'data.synthetic.classes=3',
    'data.synthetic.trainSize=40', 'data.synthetic.testSize=12', 'data.synthetic.imageSize=32', 'data.validationSize=0',
    ...sets,
  ]);
  const cfg = validateConfig(tree, 'fixture');
  cfg.model = { ...tinyModelConfig(body, head) };
  return cfg;
}

/** Writes config.yaml, classes.json, preprocessing.json and model/ (and model-best/ when `best`) into `dir`. */
export async function writeRunFolder(dir: string, cfg: Config, opts: { best?: boolean; model?: boolean } = {}): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const data = await loadDataset({ ...cfg.data, name: 'synthetic' }, cfg.seed);
  fs.writeFileSync(path.join(dir, 'config.yaml'), configToYaml(cfg));
  fs.writeFileSync(path.join(dir, 'classes.json'), JSON.stringify(data.classNames));
  fs.writeFileSync(path.join(dir, 'preprocessing.json'), JSON.stringify(fitPreprocessor('standardize', data.train).toJSON()));
  if (opts.model !== false) {
    const [h, w, c] = [data.train.height, data.train.width, data.train.channels];
    const built = buildModel(cfg.model, { inputShape: [h, w, c], numClasses: data.classNames.length }, cfg.seed);
    await saveModel(built.model, path.join(dir, 'model'));
    if (opts.best) await saveModel(built.model, path.join(dir, 'model-best'));
    built.model.dispose();
  }
  return dir;
}
