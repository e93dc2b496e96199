// npm run schema: regenerates configs/schema.json and configs/suite.schema.json from the zod schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SUITE_SCHEMA_FILE, suiteJsonSchema } from '../src/compare/suite-json-schema.js';
import { CONFIG_SCHEMA_FILE, configJsonSchema, schemaText } from '../src/config/json-schema.js';

for (const [file, schema] of [[CONFIG_SCHEMA_FILE, configJsonSchema()], [SUITE_SCHEMA_FILE, suiteJsonSchema()]] as const) {
  writeFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), schemaText(schema));
  process.stdout.write(`wrote ${file}\n`);
}
