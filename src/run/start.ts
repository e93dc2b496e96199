// Opens a run folder for training: a new run writes config.yaml; a resume checks it holds this config, not completed.
import { configToYaml } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { configTextSha256, readRunConfigText, writeRunConfig } from './config.js';
import { RUN_FILES } from './files.js';
import { assertWritable, createRunDir } from './folder.js';
import { readSummary, type RunSummary } from './summary.js';

export interface OpenedRunFolder {
  runDir: string;
  /** sha256 of its config.yaml. */
  configSha256: string;
  /** A resume: the folder's summary.json so far. */
  prev?: RunSummary;
}

/**
 * `runDir` (default: a new <outputDir>/<experiment>/<run-id>), checked writable. A new run's config.yaml is written
 * here; a resume writes nothing (a resume that fails leaves the folder as it was) and needs config.yaml to be the
 * config given, byte for byte, and the run not completed.
 */
export function openRunFolder(config: Config, opts: { runDir?: string; resume?: boolean }): OpenedRunFolder {
  const runDir = opts.runDir ?? createRunDir(config.outputDir, config.experiment ?? 'default', config.seed);
  assertWritable(runDir);
  if (!opts.resume) return { runDir, configSha256: writeRunConfig(runDir, config) };
  const yamlText = configToYaml(config);
  if (readRunConfigText(runDir) !== yamlText) {
    throw new UserError(`${runDir}: cannot resume: its ${RUN_FILES.config} differs from the config given (or is missing)`);
  }
  const prev = readSummary(runDir);
  if (prev?.status === 'completed') throw new UserError(`${runDir}: this run has already completed; nothing to resume`);
  return { runDir, configSha256: configTextSha256(yamlText), ...(prev ? { prev } : {}) };
}
