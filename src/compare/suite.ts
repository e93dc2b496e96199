// Suite files: the validated YAML that names a comparison's variants (config files or a body x head matrix) and seeds.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { BODY_NAMES, HEAD_NAMES } from '../config/schema.js';

/** A folder-safe name: it becomes a path component. */
const folderName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, ".", "_" and "-" only (it names a folder)');

/** Nested config keys, e.g. `{ train: { epochs: 2 } }`; validated later against the config schema. */
const overridesSchema = z.record(z.string(), z.unknown());

const variantSchema = z.strictObject({
  name: folderName.optional()
    .describe("Folder and table name of the variant; defaults to the config file's base name."),
  config: z.string().min(1).optional()
    .describe("Config name (under configs/) or path (relative to the suite file first); defaults to the suite's `base`."),
  overrides: overridesSchema.default({}).describe("Keys set for this variant only, after the suite's `overrides`."),
});

const matrixSchema = z.strictObject({
  body: z.array(z.enum(BODY_NAMES)).min(1),
  head: z.array(z.enum(HEAD_NAMES)).min(1),
});

const seedSchema = z.number().int().nonnegative().max(2 ** 31 - 1);

export const suiteSchema = z
  .strictObject({
    name: folderName.optional()
      .describe("Names the folder <outputDir>/<name>/; defaults to the suite file's base name."),
    description: z.string().max(2000).optional().describe('One line shown at the top of the report.'),
    seeds: z.union([z.number().int().min(1).max(1000), z.array(seedSchema).min(1).max(1000)]).default(3)
      .describe('A list of seeds, or a count n meaning seeds 1..n.'),
    outputDir: z.string().min(1).default('experiments')
      .describe('Root of the suite folder (relative to the working directory).'),
    base: z.string().min(1).optional()
      .describe('Config every matrix variant (and every variant without `config`) starts from.'),
    overrides: overridesSchema.default({})
      .describe("Keys set in every variant (after the variant's config file, before the variant's own overrides)."),
    matrix: matrixSchema.optional().describe('One variant per body x head, named `<body>-<head>`, built from `base`.'),
    variants: z.array(variantSchema).max(1000).default([]).describe('Variants listed one by one.'),
    select: z.enum(['best', 'final']).default('best')
      .describe('Which test result the statistics use: the best-validation checkpoint (model-best/) or the last epoch.'),
  })
  .refine((s) => s.matrix !== undefined || s.variants.length > 0, { message: 'a suite needs `matrix` or `variants`' });

export type Suite = z.infer<typeof suiteSchema>;
export type SuiteVariant = z.infer<typeof variantSchema>;

export interface LoadedSuite {
  suite: Suite;
  /** The suite's name (its `name` key or the file's base name). */
  name: string;
  /** Absolute path of the suite file. */
  file: string;
}

const MAX_SUITE_BYTES = 256 * 1024;

/** One line per zod issue: `variants.1.config: expected string`, `matrix.heads: unknown key`. */
export function formatSuiteIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${at ? `${at}.` : ''}${k}: unknown key`);
    return [`${at || '(top level)'}: ${issue.message}`];
  });
}

/** Validates a parsed suite tree; `where` names the source in error messages. */
export function validateSuite(tree: unknown, where: string): Suite {
  const r = suiteSchema.safeParse(tree ?? {});
  if (!r.success) throw new UserError(`${where}: invalid suite:\n  ${formatSuiteIssues(r.error.issues).join('\n  ')}`);
  for (const v of r.data.variants) {
    if (v.config === undefined && r.data.base === undefined) {
      throw new UserError(`${where}: variants: a variant without \`config\` needs the suite's \`base\``);
    }
  }
  return r.data;
}

/** Reads and validates a suite file. */
export function loadSuite(file: string): LoadedSuite {
  const abs = path.resolve(file);
  let text: string;
  try {
    const st = fs.statSync(abs);
    if (!st.isFile()) throw new UserError(`${file}: not a file`);
    if (st.size > MAX_SUITE_BYTES) throw new UserError(`${file}: suite file is ${st.size} bytes; the limit is ${MAX_SUITE_BYTES}`);
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`suite not found: ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text, { maxAliasCount: 50, uniqueKeys: true });
  } catch (e) {
    throw new UserError(`${file}: invalid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const suite = validateSuite(doc, path.relative('.', abs) || abs);
  return { suite, name: suite.name ?? path.basename(abs).replace(/\.ya?ml$/i, ''), file: abs };
}

/** The seed list: `seeds: 3` means [1, 2, 3]; `--seeds n` on the command line replaces it the same way. */
export function suiteSeeds(suite: Suite, override?: number): number[] {
  const s = override ?? suite.seeds;
  if (typeof s === 'number') return Array.from({ length: s }, (_, i) => i + 1);
  return [...new Set(s)];
}
