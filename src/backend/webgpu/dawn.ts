// Finds a WebGPU adapter through Dawn's Node bindings (npm package `webgpu`): which API, which adapter, hardware or not.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { UserError } from '../../errors.js';

export const WEBGPU_PACKAGE = 'webgpu';

/** The parts of Dawn's GPUAdapter used here (the `webgpu` package is optional, so its types are not imported). */
export interface DawnAdapter {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  readonly features: ReadonlySet<string>;
  readonly limits: Readonly<Record<string, number>>;
  requestDevice(descriptor?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<unknown>;
}

/** Dawn's GPU object (navigator.gpu in a browser); its `create` flags fix the API and the adapter name. */
export interface DawnGpu {
  requestAdapter(options?: { powerPreference?: string; featureLevel?: string }): Promise<DawnAdapter | null>;
}

/** What `import('webgpu')` gives. */
export interface DawnModule {
  create(flags: string[]): DawnGpu;
  /** GPUBufferUsage, GPUMapMode, ...: tfjs-backend-webgpu reads them as globals. */
  globals: object;
}

/** An adapter as runs report it (summary.json's backend.adapter). */
export interface AdapterSummary {
  /** Dawn's backend: vulkan, metal, d3d12, opengles, ... */
  api: string;
  /** compatibility: the WebGPU subset that OpenGL ES can run (Dawn asks for it on GL backends). */
  featureLevel: 'core' | 'compatibility';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU rasterizer (llvmpipe, lavapipe, SwiftShader, WARP) or Dawn's fallback or null adapter: correct, not fast. */
  software: boolean;
}

/** An adapter found, and what registering tfjs's backend on it needs. */
export interface FoundAdapter {
  status: 'found';
  adapter: AdapterSummary;
  dawn: DawnModule;
  gpu: DawnGpu;
  /** A fresh handle on the same adapter: a GPUAdapter gives one device only (then Dawn calls it "consumed"). */
  open(): Promise<DawnAdapter | null>;
}

/** The adapter found, or why there is none ('none': Dawn loads but offers no adapter; 'missing': the package is not
 *  installed; 'broken': it is, but fails to load here). */
export type AdapterSearch = FoundAdapter | { status: 'missing' | 'broken' | 'none'; reason: string };

export interface AdapterRequest {
  /** Take the first adapter whose name contains this, ignoring case and punctuation; none = the high-performance one. */
  name?: string;
  /** On Linux, when the default API (Vulkan) has no adapter, try OpenGL ES through EGL: Mesa's llvmpipe on a machine
   *  without a GPU. auto leaves it off (it would only ever find a software or GL-only adapter). */
  glesFallback: boolean;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render driver|null-backend/i;

export function isSoftwareAdapter(info: DawnAdapter['info']): boolean {
  return info.isFallbackAdapter === true || SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** One line for logs: `vendor architecture: device, description (api)`, leaving out what the adapter leaves empty. */
export function describeAdapter(a: AdapterSummary): string {
  const who = [a.vendor, a.architecture].filter(Boolean).join(' ');
  const what = [a.device, a.description].filter(Boolean).join(', ');
  const api = a.featureLevel === 'compatibility' ? `${a.api}, compatibility mode` : a.api;
  return `${[who, what].filter(Boolean).join(': ')} (${api}${a.software ? ', software' : ''})`;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** Dawn's default API for this platform (what it tries without a `backend=` flag). */
function defaultApi(): string {
  return process.platform === 'win32' ? 'd3d12' : process.platform === 'darwin' ? 'metal' : 'vulkan';
}

/**
 * Whether the Vulkan loader is installed (Linux). Without it Dawn finds no Vulkan adapter anyway, but prints a two-line
 * warning on stderr first; asking ldconfig (a few ms) keeps that out of every CPU machine's training log. Unknown
 * (no ldconfig) counts as present: Dawn then finds out itself.
 */
function vulkanLoaderPresent(): boolean {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')))) return true;
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('libvulkan.so.1');
    } catch {
      // not at this path
    }
  }
  return true;
}

let loaded: Promise<DawnModule> | undefined;

/** Imports the package once (the import is what fails when it is absent or its dawn.node does not load here). */
export function loadDawn(): Promise<DawnModule> {
  loaded ??= import(WEBGPU_PACKAGE) as Promise<DawnModule>;
  return loaded;
}

/** Mesa and the Vulkan loader's Wayland code warn on every start when XDG_RUNTIME_DIR is unset (as under CI, cron,
 *  docker): a private folder of this user's quiets them. A folder of that name that is not this user's alone is not
 *  used (a shared /tmp). */
function ensureXdgRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR || typeof process.getuid !== 'function') return;
  const uid = process.getuid();
  const dir = path.join(os.tmpdir(), `gaplab-xdg-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return;
  }
  const st = fs.lstatSync(dir);
  if (st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0) process.env.XDG_RUNTIME_DIR = dir;
}

/** Environment Dawn, EGL and Mesa read at adapter discovery; values the user set are kept. `gles`: OpenGL ES will be
 *  tried, through EGL, which then needs Mesa's surfaceless platform (no X11/Wayland display: eglInitialize fails). */
function prepareEnvironment(gles: boolean): void {
  if (gles) process.env.EGL_PLATFORM ??= 'surfaceless';
  ensureXdgRuntimeDir();
}

/** The GL backends implement only WebGPU's compatibility subset: Dawn offers them no adapter at the core level. */
function featureLevelOf(api: string): AdapterSummary['featureLevel'] {
  return /^(opengl|opengles|gl|gles)$/.test(api) ? 'compatibility' : 'core';
}

/** An adapter as Dawn lists it: its API and its name before WebGPU's normalization of adapter info (Dawn's `adapter=`
 *  flag matches this name; GPUAdapterInfo.device holds the normalized one, e.g. 'llvmpipe-llvm-15-0-6-256-bits-'). */
export interface ListedAdapter {
  api: string;
  name: string;
}

/** Dawn's adapters on one API (undefined: its default): asked for an adapter name that cannot exist, Dawn rejects
 *  with its list; an API without adapters (or not on this platform) resolves to none. */
async function adaptersOn(dawn: DawnModule, api: string | undefined): Promise<ListedAdapter[]> {
  try {
    await requestAdapter(dawn, api, '\u0001gaplab-no-such-adapter');
    return [];
  } catch (e) {
    return [...String((e as Error)?.message ?? e).matchAll(/\* backend: '([^']*)', name: '([^']*)'/g)].map((m) => ({ api: m[1]!, name: m[2]! }));
  }
}

/** Lower case, every run of other characters one '-': 'RTX 3090' and 'llvmpipe-llvm-15' match as users copy them. */
const normalized = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** Asks one Dawn API (undefined: Dawn's default) for its high-performance adapter, or the first whose Dawn name
 *  contains `name`; undefined when it has none. A name that matches none of its adapters rejects with Dawn's list. */
async function requestAdapter(dawn: DawnModule, api: string | undefined, name: string | undefined): Promise<FoundAdapter | undefined> {
  const flags = [...(api ? [`backend=${api}`] : []), ...(name ? [`adapter=${name}`] : [])];
  const used = api ?? process.env.DAWNNODE_BACKEND?.toLowerCase() ?? defaultApi();
  const gpu = dawn.create(flags);
  const open = () => gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel: featureLevelOf(used) });
  const handle = await open();
  if (!handle) return undefined;
  const { vendor, architecture, device, description } = handle.info;
  const adapter: AdapterSummary = {
    api: used, featureLevel: featureLevelOf(used), vendor, architecture, device, description, software: isSoftwareAdapter(handle.info),
  };
  return { status: 'found', adapter, dawn, gpu, open };
}

/**
 * The adapter a webgpu run would use: the default API's high-performance adapter (or the first whose name contains
 * `name`, ignoring case and punctuation), else, with `glesFallback` on Linux, OpenGL ES's. Dawn's DAWNNODE_BACKEND
 * environment variable picks the API instead. A `name` that matches no adapter is a UserError listing the adapters.
 */
export async function findAdapter(req: AdapterRequest, load: () => Promise<DawnModule> = loadDawn): Promise<AdapterSearch> {
  let dawn: DawnModule;
  try {
    dawn = await load();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && firstLine(e).includes(`'${WEBGPU_PACKAGE}'`)) return { status: 'missing', reason: 'not installed' };
    return { status: 'broken', reason: firstLine(e) };
  }
  const forced = process.env.DAWNNODE_BACKEND;
  const apis: Array<string | undefined> = [];
  const tried: string[] = [];
  if (forced !== undefined || process.platform !== 'linux' || vulkanLoaderPresent()) apis.push(undefined);
  else tried.push('no Vulkan loader (libvulkan.so.1)');
  if (req.glesFallback && forced === undefined && process.platform === 'linux') apis.push('opengles');
  prepareEnvironment(apis.includes('opengles') || featureLevelOf(forced?.toLowerCase() ?? '') === 'compatibility');
  const listed: ListedAdapter[] = [];
  for (const api of apis) {
    // A name picks by Dawn's own list, matched loosely; Dawn is then given the exact name it lists.
    let exact: string | undefined;
    if (req.name !== undefined) {
      const there = await adaptersOn(dawn, api);
      listed.push(...there);
      exact = there.find((a) => normalized(a.name).includes(normalized(req.name!)))?.name;
      if (exact === undefined) continue;
    }
    const got = await requestAdapter(dawn, api, exact);
    if (got) return got;
    tried.push(api === 'opengles'
      ? "no OpenGL ES adapter (for Mesa's llvmpipe: apt-get install libegl-dev libgl1-mesa-dri)"
      : `no ${forced ?? defaultApi()} adapter`);
  }
  if (req.name !== undefined) {
    const there = listed.length ? listed.map((a) => `'${a.name}' (${a.api})`).join(', ') : 'none';
    throw new UserError(`webgpu.adapter: no adapter's name contains '${req.name}'; Dawn lists: ${there}`);
  }
  return { status: 'none', reason: tried.join('; ') };
}

/** Every adapter Dawn lists, per API it has on this platform (scripts/gpu-check.sh prints them). */
export async function listAdapters(dawn: DawnModule): Promise<ListedAdapter[]> {
  const apis = process.platform === 'linux' ? ['vulkan', 'opengles', 'opengl'] : [defaultApi()];
  prepareEnvironment(process.platform === 'linux');
  const out: ListedAdapter[] = [];
  for (const api of apis) {
    if (api === 'vulkan' && !vulkanLoaderPresent()) continue;
    out.push(...(await adaptersOn(dawn, api)));
  }
  return out;
}
