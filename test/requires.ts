// Tests that need something installed (the native addon, Chromium, Slurm, datasets): they skip on a developer's machine
// that lacks it, but in CI (CI=true) the absence fails the test, so a broken build can never land as "pending".
import type { Context } from 'mocha';
import { addonError } from '../src/backend/native/addon.js';
import { nativeAvailable } from '../src/backend/select.js';

/** CI, or the variable that asks for this dependency (e.g. GAPLAB_REQUIRE_NATIVE=1), makes a missing one an error. */
export function required(envName?: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || (envName !== undefined && env[envName] === '1');
}

/**
 * Goes on when `ok`; otherwise throws (when required) or skips the test. `what` says what is missing and how to get it.
 * Call from a test or hook: `needs(this, fs.existsSync(CHROMIUM), 'Chromium (apt-get install chromium)')`.
 */
export function needs(ctx: Context, ok: boolean, what: string, envName?: string): void {
  if (ok) return;
  if (required(envName)) throw new Error(`missing in CI: ${what}`);
  ctx.skip();
}

/** The native backend, with the reason it does not load; GAPLAB_REQUIRE_NATIVE=1 also makes it required. */
export function needsNative(ctx: Context, ok: boolean = nativeAvailable()): void {
  needs(ctx, ok, `the native backend (${addonError() ?? 'not registered'}; apt-get install libdnnl-dev && npm run build:native)`, 'GAPLAB_REQUIRE_NATIVE');
}
