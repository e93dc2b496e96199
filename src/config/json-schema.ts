// The JSON Schema of config files, generated from the zod schema, for editors (yaml-language-server) and tools.
import { z } from 'zod';
import { configSchema } from './schema.js';

export type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> };

/** Where `npm run schema` writes it (relative to the repository), and the line each shipped config starts with. */
export const CONFIG_SCHEMA_FILE = 'configs/schema.json';
export const CONFIG_MODELINE = '# yaml-language-server: $schema=schema.json';

/** Input view: keys with defaults are optional, as in the YAML a user writes. Refinements are not representable. */
export function toJson(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** A config file: the schema's keys plus `extends` (resolved by the loader before validation). */
export function configJsonSchema(): JsonSchema {
  const s = toJson(configSchema);
  return {
    ...s,
    title: 'gaplab config',
    description: 'A training config (src/config/schema.ts). Every key has a default; unknown keys are errors.',
    properties: {
      extends: {
        description: "Config file(s) this one starts from, relative to this file ('.yaml' may be left out); later files and this file's own keys win.",
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      },
      ...s.properties,
    },
  };
}


/** A schema file's text: two-space JSON with a trailing newline. */
export function schemaText(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
