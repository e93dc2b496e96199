// Test helper: the native ZCA kernels (addon built with LAPACK), required in CI, skipped on a machine without them.
import type { Context } from 'mocha';
import { zcaKernels, type ZcaKernels } from '../../src/data/zca.js';
import { needs } from '../requires.js';

/** The native ZCA kernels; a missing LAPACK skips the test, or fails it in CI or with GAPLAB_REQUIRE_NATIVE=1. */
export function needsNativeZca(ctx: Context): ZcaKernels {
  const found = zcaKernels();
  needs(ctx, found.kernels.name === 'native',
    `LAPACK in the native backend (${found.fallback}; apt-get install liblapacke-dev libopenblas0-openmp && npm run build:native)`,
    'GAPLAB_REQUIRE_NATIVE');
  return found.kernels;
}
