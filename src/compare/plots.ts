// The suite's plots as Vega-Lite specs, rendered headless to SVG by Vega and to PNG by resvg (no browser, no network).
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Aggregate } from './aggregate.js';
import { gapCurves, learningCurves, type CurvePoint } from './curves.js';

export interface Plot {
  /** File stem under plots/: learning-curves-accuracy, ... */
  name: string;
  title: string;
  svg: string;
}

/** Fonts the PNG renderer finds on Debian (fonts-liberation, fonts-dejavu); browsers fall back to their sans-serif. */
const FONT = 'Liberation Sans, DejaVu Sans, Arial, Helvetica, sans-serif';
const CONFIG = { font: FONT, view: { stroke: '#ccc' }, axis: { labelFontSize: 11, titleFontSize: 12 } };

/** Mean line plus a +-1 std band; x is the epoch. */
function bandAndLine(color: string, yTitle: string): object[] {
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } };
  // The line layer comes first so the legend takes its solid symbols, not the band's pale ones.
  return [
    {
      mark: { type: 'line', point: { size: 18 } },
      encoding: {
        x, y: { field: 'mean', type: 'quantitative', title: yTitle, scale: { zero: false } },
        color: { field: color, type: 'nominal', title: null },
        tooltip: [{ field: 'variant' }, { field: 'series' }, { field: 'epoch' }, { field: 'mean', format: '.4f' }, { field: 'n', title: 'seeds' }],
      },
    },
    { mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { field: 'low', type: 'quantitative', title: yTitle }, y2: { field: 'high' }, color: { field: color, type: 'nominal', title: null } } },
  ];
}

function learningSpec(points: CurvePoint[], what: 'acc' | 'loss', order: string[]): TopLevelSpec {
  const label = what === 'acc' ? 'accuracy' : 'loss';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Learning curves: train vs validation ${label} (mean ± 1 sd over seeds)`,
    data: { values: points },
    facet: { field: 'variant', type: 'nominal', title: null, sort: order },
    columns: 3,
    spec: { width: 220, height: 160, layer: bandAndLine('series', label) },
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

function gapSpec(points: CurvePoint[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Generalization gap per epoch (mean ± 1 sd over seeds)',
    data: { values: points },
    facet: { field: 'metric', type: 'nominal', title: null },
    columns: 2,
    spec: { width: 300, height: 200, layer: bandAndLine('series', 'gap') },
    resolve: { scale: { y: 'independent' } },
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

function paramsSpec(agg: Aggregate): TopLevelSpec {
  const values = agg.variants
    .filter((v) => Number.isFinite(v.test_error_mean) && Number.isFinite(v.params_total))
    .map((v) => {
      const sd = Number.isFinite(v.test_error_std) ? v.test_error_std : 0;
      return { variant: v.variant, body: v.body, head: v.head, params: v.params_total, error: 100 * v.test_error_mean, low: 100 * (v.test_error_mean - sd), high: 100 * (v.test_error_mean + sd) };
    });
  const x = { field: 'params', type: 'quantitative', title: 'parameters', scale: { type: 'log' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Parameters vs test error (mean ± 1 sd over seeds)',
    data: { values },
    width: 420,
    height: 280,
    layer: [
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'head', type: 'nominal' } } },
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x, y: { field: 'error', type: 'quantitative', title: 'test error (%)', scale: { zero: false } },
          color: { field: 'head', type: 'nominal' }, shape: { field: 'body', type: 'nominal' },
          tooltip: [{ field: 'variant' }, { field: 'params', format: ',' }, { field: 'error', format: '.2f' }],
        },
      },
      { mark: { type: 'text', dx: 8, align: 'left', fontSize: 10 }, encoding: { x, y: { field: 'error', type: 'quantitative' }, text: { field: 'variant' } } },
    ],
    config: CONFIG,
  } as unknown as TopLevelSpec;
}

/** Compiles and renders one Vega-Lite spec to an SVG string (Vega's headless SVG renderer; no DOM, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG to PNG at `scale` x (resvg; its prebuilt binary ships in the npm package), with the system fonts. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'Liberation Sans', sansSerifFamily: 'Liberation Sans' },
    background: 'white',
  });
  return r.render().asPng();
}

/** All plots of a suite; empty curves (nothing completed yet) give no learning-curve plots. */
export async function makePlots(agg: Aggregate): Promise<Plot[]> {
  const specs: Array<{ name: string; title: string; spec: TopLevelSpec }> = [];
  const acc = learningCurves(agg.runs, 'acc');
  const loss = learningCurves(agg.runs, 'loss');
  const gaps = gapCurves(agg.runs);
  const order = agg.variants.map((v) => v.variant);
  if (acc.length) specs.push({ name: 'learning-curves-accuracy', title: 'Learning curves: accuracy', spec: learningSpec(acc, 'acc', order) });
  if (loss.length) specs.push({ name: 'learning-curves-loss', title: 'Learning curves: loss', spec: learningSpec(loss, 'loss', order) });
  if (gaps.length) specs.push({ name: 'generalization-gap', title: 'Generalization gap per epoch', spec: gapSpec(gaps) });
  if (agg.variants.some((v) => Number.isFinite(v.test_error_mean))) {
    specs.push({ name: 'params-vs-error', title: 'Parameters vs test error', spec: paramsSpec(agg) });
  }
  const out: Plot[] = [];
  for (const s of specs) out.push({ name: s.name, title: s.title, svg: await renderSvg(s.spec) });
  return out;
}
