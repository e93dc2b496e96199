// train.precision on the selected backend: bf16 needs the native backend on a CPU with native bf16; auto falls back to fp32.
import type { PrecisionName } from '../config/schema.js';
import { UserError } from '../errors.js';
import { loadAddon } from './native/addon.js';
import { NATIVE_BACKEND_NAME } from './native/gradients.js';

/** The arithmetic a run uses, once `auto` is resolved. */
export type Precision = Exclude<PrecisionName, 'auto'>;

/** What deciding the precision asks of the machine; tests fake it. */
export interface PrecisionDeps {
  /** oneDNN's effective ISA as the addon reports it, and whether it has bf16 dot products (AVX512_BF16 or AMX). */
  nativeBf16(): { isa: string; supported: boolean };
  /** Switches the native backend's convolutions and matmuls to this precision. */
  setNativePrecision(precision: Precision): void;
}

export const machinePrecisionDeps: PrecisionDeps = {
  nativeBf16: () => {
    const addon = loadAddon();
    const isa = addon?.info().isa ?? 'unknown';
    // An addon built before bf16 support has no bf16Supported (rebuilding it adds it).
    return { isa, supported: addon?.bf16Supported?.() ?? false };
  },
  setNativePrecision: (precision) => {
    const addon = loadAddon();
    if (addon?.setPrecision) addon.setPrecision(precision);
    else if (precision !== 'fp32') throw new UserError('train.precision: bf16: the native addon predates bf16; rebuild it (npm run build:native)');
  },
};

const BF16_CPUS = 'a CPU with AVX512_BF16 or AMX (grep -o avx512_bf16 /proc/cpuinfo)';

/**
 * The precision `setting` gives on `backend`, with the one line that says why when `auto` falls back to fp32.
 * bf16 where it cannot run is a UserError naming what is missing: silently training in fp32 would mislabel the run.
 */
export function resolvePrecision(
  setting: PrecisionName,
  backend: string,
  deps: Pick<PrecisionDeps, 'nativeBf16'> = machinePrecisionDeps,
): { precision: Precision; note?: string } {
  if (setting === 'fp32') return { precision: 'fp32' };
  if (backend !== NATIVE_BACKEND_NAME) {
    if (setting === 'bf16') {
      throw new UserError(`train.precision: bf16 runs on the native (oneDNN) backend only, and this run uses '${backend}'; ` +
        'set backend: native, or train.precision: fp32');
    }
    return { precision: 'fp32', note: `train.precision auto: fp32 (bf16 needs the native backend; this run uses '${backend}')` };
  }
  const { isa, supported } = deps.nativeBf16();
  if (supported) return { precision: 'bf16' };
  if (setting === 'bf16') {
    throw new UserError(`train.precision: bf16 needs ${BF16_CPUS}; oneDNN reports ISA ${isa} here, without bf16; ` +
      'use train.precision: fp32 (or auto)');
  }
  return { precision: 'fp32', note: `train.precision auto: fp32 (oneDNN reports ISA ${isa} here, without AVX512_BF16 or AMX)` };
}

/** Resolves `setting` and applies it to the backend (the native backend is always set, so fp32 undoes an earlier bf16
 *  run in this process); `note` gets auto's fallback line. Returns the precision in use. */
export function applyPrecision(
  setting: PrecisionName,
  backend: string,
  note: (line: string) => void,
  deps: PrecisionDeps = machinePrecisionDeps,
): Precision {
  const resolved = resolvePrecision(setting, backend, deps);
  if (backend === NATIVE_BACKEND_NAME) deps.setNativePrecision(resolved.precision);
  if (resolved.note) note(resolved.note);
  return resolved.precision;
}
