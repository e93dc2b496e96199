// configs/schema.json and configs/suite.schema.json: current with the zod schemas, and every shipped YAML passes them.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import YAML from 'yaml';

import { SUITE_MODELINE, SUITE_SCHEMA_FILE, suiteJsonSchema } from '../../src/compare/suite-json-schema.js';
import { CONFIG_MODELINE, CONFIG_SCHEMA_FILE, configJsonSchema, schemaText } from '../../src/config/json-schema.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const yamls = (dir: string) => readdirSync(join(repo, dir)).filter((f) => f.endsWith('.yaml')).map((f) => join(repo, dir, f));
const CONFIGS = yamls('configs');
const SUITES = yamls('configs/suites');

function validator(schema: object) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(schema);
}

describe('JSON Schemas for editors', () => {
  it('are current: `npm run schema` regenerates exactly the committed files', () => {
    expect(readFileSync(join(repo, CONFIG_SCHEMA_FILE), 'utf8')).to.equal(schemaText(configJsonSchema()), `${CONFIG_SCHEMA_FILE} is stale: npm run schema`);
    expect(readFileSync(join(repo, SUITE_SCHEMA_FILE), 'utf8')).to.equal(schemaText(suiteJsonSchema()), `${SUITE_SCHEMA_FILE} is stale: npm run schema`);
  });

  it('carry the schema\'s descriptions and defaults', () => {
    type Node = { properties: Record<string, Node>; default?: unknown; description?: string };
    const s = configJsonSchema() as unknown as Node;
    expect(s.properties.train!.properties.epochs!.default).to.equal(10);
    expect(s.properties.train!.properties.trainEvalSize!.description).to.match(/^Training images re-evaluated in inference mode/);
    expect(s.properties.model!.properties.gap!.properties.bias!.default).to.equal(1);
    expect(s.properties.extends!.description).to.match(/starts from/);
  });

  it('every shipped config and suite starts with the yaml-language-server line and validates', () => {
    const config = validator(configJsonSchema());
    const suite = validator(suiteJsonSchema());
    expect(CONFIGS.length).to.be.above(10);
    expect(SUITES.length).to.be.above(3);
    for (const [files, modeline, validate] of [[CONFIGS, CONFIG_MODELINE, config], [SUITES, SUITE_MODELINE, suite]] as const) {
      for (const f of files) {
        const text = readFileSync(f, 'utf8');
        expect(text.split('\n')[0], f).to.equal(modeline);
        const ok = validate(YAML.parse(text));
        expect(ok, `${f}: ${JSON.stringify(validate.errors)}`).to.equal(true);
      }
    }
  });

  it('rejects what the loader rejects: an unknown key, a wrong type, a bad override in a suite', () => {
    const config = validator(configJsonSchema());
    expect(config({ train: { epoch: 3 } })).to.equal(false);
    expect(config.errors![0]).to.include({ instancePath: '/train', keyword: 'additionalProperties' });
    expect(config({ train: { epochs: 'ten' } })).to.equal(false);
    expect(config.errors![0]).to.include({ instancePath: '/train/epochs', keyword: 'type' });
    expect(config({ extends: ['a.yaml', 'b'], model: { head: 'gap' } })).to.equal(true);
    const suite = validator(suiteJsonSchema());
    expect(suite({ variants: [{ config: 'x.yaml', overrides: { model: { head: 'mlp' } } }] })).to.equal(false);
    expect(suite.errors!.map((e) => e.instancePath)).to.include('/variants/0/overrides/model/head');
    expect(suite({ matrix: { body: ['nin'], head: ['gap', 'fc'] }, overrides: { train: { epochs: 2 } } })).to.equal(true);
  });
});
