// report.html in headless Chromium: renders without console errors or network, and its tables hold the CSVs' numbers.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser } from 'playwright-core';
import { writeOutputs } from '../../src/compare/compare.js';
import { verdicts } from '../../src/compare/verdict.js';
import { planSuite } from '../../src/compare/plan.js';
import { loadSuite } from '../../src/compare/suite.js';
import { tmpDir, writeFixtureRun, writeSuite } from './helpers.js';
import { needs } from '../requires.js';

const CHROMIUM = '/usr/bin/chromium';
type Row = Record<string, string>;
interface Cell { col: string; csv: string; text: string }
interface TableRow { key: string; cells: Cell[] }

describe('compare report.html in Chromium', function () {
  this.timeout(120_000);
  const dir = tmpDir('html');
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('renders with no console errors and shows the CSV numbers', async function () {
    needs(this, fs.existsSync(CHROMIUM), `Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`);
    // Fixture runs: two heads x three seeds, one failed run with an error that needs HTML escaping.
    const plan = planSuite(loadSuite(writeSuite(dir, 'html', {
      base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap', 'fc'] }, seeds: 3, outputDir: path.join(dir, 'out'),
    })));
    plan.runs.forEach((spec, i) => {
      if (i === 5) writeFixtureRun(spec, { status: 'failed', message: 'shape <mismatch> & "quotes"', epochs: [[0.3, 0.3, 2, 2]] });
      else writeFixtureRun(spec, {
        status: 'completed', error: 0.2 + 0.013 * i, params: { total: 1000 + 100 * i, body: 900, head: 100 + 100 * i },
        epochs: [[0.4, 0.35, 1.5, 1.6, 0.42, 1.45], [0.6 + 0.01 * i, 0.5, 1.1, 1.3, 0.7 + 0.01 * i, 0.9]],
      });
    });
    const agg = await writeOutputs(plan, { noCam: true, log: () => {}, warn: () => {} });
    const file = path.join(plan.suiteDir, 'report.html');

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => { if (!/^(file|data):/.test(r.url())) requests.push(r.url()); });
    await page.goto(`file://${file}`, { waitUntil: 'load' });

    // Page code goes in as source text: tsx's transpiler would wrap a function argument in helpers the page lacks.
    const tables = (await page.evaluate(`(() => {
      const read = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')].map((tr) => ({
        key: tr.getAttribute('data-key') ?? '',
        cells: [...tr.querySelectorAll('td')].map((td) => ({ col: td.dataset.col ?? '', csv: td.dataset.csv ?? '', text: td.textContent ?? '' })),
      }));
      return { variants: read('variants'), pairs: read('pairs'), gapPairs: read('gap-pairs'), runs: read('runs') };
    })()`)) as Record<string, TableRow[]>;
    // The page opens with the verdict: the first section, one sentence per head pair.
    const opening = (await page.evaluate(`(() => ({
      firstSection: document.querySelector('h2')?.textContent ?? '',
      sentences: [...document.querySelectorAll('#verdict li')].map((li) => li.textContent ?? ''),
    }))()`)) as { firstSection: string; sentences: string[] };
    const plots = await page.evaluate(`[...document.querySelectorAll('figure.plot svg')].map((s) => {
      const r = s.getBoundingClientRect();
      return [s.closest('figure').id, Math.round(r.width) > 100 && Math.round(r.height) > 100];
    })`);
    expect(problems, problems.join('\n')).to.deep.equal([]);
    expect(requests).to.deep.equal([]);
    expect(plots).to.deep.equal([
      ['plot-learning-curves-accuracy', true], ['plot-learning-curves-loss', true], ['plot-generalization-gap', true], ['plot-params-vs-error', true],
    ]);

    const runsCsv = parse(fs.readFileSync(path.join(plan.suiteDir, 'runs.csv'), 'utf8'), { columns: true }) as Row[];
    const cmpCsv = parse(fs.readFileSync(path.join(plan.suiteDir, 'comparison.csv'), 'utf8'), { columns: true }) as Row[];
    const check = (rows: TableRow[], csv: Row[], keyOf: (r: Row) => string) => {
      expect(rows.map((r) => r.key)).to.deep.equal(csv.map(keyOf));
      rows.forEach((r, i) => {
        for (const c of r.cells) expect(c.csv, `${r.key} ${c.col}`).to.equal(csv[i][c.col]);
      });
    };
    check(tables.variants, cmpCsv.filter((r) => r.kind === 'variant'), (r) => r.variant);
    check(tables.pairs, cmpCsv.filter((r) => r.kind === 'pair'), (r) => r.variant);
    check(tables.gapPairs, cmpCsv.filter((r) => r.kind === 'pair'), (r) => r.variant);
    expect(opening.firstSection).to.equal('Verdict');
    expect(opening.sentences).to.deep.equal(verdicts(agg.pairs, plan.select));
    expect(opening.sentences[0]).to.match(/^GAP vs FC \(nin\): .*; not completed: FC seed 3 \(failed\)\.$/);
    check(tables.runs, runsCsv, (r) => `${r.variant}|${r.seed}`);
    expect(tables.variants[0].cells.length).to.be.above(10);

    // What a person reads is the rounded CSV number: test error in percent, the error text unescaped.
    const shown = (rows: TableRow[], key: string, col: string) => rows.find((r) => r.key === key)?.cells.find((c) => c.col === col)?.text;
    const gap = cmpCsv[0];
    expect(shown(tables.variants, 'nin-gap', 'test_error_mean')).to.equal((100 * Number(gap.test_error_mean)).toFixed(2));
    expect(shown(tables.variants, 'nin-gap', 'params_total')).to.equal(Number(gap.params_total).toLocaleString('en-US'));
    expect(shown(tables.pairs, 'nin-gap - nin-fc', 'welch_low')).to.equal((100 * Number(cmpCsv[2].welch_low)).toFixed(2));
    expect(shown(tables.runs, 'nin-fc|3', 'error')).to.equal('shape <mismatch> & "quotes"');
    expect(shown(tables.runs, 'nin-fc|3', 'status')).to.equal('failed');
  });
});
