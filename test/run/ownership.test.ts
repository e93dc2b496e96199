// One owner per contract: no module outside src/run/ spells a run-folder name, none outside src/models/ a layer name.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLASS_MAP_LAYER, FEATURE_LAYER, LOGITS_LAYER } from '../../src/models/layer-names.js';
import { RUN_FILES } from '../../src/run/files.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every .ts file under src/ (relative path) with its code lines: comment lines dropped, they may name anything. */
function sources(): Array<{ file: string; code: string }> {
  return (fs.readdirSync(SRC, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({
      file: f,
      code: fs.readFileSync(path.join(SRC, f), 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l)).join('\n'),
    }));
}

/** Files outside `owner` whose code holds one of `names` as a whole string literal ('x', "x" or `x`). */
function spelledOutside(owner: (file: string) => boolean, names: readonly string[]): string[] {
  const quoted = new RegExp(`(['"\`])(${names.map((n) => n.replace(/[.-]/g, '\\$&')).join('|')})\\1`, 'g');
  return sources().filter((s) => !owner(s.file)).flatMap((s) => [...s.code.matchAll(quoted)].map((m) => `${s.file}: ${m[0]}`));
}

describe('contract owners', () => {
  it('run-folder names are spelled in src/run/ only (the rest ask it for paths and readers)', () => {
    // 'model' alone is too common a word to look for; its folder is reached through modelDir() like the others.
    const names = Object.values(RUN_FILES).filter((n) => n !== RUN_FILES.finalModel);
    expect(names).to.include.members(['config.yaml', 'summary.json', 'metrics.csv', 'model-best', 'checkpoint']);
    expect(spelledOutside((f) => f.startsWith(`run${path.sep}`), names)).to.deep.equal([]);
  });

  it('the layer names CAM relies on are spelled in src/models/layer-names.ts only', () => {
    const names = [FEATURE_LAYER, LOGITS_LAYER, CLASS_MAP_LAYER];
    expect(names).to.deep.equal(['features', 'logits', 'class_maps']);
    expect(spelledOutside((f) => f === path.join('models', 'layer-names.ts'), names)).to.deep.equal([]);
  });
});
