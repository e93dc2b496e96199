// Benchmark output: a plain-text table, and the rows as JSON and CSV under experiments/bench/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { BenchRow } from './types.js';

const COLUMNS = [
  'backend', 'head', 'batch', 'train_img_s', 'infer_img_s', 'train_img_cpu_s', 'infer_img_cpu_s', 'step_ms_median', 'step_ms_min', 'step_ms_max',
  'infer_ms_median', 'peak_rss_mib', 'torch_train_img_s', 'torch_infer_img_s', 'train_ratio', 'infer_ratio', 'detail', 'error',
] as const;
type Column = (typeof COLUMNS)[number];

const round = (v: number | undefined, digits = 1): string => (v === undefined ? '' : v.toFixed(digits));

function cells(row: BenchRow): Record<Column, string> {
  const r = row.result, t = row.torch;
  return {
    backend: r?.backend ?? row.job.backend,
    head: row.job.head,
    batch: String(row.job.batch),
    train_img_s: round(r?.trainImagesPerS),
    infer_img_s: round(r?.inferImagesPerS),
    train_img_cpu_s: round(r?.trainImagesPerCpuS),
    infer_img_cpu_s: round(r?.inferImagesPerCpuS),
    step_ms_median: round(r?.trainStepMs.median, 0),
    step_ms_min: round(r?.trainStepMs.min, 0),
    step_ms_max: round(r?.trainStepMs.max, 0),
    infer_ms_median: round(r?.inferMs.median, 0),
    peak_rss_mib: round(r?.peakRssMiB, 0),
    torch_train_img_s: round(t?.train_images_per_s),
    torch_infer_img_s: round(t?.infer_images_per_s),
    train_ratio: r && t ? round(r.trainImagesPerS / t.train_images_per_s, 2) : '',
    infer_ratio: r && t ? round(r.inferImagesPerS / t.infer_images_per_s, 2) : '',
    detail: r?.detail ?? '',
    error: [row.error, row.torchError && `pytorch: ${row.torchError}`].filter(Boolean).join('; '),
  };
}

/** Aligned table of the main columns (errors on their own lines). */
export function formatTable(rows: BenchRow[]): string {
  const shown: [Column, string][] = [
    ['backend', 'backend'], ['head', 'head'], ['batch', 'batch'], ['train_img_s', 'train img/s'],
    ['infer_img_s', 'infer img/s'], ['step_ms_median', 'step ms'], ['train_img_cpu_s', 'train img/cpu-s'],
    ['peak_rss_mib', 'peak RSS MiB'],
    ['torch_train_img_s', 'torch train'], ['torch_infer_img_s', 'torch infer'], ['train_ratio', 'train x'],
    ['infer_ratio', 'infer x'],
  ];
  const hasTorch = rows.some((r) => r.torch || r.torchError);
  const cols = hasTorch ? shown : shown.slice(0, 8);
  const data = rows.map(cells);
  const widths = cols.map(([k, h]) => Math.max(h.length, ...data.map((d) => d[k].length)));
  const line = (vals: string[]) => vals.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const out = [line(cols.map(([, h]) => h)), line(widths.map((w) => '-'.repeat(w)))];
  data.forEach((d) => {
    out.push(line(cols.map(([k]) => d[k])));
    if (d.error) out.push(`  ! ${d.error}`);
  });
  return out.join('\n');
}

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Writes bench-<stamp>.json (rows + machine info) and bench-<stamp>.csv; returns both paths. */
export function writeResults(dir: string, stamp: string, rows: BenchRow[], meta: Record<string, unknown>): { json: string; csv: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `bench-${stamp}.json`), csv = join(dir, `bench-${stamp}.csv`);
  writeFileSync(json, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  const lines = [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvCell(cells(r)[c])).join(','))];
  writeFileSync(csv, `${lines.join('\n')}\n`);
  return { json, csv };
}
