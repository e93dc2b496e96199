// scripts/gpu-check.sh: the adapters Dawn sees, the webgpu correctness tests, NIN throughput on webgpu beside this
// machine's other backends (and PyTorch on CUDA when it is there), all in one JSON file. Offline: nothing is downloaded.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { findAdapter, listAdapters, loadDawn, type AdapterSearch, type AdapterSummary, type ListedAdapter } from '../backend/webgpu/dawn.js';
import { defaultBackends, runBench } from './run.js';
import { BENCH_HEADS, type BenchRow } from './types.js';

/** The correctness tests: kernels and whole models against cpu, adapter discovery, a training run that learns. */
export const WEBGPU_TESTS = [
  'test/backend/webgpu-dawn.test.ts', 'test/backend/webgpu-ops.test.ts', 'test/backend/webgpu-models.test.ts',
  'test/train/webgpu-learns.test.ts',
];

export interface GpuCheckOptions {
  /** The repository (tests and bench/pytorch/nin.py are found there). */
  repo: string;
  /** The JSON file to write. */
  out: string;
  batches: number[];
  steps: number;
  warmup: number;
  /** A Python with PyTorch, for the CUDA peer (skipped when it has no torch or torch sees no CUDA device). */
  python: string;
}

interface TestSummary {
  command: string;
  passed: number;
  failed: number;
  pending: number;
  seconds: number;
  failures: Array<{ test: string; error: string }>;
}

/** Versions of the packages the webgpu backend is made of, as installed. */
function packageVersions(repo: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pkg of ['webgpu', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-core']) {
    try {
      out[pkg] = (JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      out[pkg] = 'not installed';
    }
  }
  return out;
}

/** Only what JSON can hold of an adapter search. */
function plain(s: AdapterSearch): { adapter: AdapterSummary } | { status: string; reason: string } {
  return s.status === 'found' ? { adapter: s.adapter } : { status: s.status, reason: s.reason };
}

async function adapters(log: (line: string) => void): Promise<Record<string, unknown>> {
  let listed: ListedAdapter[] = [];
  try {
    listed = await listAdapters(await loadDawn());
  } catch (e) {
    log(`Dawn does not load: ${(e as Error).message.split('\n')[0]}`);
  }
  log(`adapters Dawn sees: ${listed.length ? listed.map((a) => `${a.name} (${a.api})`).join('; ') : 'none'}`);
  const used = await findAdapter({ glesFallback: true });
  const auto = await findAdapter({ glesFallback: false });
  const hardware = auto.status === 'found' && !auto.adapter.software;
  log(`backend webgpu runs on: ${used.status === 'found' ? `${used.adapter.device} (${used.adapter.api}${used.adapter.software ? ', software' : ''})` : used.reason}`);
  if (!hardware) {
    log('no hardware adapter: backend auto will not take webgpu. On Linux a GPU needs its Vulkan driver (NVIDIA: the ' +
      'driver\'s Vulkan ICD; in containers NVIDIA_DRIVER_CAPABILITIES must include graphics, e.g. all)');
  }
  return { listed, webgpu: plain(used), auto: { ...plain(auto), hardware } };
}

function runTests(o: GpuCheckOptions, log: (line: string) => void): TestSummary {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-gpu-check-')), 'mocha.json');
  const args = ['--reporter', 'json', '--reporter-option', `output=${report}`, ...WEBGPU_TESTS];
  const command = `GAPLAB_REQUIRE_WEBGPU=1 npx mocha ${WEBGPU_TESTS.join(' ')}`;
  log(`running ${command} ...`);
  const mocha = path.join(o.repo, 'node_modules', '.bin', 'mocha');
  const t0 = Date.now();
  const r = spawnSync(mocha, args, { cwd: o.repo, env: { ...process.env, GAPLAB_REQUIRE_WEBGPU: '1' }, encoding: 'utf8' });
  const seconds = (Date.now() - t0) / 1000;
  let json: { stats?: { passes: number; failures: number; pending: number }; failures?: Array<{ fullTitle: string; err: { message?: string } }> } = {};
  try {
    json = JSON.parse(fs.readFileSync(report, 'utf8')) as typeof json;
  } catch {
    // mocha did not get as far as its report
  } finally {
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
  }
  const failures = (json.failures ?? []).map((f) => ({ test: f.fullTitle, error: (f.err.message ?? '').split('\n')[0]! }));
  if (!json.stats) failures.push({ test: '(mocha)', error: `exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` });
  const s = json.stats ?? { passes: 0, failures: 1, pending: 0 };
  log(`tests: ${s.passes} passed, ${s.failures} failed, ${s.pending} pending (${seconds.toFixed(0)} s)`);
  for (const f of failures) log(`  failed: ${f.test}: ${f.error}`);
  return { command, passed: s.passes, failed: s.failures, pending: s.pending, seconds, failures };
}

/** PyTorch on CUDA running the same NIN step (bench/pytorch/nin.py --device cuda), or why it was not run. */
function torchCuda(o: GpuCheckOptions, log: (line: string) => void): Record<string, unknown> {
  const probe = spawnSync(o.python, ['-c', 'import json, torch; c = torch.cuda.is_available(); ' +
    "print(json.dumps({'torch': torch.__version__, 'cuda': c, 'device': torch.cuda.get_device_name(0) if c else None}))"], { encoding: 'utf8' });
  const found = probe.status === 0 ? (JSON.parse(probe.stdout.trim().split('\n').pop()!) as { torch: string; cuda: boolean; device: string | null }) : undefined;
  if (!found?.cuda) {
    const why = found ? `torch ${found.torch} sees no CUDA device` : `no PyTorch for ${o.python}`;
    log(`PyTorch peer on CUDA: skipped (${why})`);
    return { skipped: why };
  }
  const results: unknown[] = [];
  for (const batch of o.batches) {
    for (const head of BENCH_HEADS) {
      const script = path.join(o.repo, 'bench', 'pytorch', 'nin.py');
      const args = [script, '--device', 'cuda', '--head', head, '--batch', String(batch), '--steps', String(o.steps), '--warmup', String(o.warmup)];
      const r = spawnSync(o.python, args, { encoding: 'utf8' });
      const line = r.status === 0 ? r.stdout.trim().split('\n').pop()! : undefined;
      results.push(line ? JSON.parse(line) : { head, batch, error: (r.stderr ?? '').trim().split('\n').pop() });
      log(`PyTorch on ${found.device}: ${head} batch ${batch}: ${line ?? 'failed'}`);
    }
  }
  return { ...found, results };
}

/** Runs every part, writes `o.out`; true when an adapter was found and every test passed. */
export async function runGpuCheck(o: GpuCheckOptions, log: (line: string) => void): Promise<boolean> {
  const report: Record<string, unknown> = {
    date: new Date().toISOString(), host: os.hostname(), platform: `${process.platform}-${process.arch}`, node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, versions: packageVersions(o.repo),
  };
  report.adapters = await adapters(log);
  const tests = runTests(o, log);
  report.tests = tests;
  // Every backend bench would measure here besides webgpu: native as the CPU reference, tfjs-node-gpu where installed
  // (the measurement that orders auto between it and webgpu).
  const backends = ['webgpu' as const, ...defaultBackends()];
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-gpu-check-bench-'));
  try {
    const rows: BenchRow[] = await runBench({
      backends, precisions: ['fp32'], heads: [...BENCH_HEADS], batches: o.batches, steps: o.steps, warmup: o.warmup, cpuSteps: 1,
      threads: 0, seed: 1, peers: [], python: o.python, torchScript: path.join(o.repo, 'bench', 'pytorch', 'nin.py'), outDir, profile: false,
    }, (line) => {
      // Its own files go to a temporary folder: the rows are in this report, the one file to send back.
      if (!line.includes(outDir)) log(line);
    });
    report.bench = rows;
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  report.pytorchCuda = torchCuda(o, log);
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${path.resolve(o.out)}`);
  const adapterFound = 'adapter' in (report.adapters as { webgpu: object }).webgpu;
  return adapterFound && tests.failed === 0 && tests.passed > 0;
}
