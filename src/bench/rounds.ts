// Repeated rounds of a bench group: the order each round runs its engines in (ABBA) and our ratios paired by round.
import { createObjectCsvStringifier } from 'csv-writer';

import { spread, type Spread } from '../util/stats.js';
import type { BenchJob, BenchResult, BenchRow, PeerKind, PeerRow, TorchResult } from './types.js';

/**
 * Round r's order of a group's measurements: as listed in even rounds, reversed in odd ones (A B | B A | A B ...), so
 * a machine that slows or speeds up steadily over the invocation favours neither engine once the rounds are paired.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

export interface RoundRunners {
  ours: (job: BenchJob) => Promise<BenchResult>;
  peer: (kind: PeerKind) => Promise<TorchResult>;
  log: (line: string) => void;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Measures one batch and head: each round runs our jobs and then the peers, the next round the same in reverse
 * (roundOrder), and each round's rows carry that round's peers, so ratios are paired by round. Failures become the
 * row's or peer's error, never an exception. Rows come round by round, jobs in the given order.
 */
export async function measureRounds(jobs: BenchJob[], peers: PeerKind[], rounds: number, run: RoundRunners): Promise<BenchRow[]> {
  const items: Array<BenchJob | PeerKind> = [...jobs, ...peers];
  const rows: BenchRow[] = [];
  for (let r = 0; r < rounds; r++) {
    const ours = new Map<BenchJob, BenchRow>(), theirs = new Map<PeerKind, PeerRow>();
    const of = rounds > 1 ? `, round ${r + 1} of ${rounds}` : '';
    for (const item of roundOrder(items, r)) {
      if (typeof item === 'string') {
        run.log(`measuring pytorch ${item} ${jobs[0]!.head} batch ${jobs[0]!.batch}${of}...`);
        theirs.set(item, await run.peer(item).then((result) => ({ kind: item, result }), (e) => ({ kind: item, error: message(e) })));
        continue;
      }
      run.log(`measuring ${item.backend}${item.precision ? ` ${item.precision}` : ''} ${item.head} batch ${item.batch} (${item.warmup} warm-up + ${item.steps} steps${of})...`);
      const row: BenchRow = { job: item, peers: [], ...(rounds > 1 ? { round: r } : {}) };
      try {
        row.result = await run.ours(item);
      } catch (e) {
        row.error = message(e);
      }
      ours.set(item, row);
    }
    const peerRows = peers.map((k) => theirs.get(k)!);
    for (const job of jobs) rows.push({ ...ours.get(job)!, peers: peerRows });
  }
  return rows;
}

/** Our ratio to one peer over the rounds: each round's ours / theirs (same round, so same minutes of the machine). */
export interface PairedRatio {
  /** Our engine as the table names it, e.g. "native bf16". */
  engine: string;
  head: string;
  batch: number;
  peer: PeerKind;
  /** Rounds where both engines gave a result. */
  rounds: number;
  oursTrain?: Spread;
  theirsTrain?: Spread;
  train?: Spread;
  infer?: Spread;
}

const engineOf = (row: BenchRow) =>
  `${row.result?.backend ?? row.job.backend}${row.job.precision && row.job.precision !== 'fp32' ? ` ${row.job.precision}` : ''}`;

/** Groups rows (one per job per round) by job and pairs each round's result with the same round's peers. */
export function pairRounds(rows: BenchRow[]): PairedRatio[] {
  const jobs = new Map<string, BenchRow[]>();
  for (const row of rows) {
    const key = `${engineOf(row)}|${row.job.head}|${row.job.batch}`;
    jobs.set(key, [...(jobs.get(key) ?? []), row]);
  }
  const out: PairedRatio[] = [];
  for (const group of jobs.values()) {
    const first = group[0]!;
    const kinds = [...new Set(group.flatMap((r) => r.peers.map((p) => p.kind)))];
    for (const peer of kinds) {
      const train: number[] = [], infer: number[] = [], ours: number[] = [], theirs: number[] = [];
      for (const row of group) {
        const t = row.peers.find((p) => p.kind === peer)?.result, r = row.result;
        if (!t || !r) continue;
        ours.push(r.trainImagesPerS);
        theirs.push(t.train_images_per_s);
        train.push(r.trainImagesPerS / t.train_images_per_s);
        infer.push(r.inferImagesPerS / t.infer_images_per_s);
      }
      out.push({
        engine: engineOf(first), head: first.job.head, batch: first.job.batch, peer, rounds: train.length,
        ...(train.length ? { oursTrain: spread(ours), theirsTrain: spread(theirs), train: spread(train), infer: spread(infer) } : {}),
      });
    }
  }
  return out;
}

const fmt = (s: Spread | undefined, digits: number) =>
  s === undefined ? '' : s.min === s.max ? s.median.toFixed(digits) : `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;

/** One line per (job, peer): median of the paired ratios and their range over the rounds. */
export function formatPaired(pairs: PairedRatio[]): string {
  const head = ['engine', 'vs', 'head', 'batch', 'rounds', 'ours train img/s', 'theirs train img/s', 'ours x train', 'ours x infer'];
  const data = pairs.map((p) => [p.engine, `pytorch ${p.peer}`, p.head, String(p.batch), String(p.rounds),
    fmt(p.oursTrain, 1), fmt(p.theirsTrain, 1), fmt(p.train, 2), fmt(p.infer, 2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((d) => d[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => (i < 3 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
  return ['paired by round: median (min-max) over the rounds', line(head), line(widths.map((w) => '-'.repeat(w))), ...data.map(line)].join('\n');
}

const PAIRED_COLUMNS = ['engine', 'peer', 'head', 'batch', 'rounds',
  ...['ours_train_img_s', 'theirs_train_img_s', 'train_ratio', 'infer_ratio'].flatMap((c) => [`${c}_median`, `${c}_min`, `${c}_max`])];

/** The paired ratios as CSV, one row per (job, peer), the median, min and max of each quantity over the rounds. */
export function pairedCsv(pairs: PairedRatio[]): string {
  const s = createObjectCsvStringifier({ header: PAIRED_COLUMNS.map((id) => ({ id, title: id })) });
  const cells = (name: string, v: Spread | undefined, digits: number) =>
    Object.fromEntries((['median', 'min', 'max'] as const).map((k) => [`${name}_${k}`, v ? v[k].toFixed(digits) : '']));
  return s.getHeaderString()! + s.stringifyRecords(pairs.map((p) => ({
    engine: p.engine, peer: p.peer, head: p.head, batch: p.batch, rounds: p.rounds,
    ...cells('ours_train_img_s', p.oursTrain, 1), ...cells('theirs_train_img_s', p.theirsTrain, 1),
    ...cells('train_ratio', p.train, 3), ...cells('infer_ratio', p.infer, 3),
  })));
}
