// The CAM section of report.html: src/cam's camReport makes each variant's CAM grid and localization score.
import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { selectBackend } from '../backend/select.js';
import type { LocalizationScore } from '../cam/localization.js';
import { camReport } from '../cam/report.js';
import { readSummary } from '../run/summary.js';
import type { Aggregate } from './aggregate.js';
import type { Plan } from './plan.js';

/** A variant's class activation maps for the report. */
export interface VariantCam {
  variant: string;
  seed: number;
  /** Figure method (cam for GAP heads, gradcam otherwise). */
  method?: string;
  /** PNG of the CAM grid. */
  png?: Buffer;
  /** Localization per method (built-in synthetic data only: it has boxes). */
  scores: LocalizationScore[];
  /** Why something is missing. */
  note?: string;
}

/** Test images in each variant's grid. */
const GRID_IMAGES = 12;

/** What cam/<variant>/ was made from: reused while the run folder's summary is unchanged. */
interface CamSource {
  runDir: string;
  finishedAt: string;
  weights: string;
  method: string;
  gridPng?: string;
  scores: LocalizationScore[];
}

/** CAM grid and localization of one variant's first completed seed, cached under <suite>/cam/<variant>/. */
async function variantCam(plan: Plan, runDir: string, variant: string, seed: number, log: (l: string) => void): Promise<VariantCam> {
  const outDir = path.join(plan.suiteDir, 'cam', variant);
  const sourceFile = path.join(outDir, 'source.json');
  const finishedAt = readSummary(runDir)?.finishedAt ?? '';
  const weights = plan.select;
  const fromSource = (s: CamSource): VariantCam => ({
    variant, seed, method: s.method, scores: s.scores,
    ...(s.gridPng && fs.existsSync(s.gridPng) ? { png: fs.readFileSync(s.gridPng) } : {}),
  });
  const cached = (): CamSource | undefined => {
    try {
      const s = JSON.parse(fs.readFileSync(sourceFile, 'utf8')) as CamSource;
      // Scores cached before the threshold sweep existed lack it: make them again.
      const current = s.scores.every((x) => x.sweep !== undefined);
      return s.runDir === runDir && s.finishedAt === finishedAt && s.weights === weights && current ? s : undefined;
    } catch {
      return undefined;
    }
  };
  const hit = cached();
  if (hit) return fromSource(hit);
  fs.mkdirSync(outDir, { recursive: true });
  let release: () => Promise<void>;
  try {
    // CAM runs in this process and may hold the event loop for a while: a late refresh only means another compare
    // might redo the same figures, never a crash (the default onCompromised throws).
    release = await lockfile.lock(outDir, { realpath: false, lockfilePath: `${outDir}.lock`, stale: 30_000, retries: 0, onCompromised: () => {} });
  } catch {
    return { variant, seed, scores: [], note: 'being made by another compare' };
  }
  try {
    const again = cached();
    if (again) return fromSource(again);
    const synthetic = plan.variants.find((v) => v.name === variant)?.config.data.name === 'synthetic';
    log(`CAM: ${variant} seed ${seed}${synthetic ? ' (with localization)' : ''}`);
    const r = await camReport(runDir, { images: GRID_IMAGES, localization: synthetic, weights, outDir, scale: 4 });
    const source: CamSource = {
      runDir, finishedAt, weights, method: r.method, ...(r.gridPng ? { gridPng: r.gridPng } : {}),
      scores: Object.values(r.localization?.methods ?? {}).filter((s): s is LocalizationScore => s !== undefined),
    };
    fs.writeFileSync(sourceFile, JSON.stringify(source, null, 2));
    return fromSource(source);
  } finally {
    await release().catch(() => undefined);
  }
}

/** One entry per variant with a completed run, or undefined when no backend can run CAM. Never throws. */
export async function camsForSuite(plan: Plan, agg: Aggregate, log: (l: string) => void, warn: (l: string) => void): Promise<VariantCam[] | undefined> {
  const first = plan.variants[0]?.config;
  if (first) {
    // CAM runs in this process: give it the suite's backend (native where built), not tfjs's pure-JS default.
    try {
      await selectBackend(first.backend, {
        threads: first.threads, warn, info: log, ...(first.webgpu?.adapter ? { webgpuAdapter: first.webgpu.adapter } : {}),
      });
    } catch (e) {
      warn(`CAM: ${(e as Error).message}; no CAM section`);
      return undefined;
    }
  }
  const out: VariantCam[] = [];
  for (const v of plan.variants) {
    const rec = agg.runs.find((r) => r.record.variant === v.name && r.record.status === 'completed')?.record;
    const spec = rec && plan.runs.find((s) => s.variant === v.name && s.seed === rec.seed);
    if (!rec || !spec) continue;
    try {
      out.push(await variantCam(plan, spec.runDir, v.name, rec.seed, log));
    } catch (e) {
      warn(`CAM of ${v.name}: ${(e as Error).message}`);
      out.push({ variant: v.name, seed: rec.seed, scores: [], note: `CAM failed: ${(e as Error).message}` });
    }
  }
  return out;
}
