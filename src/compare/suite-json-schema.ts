// The JSON Schema of suite files, generated from the zod schemas; a suite's overrides are checked as partial configs.
import { configSchema } from '../config/schema.js';
import { type JsonSchema, toJson } from '../config/json-schema.js';
import { suiteSchema } from './suite.js';

/** Where `npm run schema` writes it, and the line each shipped suite (configs/suites/) starts with. */
export const SUITE_SCHEMA_FILE = 'configs/suite.schema.json';
export const SUITE_MODELINE = '# yaml-language-server: $schema=../suite.schema.json';

/** A suite file; its `overrides` (suite and variant) are checked as partial configs. */
export function suiteJsonSchema(): JsonSchema {
  const s = toJson(suiteSchema);
  const config = toJson(configSchema);
  delete config.$schema;
  const ref = (p: JsonSchema | undefined): JsonSchema => ({ ...(p?.description ? { description: p.description } : {}), default: {}, $ref: '#/$defs/config' });
  const props = s.properties!;
  const variants = props.variants as JsonSchema & { items: JsonSchema };
  return {
    ...s,
    title: 'gaplab suite',
    description: 'A comparison suite for npm run compare (src/compare/suite.ts).',
    properties: {
      ...props,
      overrides: ref(props.overrides),
      variants: { ...variants, items: { ...variants.items, properties: { ...variants.items.properties, overrides: ref(variants.items.properties?.overrides) } } },
    },
    $defs: { ...(s.$defs as object | undefined), config },
  };
}
