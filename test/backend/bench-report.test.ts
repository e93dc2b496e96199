// Benchmark report: table lines for ours and each peer with ratios, engines' set-up, JSON and CSV files.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

import { formatEngines, formatTable, writeResults } from '../../src/bench/report.js';
import type { BenchRow, TorchResult } from '../../src/bench/types.js';

const job = { backend: 'native' as const, head: 'gap' as const, batch: 64, steps: 3, warmup: 1, threads: 2, seed: 1 };
const torch = (kind: TorchResult['kind'], train: number, infer: number, allocator: string): TorchResult => ({
  kind, engine: 'pytorch 1.13', head: 'gap', batch: 64, threads: 2, params: 966986, precision: 'fp32', channels_last: false,
  allocator, isa: 'Intel AVX-512', train_images_per_s: train, infer_images_per_s: infer, peak_rss_mib: 600,
});
const rows: BenchRow[] = [
  {
    job,
    result: {
      job, backend: 'native', detail: 'oneDNN 2.6.3, 2 threads, avx512_core_bf16', params: 966986, trainImagesPerS: 100,
      inferImagesPerS: 300, trainImagesPerCpuS: 55, inferImagesPerCpuS: 180, trainStepMs: { median: 640, min: 600, max: 700 },
      inferMs: { median: 213.3, min: 200, max: 230 }, peakRssMiB: 1200,
    },
    // 100 / 80 = 1.25 and 300 / 250 = 1.20 against the tuned peer; 100 / 25 = 4.00, 300 / 75 = 4.00 against plain.
    // The tuned peer reports its step times (median 800 ms = 64 / 80 img/s), the plain one none (an older script).
    peers: [{ kind: 'tuned', result: { ...torch('tuned', 80, 250, 'tcmalloc'), train_step_ms: { median: 800, min: 790, max: 900 } } },
      { kind: 'plain', result: torch('plain', 25, 75, 'glibc malloc') }],
  },
  { job: { ...job, head: 'fc-dropout' }, error: 'worker exited 1', peers: [{ kind: 'tuned', error: 'no torch' }] },
];

describe('bench report', () => {
  it('prints our line, then each peer with our ratio to it, and errors on their own line', () => {
    const lines = formatTable(rows).split('\n');
    expect(lines[0]).to.match(/^engine\s+head\s+batch\s+train img\/s\s+infer img\/s\s+step ms\s+train img\/cpu-s\s+peak RSS MiB\s+ours x train\s+ours x infer$/);
    expect(lines[2]).to.match(/^native\s+gap\s+64\s+100\.0\s+300\.0\s+640\s+55\.0\s+1200$/);
    expect(lines[3]).to.match(/^pytorch tuned\s+gap\s+64\s+80\.0\s+250\.0\s+800\s+600\s+1\.25\s+1\.20$/);
    expect(lines[4]).to.match(/^pytorch plain\s+gap\s+64\s+25\.0\s+75\.0\s+600\s+4\.00\s+4\.00$/);
    expect(lines[5]).to.match(/^native\s+fc-dropout\s+64$/);
    expect(lines[6]).to.equal('  ! worker exited 1');
    expect(lines[7]).to.match(/^pytorch tuned\s+fc-dropout\s+64$/);
    expect(lines[8]).to.equal('  ! no torch');
  });

  it('names each engine: our oneDNN ISA, the peers allocators and ISA', () => {
    expect(formatEngines(rows).split('\n')).to.deep.equal([
      'engines:',
      "  native: oneDNN 2.6.3, 2 threads, avx512_core_bf16; allocator: the addon's heap for tensor buffers (glibc malloc for the rest)",
      '  pytorch tuned: pytorch 1.13, fp32, allocator tcmalloc, oneDNN ISA: Intel AVX-512',
      '  pytorch plain: pytorch 1.13, fp32, allocator glibc malloc, oneDNN ISA: Intel AVX-512',
    ]);
  });

  it('writes JSON (rows + metadata) and CSV (one row per job, every peer kind in its own columns)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gaplab-bench-'));
    try {
      const files = writeResults(dir, 'stamp', rows, { node: 'v20' });
      const json = JSON.parse(readFileSync(files.json, 'utf8')) as { node: string; rows: BenchRow[] };
      expect(json.node).to.equal('v20');
      expect(json.rows).to.have.length(2);
      const csv = parse(readFileSync(files.csv, 'utf8'), { columns: true }) as Array<Record<string, string>>;
      expect(csv).to.have.length(2);
      expect(csv[0]).to.include({
        backend: 'native', head: 'gap', round: '', train_img_s: '100.0', peak_rss_mib: '1200', detail: 'oneDNN 2.6.3, 2 threads, avx512_core_bf16',
        torch_tuned_train_img_s: '80.0', torch_tuned_train_ratio: '1.25', torch_tuned_infer_ratio: '1.20', torch_tuned_allocator: 'tcmalloc',
        torch_tuned_step_ms_min: '790', torch_tuned_step_ms_max: '900', torch_plain_step_ms_min: '',
        torch_plain_train_ratio: '4.00', torch_tuned_bf16_train_img_s: '', error: '',
      });
      expect(csv[1]).to.include({ head: 'fc-dropout', train_img_s: '', torch_tuned_train_img_s: '', error: 'worker exited 1; pytorch tuned: no torch' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
