// Benchmark output: a plain-text table (our engine, then each PyTorch peer), the engines' set-up, JSON and CSV files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createObjectCsvStringifier } from 'csv-writer';

import { PEER_KINDS, type BenchRow, type PeerKind, type TorchResult } from './types.js';

const round = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));
const ratio = (ours: number | undefined, theirs: number | undefined) => (ours && theirs ? round(ours / theirs, 2) : '');
const peerPrefix = (k: PeerKind) => `torch_${k.replace('-', '_')}`;

/** CSV columns: ours, then for every peer kind its numbers and our ratio to it (empty where it did not run). */
const COLUMNS = [
  'backend', 'precision', 'head', 'batch', 'round', 'train_img_s', 'infer_img_s', 'train_img_cpu_s', 'infer_img_cpu_s', 'step_ms_median',
  'step_ms_min', 'step_ms_max', 'infer_ms_median', 'peak_rss_mib',
  ...PEER_KINDS.flatMap((k) => ['train_img_s', 'infer_img_s', 'step_ms_min', 'step_ms_max', 'peak_rss_mib', 'train_ratio', 'infer_ratio', 'allocator', 'isa']
    .map((c) => `${peerPrefix(k)}_${c}`)),
  'detail', 'error',
];

/** Our engine as the table names it: the backend, and the precision when it is not fp32 ("native bf16"). */
function ours(row: BenchRow): string {
  const name = row.result?.backend ?? row.job.backend;
  return row.job.precision && row.job.precision !== 'fp32' ? `${name} ${row.job.precision}` : name;
}

function peer(row: BenchRow, kind: PeerKind): TorchResult | undefined {
  return row.peers.find((p) => p.kind === kind)?.result;
}

function errors(row: BenchRow): string {
  return [row.error, ...row.peers.map((p) => p.error && `pytorch ${p.kind}: ${p.error}`)].filter(Boolean).join('; ');
}

function csvRecord(row: BenchRow): Record<string, string> {
  const r = row.result;
  const rec: Record<string, string> = {
    backend: r?.backend ?? row.job.backend, precision: row.job.precision ?? 'fp32', head: row.job.head, batch: String(row.job.batch),
    round: row.round === undefined ? '' : String(row.round + 1), train_img_s: round(r?.trainImagesPerS), infer_img_s: round(r?.inferImagesPerS),
    train_img_cpu_s: round(r?.trainImagesPerCpuS), infer_img_cpu_s: round(r?.inferImagesPerCpuS),
    step_ms_median: round(r?.trainStepMs.median, 0), step_ms_min: round(r?.trainStepMs.min, 0),
    step_ms_max: round(r?.trainStepMs.max, 0), infer_ms_median: round(r?.inferMs.median, 0), peak_rss_mib: round(r?.peakRssMiB, 0),
    detail: r?.detail ?? '', error: errors(row),
  };
  for (const k of PEER_KINDS) {
    const t = peer(row, k), p = peerPrefix(k);
    Object.assign(rec, {
      [`${p}_train_img_s`]: round(t?.train_images_per_s), [`${p}_infer_img_s`]: round(t?.infer_images_per_s),
      [`${p}_step_ms_min`]: round(t?.train_step_ms?.min, 0), [`${p}_step_ms_max`]: round(t?.train_step_ms?.max, 0),
      [`${p}_peak_rss_mib`]: round(t?.peak_rss_mib, 0),
      [`${p}_train_ratio`]: ratio(r?.trainImagesPerS, t?.train_images_per_s),
      [`${p}_infer_ratio`]: ratio(r?.inferImagesPerS, t?.infer_images_per_s),
      [`${p}_allocator`]: t?.allocator ?? '', [`${p}_isa`]: t?.isa ?? '',
    });
  }
  return rec;
}

/**
 * One line for our engine per job, then one per PyTorch peer with our speed ratio to it ("ours x": above 1 = we are
 * faster); errors on their own lines.
 */
export function formatTable(rows: BenchRow[]): string {
  const head = ['engine', 'head', 'batch', 'train img/s', 'infer img/s', 'step ms', 'train img/cpu-s', 'peak RSS MiB', 'ours x train', 'ours x infer'];
  const data: string[][] = [];
  const notes: Array<string | undefined> = [];
  for (const row of rows) {
    const r = row.result;
    data.push([ours(row), row.job.head, String(row.job.batch), round(r?.trainImagesPerS), round(r?.inferImagesPerS),
      round(r?.trainStepMs.median, 0), round(r?.trainImagesPerCpuS), round(r?.peakRssMiB, 0), '', '']);
    notes.push(row.error);
    for (const p of row.peers) {
      const t = p.result;
      data.push([`pytorch ${p.kind}`, row.job.head, String(row.job.batch), round(t?.train_images_per_s), round(t?.infer_images_per_s),
        round(t?.train_step_ms?.median, 0), '', round(t?.peak_rss_mib, 0), ratio(r?.trainImagesPerS, t?.train_images_per_s), ratio(r?.inferImagesPerS, t?.infer_images_per_s)]);
      notes.push(p.error);
    }
  }
  const hasPeers = rows.some((r) => r.peers.length > 0);
  const cols = hasPeers ? head.length : head.length - 2;
  const widths = head.slice(0, cols).map((h, i) => Math.max(h.length, ...data.map((d) => d[i]!.length)));
  const line = (vals: string[]) => vals.slice(0, cols).map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w)))];
  data.forEach((d, i) => {
    out.push(line(d));
    if (notes[i]) out.push(`  ! ${notes[i]}`);
  });
  return out.join('\n');
}

/** What each engine ran on: our backend's detail (oneDNN version, threads, ISA) and each peer's allocator and ISA. */
export function formatEngines(rows: BenchRow[]): string {
  const lines = new Set<string>();
  for (const row of rows) {
    // The allocator note is the native backend's (tensors in host memory); webgpu's live in GPU buffers.
    const pool = row.result?.backend === 'native' ? "; allocator: the addon's heap for tensor buffers (glibc malloc for the rest)" : '';
    if (row.result) lines.add(`${row.result.backend}: ${row.result.detail}${pool}`);
    for (const p of row.peers) {
      const t = p.result;
      if (t) lines.add(`pytorch ${p.kind}: ${t.engine}, ${t.precision}, allocator ${t.allocator}, oneDNN ISA: ${t.isa || 'not reported'}`);
    }
  }
  return lines.size ? ['engines:', ...[...lines].map((l) => `  ${l}`)].join('\n') : '';
}

/** Writes bench-<stamp>.json (rows + machine info) and bench-<stamp>.csv; returns both paths. */
export function writeResults(dir: string, stamp: string, rows: BenchRow[], meta: Record<string, unknown>): { json: string; csv: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `bench-${stamp}.json`), csv = join(dir, `bench-${stamp}.csv`);
  writeFileSync(json, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  const s = createObjectCsvStringifier({ header: COLUMNS.map((id) => ({ id, title: id })) });
  writeFileSync(csv, s.getHeaderString()! + s.stringifyRecords(rows.map(csvRecord)));
  return { json, csv };
}
