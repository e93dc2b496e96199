// classes.json and preprocessing.json: what inference (CAM) needs beside the model, written by train, read back checked.
import fs from 'node:fs';
import { writeJson } from '../io/durable-write.js';
import { UserError } from '../errors.js';
import { runPath } from './files.js';

/** A run folder's JSON file, parsed; a UserError naming the file and `what` it holds otherwise. */
export function readRunJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read the run's ${what} (${code === 'ENOENT' ? 'missing' : code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UserError(`${file}: the run's ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Writes classes.json (names in label order) and preprocessing.json (the fitted preprocessor's JSON). */
export async function writeInferenceInputs(runDir: string, classNames: readonly string[], preprocessing: unknown): Promise<void> {
  await writeJson(runPath(runDir, 'preprocessing'), preprocessing);
  await writeJson(runPath(runDir, 'classes'), classNames);
}

/** classes.json: at least 2 names; a UserError naming the file otherwise. */
export function readClassNames(runDir: string): string[] {
  const file = runPath(runDir, 'classes');
  const names = readRunJson(file, 'class names');
  if (!Array.isArray(names) || names.length < 2 || !names.every((c) => typeof c === 'string')) {
    throw new UserError(`${file}: expected a list of at least 2 class names`);
  }
  return names as string[];
}

/** preprocessing.json as a JSON object (its reader, src/data/preprocess.ts, checks the rest) and its path for messages. */
export function readPreprocessingJson(runDir: string): { json: object; file: string } {
  const file = runPath(runDir, 'preprocessing');
  const json = readRunJson(file, 'preprocessing');
  if (typeof json !== 'object' || json === null) throw new UserError(`${file}: expected a JSON object`);
  return { json, file };
}
