// Loads a YAML config: resolves `extends:` chains, applies `--set a.b=c` overrides, validates against the schema.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

/** Config files are small; anything bigger is a mistake (or an attack on the parser). */
const MAX_CONFIG_BYTES = 256 * 1024;
const MAX_EXTENDS_DEPTH = 16;

type Tree = { [key: string]: unknown };

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file named on the command line. */
  file: string;
  /** Every file read, root first (the extends chain). */
  sources: string[];
}

/** `nin-gap` or `nin-gap.yaml` resolve under configsDir; paths with a slash resolve from the working directory. */
export function resolveConfigPath(nameOrPath: string, configsDir: string): string {
  const candidates: string[] = [];
  const withExt = /\.ya?ml$/i.test(nameOrPath) ? [nameOrPath] : [nameOrPath, `${nameOrPath}.yaml`, `${nameOrPath}.yml`];
  for (const p of withExt) {
    candidates.push(path.resolve(p));
    if (!nameOrPath.includes('/') && !nameOrPath.includes(path.sep)) candidates.push(path.resolve(configsDir, p));
  }
  const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  if (!found) {
    throw new UserError(`config not found: ${nameOrPath} (looked for ${candidates.map((c) => path.relative('.', c) || c).join(', ')})`);
  }
  return found;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, anything else (arrays included) is replaced by the later value. */
export function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isTree(v) && isTree(out[k]) ? deepMerge(out[k] as Tree, v) : v;
  }
  return out;
}

/** Parses YAML text as a config mapping, with the alias-bomb guard; `file` names it in errors. */
export function parseYaml(text: string, file: string): Tree {
  let doc: unknown;
  try {
    // maxAliasCount stops "billion laughs" alias bombs before they expand.
    doc = YAML.parse(text, { maxAliasCount: 50, uniqueKeys: true });
  } catch (e) {
    throw new UserError(`${file}: invalid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isTree(doc)) throw new UserError(`${file}: a config must be a mapping of keys to values`);
  return doc;
}

/** One YAML file as a mapping, read with the size limit and the alias-bomb guard (also for run folders' config.yaml). */
export function readYaml(file: string): Tree {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_CONFIG_BYTES) throw new UserError(`${file}: config file is ${st.size} bytes; the limit is ${MAX_CONFIG_BYTES}`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: cannot read config (${(e as Error).message})`);
  }
  return parseYaml(text, file);
}

/** Reads `file` and everything it extends; later files win. */
function readWithExtends(file: string, chain: string[]): { tree: Tree; sources: string[] } {
  if (chain.includes(file)) throw new UserError(`${file}: extends cycle: ${[...chain, file].join(' -> ')}`);
  if (chain.length >= MAX_EXTENDS_DEPTH) throw new UserError(`${file}: extends chain deeper than ${MAX_EXTENDS_DEPTH}`);
  const own = readYaml(file);
  const ext = own.extends;
  delete own.extends;
  const parents = ext === undefined ? [] : Array.isArray(ext) ? ext : [ext];
  let tree: Tree = {};
  const sources: string[] = [];
  for (const p of parents) {
    if (typeof p !== 'string') throw new UserError(`${file}: extends: expected a file name or a list of them`);
    const parentFile = path.resolve(path.dirname(file), /\.ya?ml$/i.test(p) ? p : `${p}.yaml`);
    if (!fs.existsSync(parentFile)) throw new UserError(`${file}: extends: file not found: ${parentFile}`);
    const parent = readWithExtends(parentFile, [...chain, file]);
    tree = deepMerge(tree, parent.tree);
    sources.push(...parent.sources);
  }
  return { tree: deepMerge(tree, own), sources: [...sources, file] };
}

/** Applies `a.b.c=value` overrides; the value is parsed as YAML (numbers, booleans, lists). */
export function applyOverrides(tree: Tree, sets: readonly string[]): Tree {
  let out = tree;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UserError(`--set ${s}: expected key.path=value`);
    const keyPath = s.slice(0, eq).trim().split('.');
    if (keyPath.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) {
      throw new UserError(`--set ${s}: bad key path`);
    }
    let value: unknown;
    try {
      value = YAML.parse(s.slice(eq + 1), { maxAliasCount: 0 });
    } catch (e) {
      throw new UserError(`--set ${s}: bad value: ${(e as Error).message.split('\n')[0]}`);
    }
    const patch: Tree = {};
    let node = patch;
    keyPath.forEach((k, i) => {
      if (i === keyPath.length - 1) node[k] = value;
      else node = node[k] = {} as Tree;
    });
    out = deepMerge(out, patch);
  }
  return out;
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** The keys the schema allows at a path, for "did you mean" hints. */
function knownKeys(keyPath: readonly PropertyKey[]): string[] {
  let s: z.ZodType = configSchema;
  for (const k of keyPath) {
    // Unwrap defaults/optionals, then step into objects and arrays.
    let def = (s as unknown as { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType } }).def;
    while (def.innerType) {
      s = def.innerType;
      def = (s as unknown as { def: typeof def }).def;
    }
    if (typeof k === 'number' && def.element) s = def.element;
    else if (def.shape && typeof k === 'string' && def.shape[k]) s = def.shape[k];
    else return [];
  }
  let def = (s as unknown as { def: { innerType?: z.ZodType; shape?: Record<string, z.ZodType> } }).def;
  while (def.innerType) def = (def.innerType as unknown as { def: typeof def }).def;
  return def.shape ? Object.keys(def.shape) : [];
}

/** One line per problem: `model.head: invalid option ...`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(issue.path);
      for (const key of issue.keys) {
        const full = at ? `${at}.${key}` : key;
        const near = known.map((k) => [k, editDistance(k, key)] as const).filter(([, d]) => d <= 2).sort((a, b) => a[1] - b[1]);
        const hint = near.length ? ` (did you mean '${near[0][0]}'?)` : known.length ? ` (known keys: ${known.join(', ')})` : '';
        lines.push(`${full}: unknown key${hint}`);
      }
    } else {
      lines.push(`${at || '(top level)'}: ${issue.message}`);
    }
  }
  return lines;
}

/** Validates a plain tree; `where` names the source in error messages. */
export function validateConfig(tree: Tree, where: string): Config {
  const r = configSchema.safeParse(tree);
  if (!r.success) {
    const lines = formatIssues(r.error.issues);
    throw new UserError(`${where}: invalid config:\n  ${lines.join('\n  ')}`);
  }
  return r.data;
}

/** Loads, merges, overrides and validates a config; the experiment name defaults to the file's base name. */
export function loadConfig(nameOrPath: string, sets: readonly string[] = [], configsDir = 'configs'): LoadedConfig {
  const file = resolveConfigPath(nameOrPath, configsDir);
  const { tree, sources } = readWithExtends(file, []);
  const merged = applyOverrides(tree, sets);
  if (merged.experiment === undefined) merged.experiment = path.basename(file).replace(/\.ya?ml$/i, '');
  const where = sets.length ? `${path.relative('.', file)} (with --set ${sets.join(' ')})` : path.relative('.', file);
  return { config: validateConfig(merged, where), file, sources };
}

/**
 * YAML text of a resolved config, as written into every run folder (and hashed: src/run/config.ts). Keys are in the
 * schema's order whatever order the object was built in, so equal configs give equal text; re-validating a valid
 * config changes nothing else. One that does not validate (a test's deliberate mistake) is written as given.
 */
export function configToYaml(config: Config): string {
  const r = configSchema.safeParse(config);
  return YAML.stringify(r.success ? r.data : config, { lineWidth: 0 });
}
