// Persists the convolution layouts that auto mode picks by timing, so reruns on this machine compute bit-identical results.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../../io/durable-write.js';

import type { ConvChoice, NativeAddon } from './addon.js';

/** Env var: folder of the choice files (default $XDG_CACHE_HOME/gaplab or ~/.cache/gaplab); "off" disables them. */
export const CONV_CHOICES_ENV = 'GAPLAB_CONV_CHOICES';

type Choice = [string, ConvChoice];
/** Most choices a file (and the addon) holds; keep equal to kMaxChoices in native/src/conv.cc. */
export const MAX_CHOICES = 16384;
const LAYOUTS = new Set<string>(['plain', 'blocked', 'split', 'plain-bf16', 'blocked-bf16', 'split-bf16', 'winograd'] satisfies ConvChoice[]);
/** Bump when plan keys or layouts change meaning, so old files are ignored. */
const FORMAT = 1;

export interface ChoicesFile {
  format: number;
  /** What the choices were timed on (they only apply there). */
  machine: { cpu: string; arch: string; threads: number; onednn: string };
  choices: Choice[];
}

/** What the addon's current choices are timed for. */
export function machineOf(addon: NativeAddon): ChoicesFile['machine'] {
  const info = addon.info();
  return { cpu: os.cpus()[0]?.model ?? 'unknown', arch: process.arch, threads: info.threads, onednn: info.onednn };
}

/** The choice file for this machine, oneDNN version and thread count; undefined when disabled. */
export function convChoicesPath(addon: NativeAddon, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const setting = env[CONV_CHOICES_ENV];
  if (setting === 'off') return undefined;
  const dir = setting || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'gaplab');
  const id = createHash('sha256').update(JSON.stringify({ format: FORMAT, ...machineOf(addon) })).digest('hex').slice(0, 16);
  return path.join(dir, `conv-choices-${id}.json`);
}

/** The file's choices, or [] when it is missing, unreadable, from another format or malformed (it is only a cache). */
export function readConvChoices(file: string): Choice[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  const f = parsed as Partial<ChoicesFile> | null;
  if (!f || f.format !== FORMAT || !Array.isArray(f.choices)) return [];
  return f.choices
    .filter((c): c is Choice => Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && LAYOUTS.has(c[1] as string))
    .slice(0, MAX_CHOICES);
}

/** Gives the addon the recorded choices of this machine (if any); returns how many. */
export function loadConvChoices(addon: NativeAddon, file: string | undefined): number {
  if (!file) return 0;
  const choices = readConvChoices(file);
  try {
    addon.setConvChoices(choices);
  } catch {
    addon.setConvChoices([]); // a file the addon refuses is ignored like any broken cache
    return 0;
  }
  return choices.length;
}

/**
 * Adds the addon's choices to the file, under a lock so concurrent processes (compare --jobs N) do not drop each
 * other's. Choices already in the file win (another process may have run with them since this one started), so the
 * file only grows, up to MAX_CHOICES. `machine` is what the choices were timed for (default: the addon's now).
 * Synchronous: it also runs from a process 'exit' handler; any failure only costs the next run's reproducibility.
 */
export function saveConvChoices(addon: NativeAddon, file: string | undefined, machine = machineOf(addon)): void {
  if (!file) return;
  const mine = addon.convChoices();
  if (!mine.length) return;
  let release: (() => void) | undefined;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    release = lockfile.lockSync(file, { realpath: false, stale: 10_000 });
    const known = new Map(readConvChoices(file));
    const before = known.size;
    for (const [key, layout] of mine) if (!known.has(key) && known.size < MAX_CHOICES) known.set(key, layout);
    if (known.size === before) return;
    const out: ChoicesFile = { format: FORMAT, machine, choices: [...known.entries()].sort() };
    writeFileAtomic(file, JSON.stringify(out, null, 1) + '\n');
  } catch {
    // Locked by another process for too long, read-only home, full disk: skip; this run is unaffected.
  } finally {
    release?.();
  }
}
