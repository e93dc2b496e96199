// Optional CAM section of report.html: asks the CAM module (src/cam, issue 5) for each variant's grid and localization score.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Aggregate } from './aggregate.js';
import type { Plan } from './plan.js';
import type { VariantCam } from './report.js';

/** What compare needs from src/cam: a CAM grid PNG and the localization score for one run folder. */
export interface CamForRun {
  (runDir: string): Promise<{ png?: Buffer; localization?: number; baseline?: number; note?: string }>;
}

/** The module and export compare looks for; src/cam/report.ts is expected to export `camForRun`. */
const CAM_MODULE = new URL('../cam/report.js', import.meta.url);
const CAM_EXPORT = 'camForRun';

/** Loads the CAM hook, or undefined while the CAM module does not exist (or lacks the export). */
export async function loadCamHook(warn: (l: string) => void): Promise<CamForRun | undefined> {
  const file = fileURLToPath(CAM_MODULE).replace(/\.js$/, '.ts');
  if (!fs.existsSync(file) && !fs.existsSync(fileURLToPath(CAM_MODULE))) return undefined;
  try {
    const mod = (await import(CAM_MODULE.href)) as Record<string, unknown>;
    const fn = mod[CAM_EXPORT];
    if (typeof fn !== 'function') {
      warn(`report: ${file} has no ${CAM_EXPORT}(); no CAM section`);
      return undefined;
    }
    return fn as CamForRun;
  } catch (e) {
    warn(`report: cannot load the CAM module (${(e as Error).message}); no CAM section`);
    return undefined;
  }
}

/** One entry per variant with a completed run (its first completed seed), or undefined without the CAM module. */
export async function camsForSuite(plan: Plan, agg: Aggregate, warn: (l: string) => void): Promise<VariantCam[] | undefined> {
  const hook = await loadCamHook(warn);
  if (!hook) return undefined;
  const out: VariantCam[] = [];
  for (const v of plan.variants) {
    const i = agg.runs.findIndex((r) => r.record.variant === v.name && r.record.status === 'completed');
    if (i < 0) continue;
    const spec = plan.runs.find((s) => s.variant === v.name && s.seed === agg.runs[i].record.seed);
    if (!spec) continue;
    try {
      out.push({ variant: v.name, ...(await hook(spec.runDir)) });
    } catch (e) {
      out.push({ variant: v.name, note: `CAM failed: ${(e as Error).message}` });
    }
  }
  return out;
}
