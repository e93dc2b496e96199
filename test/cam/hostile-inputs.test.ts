// Hostile files given to the CAM command: huge or cut-off images and broken run-folder models end in one line, exit 2, fast.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage } from '../../src/cam/image-file.js';
import { openRun } from '../../src/cam/run-folder.js';
import { UserError } from '../../src/errors.js';
import { saveModel } from '../../src/io/model-files.js';
import { removeDir, tempDir } from '../data/helpers.js';
import { fixtureConfig, writeRunFolder } from './fixture.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs the cam CLI; a process still running after `timeoutMs` is killed (a hang shows as signal SIGKILL). */
function camCli(args: string[], timeoutMs = 60_000): Promise<{ status: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/cam.ts', ...args], {
    cwd: repo,
    env: { ...process.env, GAPLAB_DISABLE_NATIVE: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr });
    }),
  );
}

/** The CLI's error lines (without tfjs's own banner about tfjs-node, printed at import). */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('cam:'));

function expectOneLine(r: { status: number | null; signal: string | null; stderr: string }, ...parts: string[]): void {
  expect(r.signal, 'the process was killed: it hung').to.equal(null);
  expect(r.status, r.stderr).to.equal(2);
  const lines = errorLines(r.stderr);
  expect(lines, r.stderr).to.have.length(1);
  for (const p of parts) expect(lines[0]).to.contain(p);
  expect(r.stderr).not.to.match(/\n\s+at /);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const byte of b) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** A well-formed 8-bit grey PNG (correct CRCs) whose IHDR claims width x height over one pixel's data: 67 bytes. */
function lyingPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey), no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(2))), chunk('IEND', Buffer.alloc(0))]);
}

function realPng(width: number, height: number): Buffer {
  const p = new PNG({ width, height });
  p.data.fill(200);
  return PNG.sync.write(p);
}

const realJpeg = (width: number, height: number) =>
  Buffer.from(jpeg.encode({ data: Buffer.alloc(width * height * 4, 120), width, height }, 90).data);

describe('cam: hostile image files', function () {
  this.timeout(120_000);
  const dir = tempDir('gaplab-cam-hostile-');
  after(() => removeDir(dir));

  it('a 67-byte PNG claiming 1 x 60,000,000 pixels: refused from its header, at once, exit 2 (it used to exhaust the heap)', async () => {
    const file = path.join(dir, 'tall.png');
    fs.writeFileSync(file, lyingPng(1, 60_000_000));
    // The image is read before the run folder, so no model is needed.
    const r = await camCli(['--run', path.join(dir, 'no-run'), '--image', file, '--backend', 'cpu'], 45_000);
    expectOneLine(r, `cam: error: ${file}: the header says 1x60000000 pixels; each side may be at most 16384`);
  });

  it('a truncated PNG: one line naming the file and saying it is truncated (not pngjs\'s stream message)', async () => {
    const file = path.join(dir, 'cut.png');
    const whole = realPng(20, 20);
    fs.writeFileSync(file, whole.subarray(0, whole.length - 20));
    const r = await camCli(['--run', path.join(dir, 'no-run'), '--image', file, '--backend', 'cpu']);
    expectOneLine(r, `cam: error: ${file}: the PNG file is truncated`);
    expect(r.stderr).not.to.contain('waitng');
  });

  it('every side is limited before decoding, in PNG and JPEG alike; within the limit they decode', () => {
    expect(() => decodeImage(lyingPng(60_000_000, 1), 'wide.png')).to.throw(UserError, 'wide.png: the header says 60000000x1 pixels; each side may be at most 16384');
    // Valid files, small in bytes and pixels (20,000 pixels), but one side over the limit.
    expect(() => decodeImage(realPng(1, 20_000), 'strip.png')).to.throw(UserError, 'strip.png: the header says 1x20000 pixels; each side may be at most 16384');
    expect(() => decodeImage(realJpeg(20_000, 1), 'strip.jpg')).to.throw(UserError, 'strip.jpg: the header says 20000x1 pixels; each side may be at most 16384');
    expect(decodeImage(realPng(3, 2), 'ok.png')).to.include({ width: 3, height: 2 });
    expect(decodeImage(realJpeg(16, 8), 'ok.jpg')).to.include({ width: 16, height: 8 });
  });

  it('truncated files are named as truncated: PNG cut anywhere, JPEG cut in its headers or its image data', () => {
    const png = realPng(12, 12);
    for (const cut of [12, 20, 40, png.length - 13, png.length - 1]) {
      expect(() => decodeImage(png.subarray(0, cut), `p${cut}.png`), `cut at ${cut}`).to.throw(UserError, new RegExp(`^p${cut}.png: the PNG file is truncated`));
    }
    const jpg = realJpeg(16, 16);
    for (const cut of [10, 100, jpg.length - 40, jpg.length - 2]) {
      expect(() => decodeImage(jpg.subarray(0, cut), `j${cut}.jpg`), `cut at ${cut}`).to.throw(UserError, new RegExp(`^j${cut}.jpg: the JPEG file is truncated`));
    }
  });
});

describe('cam: run folders whose model is broken', function () {
  this.timeout(120_000);
  let root: string;
  const cfg = fixtureConfig('nin', 'gap');

  before(async () => {
    await tf.setBackend('cpu');
    root = tempDir('gaplab-cam-badmodel-');
  });
  after(() => removeDir(root));

  /** A fixture run folder named `name` with `damage` applied to its model/ folder; returns the run folder. */
  async function brokenRun(name: string, damage: (modelDir: string) => void | Promise<void>): Promise<string> {
    const dir = await writeRunFolder(path.join(root, name), cfg);
    await damage(path.join(dir, 'model'));
    return dir;
  }
  async function replaceModel(modelDir: string, model: tf.LayersModel): Promise<void> {
    fs.rmSync(modelDir, { recursive: true });
    await saveModel(model, modelDir);
    model.dispose();
  }
  const editJson = (modelDir: string, edit: (json: Record<string, unknown>) => unknown) => {
    const file = path.join(modelDir, 'model.json');
    fs.writeFileSync(file, JSON.stringify(edit(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)));
  };

  it('through the CLI: no named layers, garbage JSON, missing or short weights: one line naming the file, exit 2', async () => {
    const unnamed = await brokenRun('unnamed', (m) =>
      replaceModel(m, tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 2, kernelSize: 3 }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      })),
    );
    const garbage = await brokenRun('garbage', (m) => fs.writeFileSync(path.join(m, 'model.json'), '{"modelTopology": 42, "weightsManifest": "x"}'));
    const noWeights = await brokenRun('no-weights', (m) => fs.rmSync(path.join(m, 'weights.bin')));
    const short = await brokenRun('short-weights', (m) => fs.writeFileSync(path.join(m, 'weights.bin'), Buffer.alloc(10)));
    const json = (run: string) => path.join(run, 'model', 'model.json');
    const cases: Array<[string, string[]]> = [
      [unnamed, [`cam: error: ${json(unnamed)}: model '`, `has no layer named 'features'`]],
      [garbage, [`cam: error: ${json(garbage)}: not a tfjs model file: modelTopology`]],
      [noWeights, [`cam: error: ${path.join(noWeights, 'model', 'weights.bin')}: cannot read the model's weights (missing; listed in ${json(noWeights)})`]],
      [short, [`cam: error: ${json(short)}: its weightsManifest needs`, 'the weight files hold 10']],
    ];
    // Two at a time: each is a whole CLI start (tsx, tfjs) on a 2-core machine.
    for (let i = 0; i < cases.length; i += 2) {
      const pair = cases.slice(i, i + 2);
      const results = await Promise.all(pair.map(([run]) => camCli(['--run', run, '--backend', 'cpu', '--images', '1'])));
      results.forEach((r, k) => expectOneLine(r, ...pair[k][1]));
    }
  });

  const direct: Array<[string, (modelDir: string) => void | Promise<void>, RegExp]> = [
    ['a JSON array', (m) => fs.writeFileSync(path.join(m, 'model.json'), '[]'), /model\.json: not a tfjs model file: \(root\)/],
    ['a topology tfjs does not know', (m) => editJson(m, (j) => ({ ...j, modelTopology: { class_name: 'Foo', config: {} } })), /model\.json: tfjs cannot load this model \(Unknown layer: Foo\.\)$/],
    ['a weight path outside the folder', (m) => editJson(m, (j) => ({ ...j, weightsManifest: [{ paths: ['../../../etc/passwd'], weights: [] }] })), /model\.json: weight file '\.\.\/\.\.\/\.\.\/etc\/passwd' is outside the model folder/],
    ['weights whose shapes disagree with the file', (m) => editJson(m, (j) => {
      const manifest = j.weightsManifest as Array<{ weights: Array<{ shape: number[] }> }>;
      manifest[0].weights[0].shape = [1];
      return j;
    }), /model\.json: its weightsManifest needs \d+ bytes of weights; the weight files hold \d+/],
    ['a "features" layer that is not feature maps', (m) => replaceModel(m, tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [32, 32, 3] }),
        tf.layers.dense({ units: 4, name: 'features' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'logits' }),
      ],
    })), /model\.json: model '.*': layer 'features' must output feature maps \[n, h, w, k\]; it outputs \[n, 4\]/],
  ];
  for (const [what, damage, message] of direct) {
    it(`openRun on a model.json with ${what}: a UserError naming the file`, async () => {
      const run = await brokenRun(what.replace(/\W+/g, '-'), damage);
      let error: unknown;
      await openRun(run).then((r) => r.model.dispose(), (e: unknown) => (error = e));
      expect(error).to.be.instanceOf(UserError);
      expect((error as Error).message).to.match(message);
      expect((error as Error).message.startsWith(path.join(run, 'model'))).to.equal(true);
    });
  }
});
