// config.yaml: the resolved config a run was started with, its sha256 (the run's identity), read back with the loader's guards.
import fs from 'node:fs';
import { configToYaml, parseYaml, readYaml, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/durable-write.js';
import { sha256Hex } from '../util/hash.js';
import { RUN_FILES, runPath } from './files.js';

/**
 * sha256 of the config.yaml a run of `config` writes: what summary.json, checkpoints and compare's plan record. Key
 * order does not matter (configToYaml writes the schema's order).
 */
export function configSha256(config: Config): string {
  return configTextSha256(configToYaml(config));
}

/** sha256 of config.yaml's text (as read back from a run folder). */
export function configTextSha256(yamlText: string): string {
  return sha256Hex(yamlText);
}

/** Writes the run's config.yaml; returns its text's sha256. */
export function writeRunConfig(runDir: string, config: Config): string {
  const text = configToYaml(config);
  writeFileAtomic(runPath(runDir, 'config'), text);
  return configTextSha256(text);
}

/** The run's config.yaml as text, or undefined when it is missing or unreadable. */
export function readRunConfigText(runDir: string): string | undefined {
  try {
    return fs.readFileSync(runPath(runDir, 'config'), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Does config.yaml's text, validated by today's schema (which fills keys added since with their defaults), give
 * `config`? `outputDir` is ignored: the folder was found at its place, so a relative or absolute spelling of the same
 * root (`--output-dir out` then `--output-dir /abs/out`) is the same run, not another config to train again.
 */
export function configTextGives(yamlText: string, config: Config): boolean {
  try {
    const found = validateConfig(parseYaml(yamlText, RUN_FILES.config), RUN_FILES.config);
    return configToYaml({ ...found, outputDir: config.outputDir }) === configToYaml(config);
  } catch {
    return false; // a key the schema no longer has, or a broken file: not the same config
  }
}

/**
 * The config a run folder was started with, read with the config loader's guards (size limit, alias bombs, duplicate
 * keys) and validated by today's schema (keys added since get their defaults). A UserError naming the file otherwise.
 */
export function readRunConfig(runDir: string): Config {
  const file = runPath(runDir, 'config');
  if (!fs.existsSync(file)) throw new UserError(`${runDir}: not a run folder (no ${RUN_FILES.config})`);
  return validateConfig(readYaml(file), file);
}
