// Expands a suite into resolved variant configs and one run per (variant, seed), each with its own deterministic folder.
import fs from 'node:fs';
import path from 'node:path';
import { applyOverrides, deepMerge, loadConfig, resolveConfigPath, validateConfig } from '../config/load.js';
import YAML from 'yaml';
import { defaultConfig, type Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { configSha256 } from '../run/config.js';
import { sha256Hex } from '../util/hash.js';
import { suiteSeeds, type LoadedSuite } from './suite.js';

type Tree = { [key: string]: unknown };

export interface Variant {
  name: string;
  body: string;
  head: string;
  /** The resolved config with seed 0; each run sets its own seed. */
  config: Config;
  /** First 8 hex digits of the sha256 of variantIdentity(config): part of the folder name. */
  hash: string;
  /** The config file the variant came from (absolute), when it came from one. */
  source?: string;
}

export interface RunSpec {
  /** Position in suite order (variant-major, then seed); shards are taken over this order. */
  index: number;
  variant: string;
  seed: number;
  /** The resolved config of this run (seed, experiment and outputDir set). */
  config: Config;
  /** sha256 of config.yaml as runTraining writes it: a completed run with another hash is stale. */
  configSha256: string;
  /** <outputDir>/<suite>/runs/<variant>-<hash>/seed-<seed>, absolute. */
  runDir: string;
}

export interface Plan {
  suite: string;
  /** <outputDir>/<suite>, absolute: where runs.csv, comparison.csv, plots/ and report.html go. */
  suiteDir: string;
  seeds: number[];
  variants: Variant[];
  runs: RunSpec[];
  select: 'best' | 'final';
  description?: string;
}

export interface PlanOptions {
  /** Replaces the suite's seeds with 1..n. */
  seeds?: number;
  /** `key.path=value` overrides applied to every variant last (the CLI's --set). */
  sets?: readonly string[];
  /** Replaces the suite's outputDir. */
  outputDir?: string;
  /** Where bare config names resolve (default: configs). */
  configsDir?: string;
}

/** Resolves a variant's config reference: relative to the suite file first, then as `loadConfig` would. */
function resolveVariantConfig(ref: string, suiteFile: string, configsDir: string): string {
  const besideSuite = path.resolve(path.dirname(suiteFile), ref);
  for (const p of [besideSuite, `${besideSuite}.yaml`]) if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
  return resolveConfigPath(ref, configsDir);
}

/** `value` without the keys whose value equals the default's: what a config says beyond the defaults. */
export function withoutDefaults(value: unknown, defaults: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const d = (typeof defaults === 'object' && defaults !== null && !Array.isArray(defaults) ? defaults : {}) as Tree;
  const out: Tree = {};
  for (const [k, v] of Object.entries(value as Tree)) {
    if (JSON.stringify(v) === JSON.stringify(d[k])) continue;
    const inner = withoutDefaults(v, d[k]);
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner) && Object.keys(inner).length === 0) continue;
    out[k] = inner;
  }
  return out;
}

/**
 * The variant's identity: its config minus what does not change results (seed, names, folders) and minus every value
 * equal to the schema default, so a new config key (with a default) does not move every suite's runs to new folders.
 * A changed default does not move them either; the run-state check (config.yaml re-validated and compared) catches it.
 */
export function variantIdentity(config: Config): string {
  const c: Tree = { ...config, seed: 0 };
  delete c.experiment;
  delete c.outputDir;
  return YAML.stringify(withoutDefaults(c, defaultConfig()), { lineWidth: 0 });
}

/** Expands the suite: variants in file order (matrix first, body-major), runs variant-major then seed. */
export function planSuite(loaded: LoadedSuite, opts: PlanOptions = {}): Plan {
  const { suite, name, file } = loaded;
  const where = path.relative('.', file) || file;
  const configsDir = opts.configsDir ?? 'configs';
  const outputDir = opts.outputDir ?? suite.outputDir;
  const sets = opts.sets ?? [];
  const seeds = suiteSeeds(suite, opts.seeds);

  const drafts: Array<{ name: string; source?: string; tree: Tree; own: Tree; at: string }> = [];
  const baseFile = suite.base !== undefined ? resolveVariantConfig(suite.base, file, configsDir) : undefined;
  const baseTree = (): Tree => (baseFile ? (loadConfig(baseFile, [], configsDir).config as unknown as Tree) : {});
  if (suite.matrix) {
    for (const body of suite.matrix.body) {
      for (const head of suite.matrix.head) {
        drafts.push({ name: `${body}-${head}`, source: baseFile, at: `matrix ${body} x ${head}`, tree: deepMerge(baseTree(), { model: { body, head } }), own: {} });
      }
    }
  }
  suite.variants.forEach((v, i) => {
    const src = v.config !== undefined ? resolveVariantConfig(v.config, file, configsDir) : baseFile;
    const tree = src ? (loadConfig(src, [], configsDir).config as unknown as Tree) : {};
    const vname = v.name ?? (v.config !== undefined ? path.basename(v.config).replace(/\.ya?ml$/i, '') : `variant-${i + 1}`);
    drafts.push({ name: vname, source: src, at: `variants.${i} (${vname})`, tree, own: v.overrides as Tree });
  });

  const variants: Variant[] = [];
  const seen = new Set<string>();
  for (const d of drafts) {
    if (seen.has(d.name)) throw new UserError(`${where}: two variants are named '${d.name}'; give them distinct \`name\`s`);
    seen.add(d.name);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(d.name)) throw new UserError(`${where}: ${d.at}: variant name '${d.name}' cannot name a folder`);
    // Later wins: config file, suite overrides, the variant's own overrides, then --set.
    let tree = deepMerge(deepMerge(d.tree, suite.overrides as Tree), d.own);
    tree = applyOverrides(tree, sets);
    tree = { ...tree, seed: 0, experiment: name, outputDir };
    const config = validateConfig(tree, `${where}: ${d.at}${sets.length ? ` (with --set ${sets.join(' ')})` : ''}`);
    variants.push({
      name: d.name, body: config.model.body, head: config.model.head, config,
      hash: sha256Hex(variantIdentity(config)).slice(0, 8),
      ...(d.source ? { source: d.source } : {}),
    });
  }

  const suiteDir = path.resolve(outputDir, name);
  const runs: RunSpec[] = [];
  for (const v of variants) {
    for (const seed of seeds) {
      const config: Config = { ...v.config, seed };
      runs.push({
        index: runs.length, variant: v.name, seed, config,
        configSha256: configSha256(config),
        runDir: path.join(suiteDir, 'runs', `${v.name}-${v.hash}`, `seed-${seed}`),
      });
    }
  }
  return {
    suite: name, suiteDir, seeds, variants, runs, select: suite.select,
    ...(suite.description !== undefined ? { description: suite.description } : {}),
  };
}
