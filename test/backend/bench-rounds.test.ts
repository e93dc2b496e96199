// Bench rounds: ABBA order, rows paired with the same round's peers, paired ratios' median and range, their CSV.
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';

import { formatPaired, measureRounds, pairedCsv, pairRounds, roundOrder } from '../../src/bench/rounds.js';
import type { BenchJob, BenchResult, PeerKind, TorchResult } from '../../src/bench/types.js';

const fp32: BenchJob = { backend: 'native', head: 'gap', batch: 64, steps: 3, warmup: 1, threads: 2, seed: 1 };
const bf16: BenchJob = { ...fp32, precision: 'bf16' };

const ours = (job: BenchJob, train: number, infer: number): BenchResult => ({
  job, backend: 'native', detail: 'oneDNN', params: 1, trainImagesPerS: train, inferImagesPerS: infer, trainImagesPerCpuS: 0,
  inferImagesPerCpuS: 0, trainStepMs: { median: 0, min: 0, max: 0 }, inferMs: { median: 0, min: 0, max: 0 }, peakRssMiB: 0,
});
const theirs = (kind: PeerKind, train: number, infer: number): TorchResult => ({
  kind, engine: 'pytorch', head: 'gap', batch: 64, threads: 2, params: 1, precision: kind === 'tuned-bf16' ? 'bf16' : 'fp32',
  channels_last: false, allocator: 'tcmalloc', isa: '', train_images_per_s: train, infer_images_per_s: infer, peak_rss_mib: 0,
});

describe('bench rounds', () => {
  it('runs even rounds in the given order and odd rounds reversed (A B, B A, A B)', () => {
    expect(roundOrder(['a', 'b', 'c'], 0)).to.deep.equal(['a', 'b', 'c']);
    expect(roundOrder(['a', 'b', 'c'], 1)).to.deep.equal(['c', 'b', 'a']);
    expect(roundOrder(['a', 'b', 'c'], 2)).to.deep.equal(['a', 'b', 'c']);
  });

  it("measures in ABBA order and gives each round's rows that round's peers; failures become errors", async () => {
    const calls: string[] = [];
    let n = 0;
    // Every call returns a rate that says when it ran (10, 20, 30, ...): the pairing below must follow the rounds.
    const rows = await measureRounds([fp32, bf16], ['tuned', 'plain'], 2, {
      ours: async (job) => {
        calls.push(job.precision ?? 'fp32');
        n += 10;
        if (job.precision === 'bf16' && n > 40) throw new Error('bf16 failed');
        return ours(job, n, n);
      },
      peer: async (kind) => {
        calls.push(kind);
        n += 10;
        return theirs(kind, n, n);
      },
      log: () => undefined,
    });
    expect(calls).to.deep.equal(['fp32', 'bf16', 'tuned', 'plain', 'plain', 'tuned', 'bf16', 'fp32']);
    expect(rows.map((r) => [r.round, r.job.precision ?? 'fp32', r.result?.trainImagesPerS, r.error])).to.deep.equal([
      [0, 'fp32', 10, undefined], [0, 'bf16', 20, undefined], [1, 'fp32', 80, undefined], [1, 'bf16', undefined, 'bf16 failed'],
    ]);
    expect(rows.map((r) => r.peers.map((p) => p.result?.train_images_per_s))).to.deep.equal([[30, 40], [30, 40], [60, 50], [60, 50]]);
  });

  it('a single round adds no round field (the report stays as before)', async () => {
    const rows = await measureRounds([fp32], [], 1, { ours: async (j) => ours(j, 1, 1), peer: async (k) => theirs(k, 1, 1), log: () => undefined });
    expect(rows).to.have.length(1);
    expect(rows[0]).to.not.have.property('round');
  });

  it('pairs ratios by round: median and range of ours / theirs, rounds without both left out', () => {
    // fp32 against tuned: 130/100 = 1.30, 120/100 = 1.20, 150/100 = 1.50 -> median 1.30; infer 400/300, 330/300, 360/300.
    // Round 3's peer failed for bf16's pairing too, so bf16 has two rounds: 200/100 = 2.0 and 210/100 = 2.1 -> 2.05.
    const peer = (train: number, infer: number) => [{ kind: 'tuned' as const, result: theirs('tuned', train, infer) }];
    const rows = [
      { job: fp32, round: 0, result: ours(fp32, 130, 400), peers: peer(100, 300) },
      { job: bf16, round: 0, result: ours(bf16, 200, 500), peers: peer(100, 300) },
      { job: fp32, round: 1, result: ours(fp32, 120, 330), peers: peer(100, 300) },
      { job: bf16, round: 1, result: ours(bf16, 210, 600), peers: peer(100, 300) },
      { job: fp32, round: 2, result: ours(fp32, 150, 360), peers: peer(100, 300) },
      { job: bf16, round: 2, error: 'x', peers: peer(100, 300) },
    ];
    const pairs = pairRounds(rows);
    expect(pairs).to.have.length(2);
    expect(pairs[0]).to.include({ engine: 'native', peer: 'tuned', rounds: 3 });
    expect(pairs[0]!.train).to.deep.equal({ median: 1.3, min: 1.2, max: 1.5 });
    expect(pairs[0]!.infer!.median).to.be.closeTo(1.2, 1e-12);
    expect(pairs[0]!.oursTrain).to.deep.equal({ median: 130, min: 120, max: 150 });
    expect(pairs[1]).to.include({ engine: 'native bf16', rounds: 2 });
    expect(pairs[1]!.train!.median).to.be.closeTo(2.05, 1e-12);

    const lines = formatPaired(pairs).split('\n');
    expect(lines[0]).to.equal('paired by round: median (min-max) over the rounds');
    expect(lines[3]).to.match(/^native\s+pytorch tuned\s+gap\s+64\s+3\s+130\.0 \(120\.0-150\.0\)\s+100\.0\s+1\.30 \(1\.20-1\.50\)\s+1\.20 \(1\.10-1\.33\)$/);
    expect(lines[4]).to.match(/^native bf16\s+pytorch tuned\s+gap\s+64\s+2\s+205\.0 \(200\.0-210\.0\)\s+100\.0\s+2\.05 \(2\.00-2\.10\)/);

    const csv = parse(pairedCsv(pairs), { columns: true }) as Array<Record<string, string>>;
    expect(csv[0]).to.include({ engine: 'native', peer: 'tuned', rounds: '3', train_ratio_median: '1.300', train_ratio_min: '1.200', train_ratio_max: '1.500', theirs_train_img_s_median: '100.0' });
  });
});
