// Benchmark report: table columns and ratios, JSON and CSV files with one row per measurement.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { formatTable, writeResults } from '../../src/bench/report.js';
import type { BenchRow } from '../../src/bench/types.js';

const job = { backend: 'native' as const, head: 'gap' as const, batch: 64, steps: 3, warmup: 1, threads: 2, seed: 1 };
const rows: BenchRow[] = [
  {
    job,
    result: {
      job, backend: 'native', detail: 'oneDNN 2.6.3, 2 threads', params: 966986, trainImagesPerS: 100, inferImagesPerS: 300,
      trainImagesPerCpuS: 55, inferImagesPerCpuS: 180, trainStepMs: { median: 640, min: 600, max: 700 },
      inferMs: { median: 213.3, min: 200, max: 230 }, peakRssMiB: 1200,
    },
    torch: { engine: 'pytorch 1.13', head: 'gap', batch: 64, threads: 2, params: 966986, train_images_per_s: 80, infer_images_per_s: 250 },
  },
  { job: { ...job, head: 'fc-dropout' }, error: 'worker exited 1', torchError: 'no torch' },
];

describe('bench report', () => {
  it('prints our and PyTorch numbers with ratios, and errors on their own line', () => {
    const lines = formatTable(rows).split('\n');
    expect(lines[0]).to.match(/^backend\s+head\s+batch\s+train img\/s/).and.include('train x');
    expect(lines[2]).to.match(/native\s+gap\s+64\s+100\.0\s+300\.0\s+640\s+55\.0\s+1200\s+80\.0\s+250\.0\s+1\.25\s+1\.20$/);
    expect(lines[4]).to.equal('  ! worker exited 1; pytorch: no torch');
  });

  it('writes JSON (rows + metadata) and CSV (header + one line per row)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gaplab-bench-'));
    try {
      const files = writeResults(dir, 'stamp', rows, { node: 'v20' });
      const json = JSON.parse(readFileSync(files.json, 'utf8')) as { node: string; rows: BenchRow[] };
      expect(json.node).to.equal('v20');
      expect(json.rows).to.have.length(2);
      const csv = readFileSync(files.csv, 'utf8').trim().split('\n');
      expect(csv).to.have.length(3);
      expect(csv[0]!.split(',')).to.include.members(['train_img_s', 'torch_train_img_s', 'train_ratio', 'peak_rss_mib']);
      expect(csv[1]).to.include('native,gap,64,100.0,300.0,55.0,180.0,640');
      expect(csv[1]).to.include('"oneDNN 2.6.3, 2 threads"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
