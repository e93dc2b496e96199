// npm run cam -- --run <run folder> [--images N | --image file --class name] [--localization]: calls camReport.
import { CAM_METHODS, type CamMethod } from '../cam/extractor.js';
import { camReport, DEFAULT_IMAGES, DEFAULT_SCALE } from '../cam/report.js';
import { WEIGHTS_CHOICES, type WeightsChoice } from '../run/files.js';
import { selectBackend } from '../backend/select.js';
import { readRunConfig } from '../run/config.js';
import { BACKEND_NAMES, type BackendName } from '../config/schema.js';
import { cli, log, main, warn } from './common.js';

/** The run's own webgpu.adapter, so its maps are drawn on the adapter it trained on; openRun reports a broken folder. */
function runWebgpuAdapter(runDir: string): string | undefined {
  try {
    return readRunConfig(runDir).webgpu?.adapter;
  } catch {
    return undefined;
  }
}

main('cam', async () => {
  const args = await cli(process.argv, 'cam')
    .usage('$0 --run <run folder> [--images N | --image <png|jpg> [--class name]] [--localization] [--method cam|gradcam]')
    .option('run', { alias: 'r', type: 'string', demandOption: true, describe: 'run folder (experiments/<experiment>/<run-id>)' })
    .option('images', { type: 'number', default: DEFAULT_IMAGES, describe: 'explain the first N test images of the run\'s dataset (0: none)' })
    .option('image', { type: 'string', describe: 'explain this PNG or JPEG instead, resized bilinearly to the input size (default: none)' })
    .option('class', { type: 'string', describe: 'draw the map of this class, name or index (default: the predicted one)' })
    .option('localization', { type: 'boolean', default: false, describe: 'score localization on the built-in synthetic data (boxes)' })
    .option('method', { type: 'string', choices: CAM_METHODS, describe: 'cam (GAP heads) or gradcam (default: cam where it applies, else gradcam)' })
    .option('weights', { type: 'string', choices: WEIGHTS_CHOICES, default: 'final', describe: 'model/ (final) or model-best/ (best)' })
    .option('out', { type: 'string', describe: 'output folder (default: <run>/cam)' })
    .option('scale', { type: 'number', default: DEFAULT_SCALE, describe: 'upscaling of the per-image PNGs (the grid uses half)' })
    .option('threshold', { type: 'number', default: 0.2, describe: 'box threshold, fraction of the map maximum (the paper: 0.2)' })
    .option('backend', { type: 'string', choices: BACKEND_NAMES, default: 'auto', describe: 'tfjs backend (auto: the fastest available)' })
    .option('webgpu-adapter', { type: 'string', describe: "webgpu: the adapter whose name contains this (default: the run's webgpu.adapter, else Dawn's high-performance one)" })
    .example('$0 --run experiments/quick-nin-gap/<run-id> --images 16', 'heat maps of 16 test images')
    .example('$0 --run ... --image photo.png --class disc', 'the map of class disc on any image')
    .example('$0 --run ... --localization', 'localization accuracy beside the central-box baseline')
    .parseAsync();
  const adapter = args.webgpuAdapter ?? runWebgpuAdapter(args.run);
  const backend = await selectBackend(args.backend as BackendName, { threads: 0, warn, info: log, ...(adapter ? { webgpuAdapter: adapter } : {}) });
  log(`backend: ${backend.name} (${backend.detail})`);
  const report = await camReport(args.run, {
    images: args.images,
    ...(args.image !== undefined ? { imageFile: args.image } : {}),
    ...(args.class !== undefined ? { className: args.class } : {}),
    localization: args.localization,
    ...(args.method !== undefined ? { method: args.method as CamMethod } : {}),
    weights: args.weights as WeightsChoice,
    ...(args.out !== undefined ? { outDir: args.out } : {}),
    scale: args.scale,
    threshold: args.threshold,
    log,
  });
  for (const r of report.images.slice(0, 32)) {
    const truth = r.trueClass === undefined ? '' : ` true ${r.trueClass}`;
    const loc = r.iou === undefined ? '' : ` IoU ${r.iou.toFixed(2)}`;
    log(`  ${r.source}: pred ${r.predicted} ${(100 * r.probability).toFixed(1)}%${truth}${loc}`);
  }
});
