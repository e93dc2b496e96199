// report.html: one self-contained page (inline CSS and SVG, images as data URLs, no scripts, no network) per suite.
import { configToYaml } from '../config/load.js';
import type { Aggregate } from './aggregate.js';
import type { VariantCam } from './cam.js';
import { cell, pairRow, RUN_COLUMNS } from './csv.js';
import { count, fixed, pct, pValue } from './format.js';
import type { Plan } from './plan.js';
import type { Plot } from './plots.js';
import { verdictNote, verdicts } from './verdict.js';

export interface ReportInput {
  plan: Plan;
  agg: Aggregate;
  plots: Plot[];
  cams?: VariantCam[];
  /** ISO time shown in the header. */
  generatedAt: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A column of a report table: the CSV column it shows and how its value is printed. */
interface Column {
  col: string;
  label: string;
  fmt: (v: unknown) => string;
}

const text = (v: unknown) => (v === undefined ? '' : String(v));
const asPct = (v: unknown) => pct(v as number);
const asPp = (v: unknown) => (Number.isFinite(v as number) ? (100 * (v as number)).toFixed(2) : '-');
const num = (d: number) => (v: unknown) => fixed(v as number, d);
const asCount = (v: unknown) => count(v as number);
const pv = (v: unknown) => pValue(v as number);

/**
 * An HTML table whose every cell carries its CSV column and exact CSV value (data-col, data-csv) beside the rounded
 * text, so the report can be checked against the CSV files mechanically.
 */
function table(id: string, columns: readonly Column[], rows: ReadonlyArray<Record<string, unknown>>, key: (r: Record<string, unknown>) => string): string {
  const head = columns.map((c) => `<th title="${escapeHtml(c.col)}">${escapeHtml(c.label)}</th>`).join('');
  const body = rows
    .map((r) => {
      const tds = columns.map((c) => {
        const cls = typeof r[c.col] === 'number' ? ' class="n"' : '';
        return `<td${cls} data-col="${escapeHtml(c.col)}" data-csv="${escapeHtml(cell(r[c.col]))}">${escapeHtml(c.fmt(r[c.col]))}</td>`;
      });
      const bad = r.status !== undefined && r.status !== 'completed' ? ' class="bad"' : '';
      return `<tr${bad} data-key="${escapeHtml(key(r))}">${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const VARIANT_TABLE: Column[] = [
  { col: 'variant', label: 'variant', fmt: text },
  { col: 'body', label: 'body', fmt: text },
  { col: 'head', label: 'head', fmt: text },
  { col: 'params_total', label: 'parameters', fmt: asCount },
  { col: 'params_head', label: 'head params', fmt: asCount },
  { col: 'seeds', label: 'seeds', fmt: text },
  { col: 'incomplete', label: 'not completed', fmt: text },
  { col: 'test_error_mean', label: 'test error %', fmt: asPct },
  { col: 'test_error_std', label: 'sd', fmt: asPct },
  { col: 'test_loss_mean', label: 'test loss', fmt: num(4) },
  { col: 'train_acc_mean', label: 'train acc % (running)', fmt: asPct },
  { col: 'train_eval_acc_mean', label: 'train acc % (inference)', fmt: asPct },
  { col: 'val_acc_mean', label: 'val acc %', fmt: asPct },
  { col: 'best_gap_acc_mean', label: 'gap acc pp (best epoch)', fmt: asPp },
  { col: 'best_gap_acc_std', label: 'sd', fmt: asPp },
  { col: 'best_gap_loss_mean', label: 'gap loss (best epoch)', fmt: num(4) },
  { col: 'gap_acc_mean', label: 'gap acc pp (last epoch)', fmt: asPp },
  { col: 'gap_acc_std', label: 'sd', fmt: asPp },
  { col: 'gap_loss_mean', label: 'gap loss (last epoch)', fmt: num(4) },
  { col: 'gap_loss_std', label: 'sd', fmt: num(4) },
  { col: 'best_epoch_mean', label: 'best epoch', fmt: num(1) },
  { col: 'wall_seconds_mean', label: 's / run', fmt: num(1) },
  { col: 'images_per_second_mean', label: 'images/s', fmt: num(0) },
];

const PAIR_TABLE: Column[] = [
  { col: 'variant', label: 'a - b', fmt: text },
  { col: 'head', label: 'heads', fmt: text },
  { col: 'diff_test_error', label: 'diff pp', fmt: asPp },
  { col: 'welch_low', label: 'Welch 95% low', fmt: asPp },
  { col: 'welch_high', label: 'Welch 95% high', fmt: asPp },
  { col: 'welch_df', label: 'df', fmt: num(1) },
  { col: 'welch_p', label: 'p', fmt: pv },
  { col: 'boot_low', label: 'bootstrap low', fmt: asPp },
  { col: 'boot_high', label: 'bootstrap high', fmt: asPp },
  { col: 'paired_n', label: 'paired seeds', fmt: text },
  { col: 'paired_diff', label: 'paired diff pp', fmt: asPp },
  { col: 'paired_sd', label: 'paired sd pp', fmt: asPp },
  { col: 'paired_low', label: 'paired 95% low', fmt: asPp },
  { col: 'paired_high', label: 'paired 95% high', fmt: asPp },
  { col: 'paired_p_t', label: 'paired t p', fmt: pv },
  { col: 'paired_p_perm', label: 'sign-flip p', fmt: pv },
  { col: 'paired_a_lower', label: 'a lower', fmt: text },
  { col: 'paired_a_higher', label: 'a higher', fmt: text },
  { col: 'paired_ties', label: 'ties', fmt: text },
];

/** The paired gap columns: difference in accuracy gap (a - b) at the best-validation and the last epoch. */
const GAP_PAIR_TABLE: Column[] = [
  { col: 'variant', label: 'a - b', fmt: text },
  { col: 'head', label: 'heads', fmt: text },
  ...(['best', 'final'] as const).flatMap((when): Column[] => {
    const c = `paired_gap_acc_${when}_`;
    const epoch = when === 'best' ? 'best epoch' : 'last epoch';
    return [
      { col: `${c}n`, label: `seeds (${epoch})`, fmt: text }, { col: `${c}diff`, label: `gap diff pp (${epoch})`, fmt: asPp },
      { col: `${c}low`, label: '95% low', fmt: asPp }, { col: `${c}high`, label: '95% high', fmt: asPp },
      { col: `${c}p_perm`, label: 'sign-flip p', fmt: pv }, { col: `${c}a_lower`, label: 'a smaller', fmt: text },
    ];
  }),
];

const RUN_TABLE: Column[] = RUN_COLUMNS.filter((c) => c !== 'run_dir' && c !== 'body' && c !== 'head').map((col) => {
  const fmt = /acc$|error/.test(col) && col !== 'error' ? asPct : /loss$|gap/.test(col) ? num(4) : /params/.test(col) ? asCount : /seconds/.test(col) ? num(1) : col === 'images_per_second' ? num(0) : text;
  return { col, label: col.replace(/_/g, ' '), fmt };
});

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px;display:block;overflow-x:auto;max-width:100%}th,td{border:1px solid #ddd;padding:3px 7px}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td,td.bad{color:#a00}.plot svg{max-width:100%;height:auto}.plot{margin:12px 0}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}.note{color:#555}
.cams{display:flex;flex-wrap:wrap;gap:16px}.cams figure{margin:0}.cams img{max-width:360px;image-rendering:pixelated}`;

/** CAM grids and, on the built-in data, the localization table (Zhou et al.'s protocol, beside the central-box baseline). */
function camSection(cams: readonly VariantCam[]): string[] {
  const parts = ['<h2>Class activation maps</h2>',
    '<p class="note">Test images of one seed per variant: image, heat map (jet) and overlay. CAM for GAP heads, Grad-CAM for FC heads.</p>',
    '<div class="cams">'];
  for (const c of cams) {
    const img = c.png ? `<img alt="CAM grid of ${escapeHtml(c.variant)}" src="data:image/png;base64,${c.png.toString('base64')}">` : '';
    const what = `${c.variant} (seed ${c.seed}${c.method ? `, ${c.method}` : ''})`;
    parts.push(`<figure>${img}<figcaption>${escapeHtml(what)}${c.note ? ` <span class="note">${escapeHtml(c.note)}</span>` : ''}</figcaption></figure>`);
  }
  parts.push('</div>');
  const rows = cams.flatMap((c) => c.scores.map((s) => ({
    variant: c.variant, method: s.method, images: s.images, classification: s.classification, top1: s.top1.accuracy,
    true_class: s.trueClass.accuracy, mean_iou: s.trueClass.meanIou, baseline_fraction: s.baseline.best.fraction,
    baseline_true_class: s.baseline.best.trueClass.accuracy, baseline_top1: s.baseline.best.top1.accuracy,
    best_threshold: s.sweep?.best.threshold, best_threshold_true_class: s.sweep?.best.trueClass.accuracy,
  })));
  if (rows.length) {
    parts.push('<h3>Localization (box from the map thresholded at 20% of its maximum, correct at IoU &ge; 0.5)</h3>',
      table('localization', [
        { col: 'variant', label: 'variant', fmt: text }, { col: 'method', label: 'method', fmt: text },
        { col: 'images', label: 'images', fmt: text }, { col: 'classification', label: 'classification %', fmt: asPct },
        { col: 'top1', label: 'top-1 loc %', fmt: asPct }, { col: 'true_class', label: 'true-class loc %', fmt: asPct },
        { col: 'mean_iou', label: 'mean IoU', fmt: num(3) }, { col: 'baseline_fraction', label: 'central box side', fmt: num(2) },
        { col: 'baseline_true_class', label: 'central box loc %', fmt: asPct }, { col: 'baseline_top1', label: 'central box top-1 %', fmt: asPct },
        { col: 'best_threshold', label: 'best threshold*', fmt: text },
        { col: 'best_threshold_true_class', label: 'true-class loc % at it*', fmt: asPct },
      ], rows, (r) => `${String(r.variant)}|${String(r.method)}`),
      '<p class="note">* The threshold (5% to 95% of the map\'s maximum) with the best true-class localization, chosen on the same test images, so optimistic (MaxBoxAcc, Choe et al. 2020); the other columns use the paper\'s 20%.</p>');
  }
  return parts;
}

/** The whole page as one string. */
export function renderReport(input: ReportInput): string {
  const { plan, agg, plots, cams } = input;
  const variantRows = agg.variants.map((v) => ({ kind: 'variant', ...v }) as Record<string, unknown>);
  const pairRows = agg.pairs.map((p) => pairRow(p) as Record<string, unknown>);
  const runRows = agg.runs.map((r) => r.record as unknown as Record<string, unknown>);
  const parts: string[] = [];
  parts.push(`<h1>Suite ${escapeHtml(plan.suite)}</h1>`);
  if (agg.pairs.length) {
    const items = verdicts(agg.pairs, plan.select).map((v) => `<li>${escapeHtml(v)}</li>`).join('\n');
    parts.push('<h2>Verdict</h2>', `<ul id="verdict">\n${items}\n</ul>`, `<p class="note">${escapeHtml(verdictNote(plan.select))}</p>`);
  }
  if (plan.description) parts.push(`<p>${escapeHtml(plan.description)}</p>`);
  const done = runRows.filter((r) => r.status === 'completed').length;
  parts.push(`<p class="note">${plan.variants.length} variants x ${plan.seeds.length} seeds (${plan.seeds.join(', ')}); ` +
    `${done} of ${runRows.length} runs completed. Test error is that of the ${plan.select === 'best' ? 'best-validation checkpoint' : 'last epoch'}; ` +
    `means and sample standard deviations are over completed seeds. Generated ${escapeHtml(input.generatedAt)}.</p>`);

  parts.push('<h2>Variants</h2>', table('variants', VARIANT_TABLE, variantRows, (r) => String(r.variant)));
  if (pairRows.length) {
    parts.push('<h2>Head pairs: difference in test error (a - b)</h2>',
      '<p class="note">Percentage points; negative means a has the lower error. Unpaired (each side\'s mean over its ' +
      'completed seeds): Welch\'s t (unequal variances, Welch-Satterthwaite df) and a percentile bootstrap (10,000 resamples); ' +
      'with 2-3 seeds the bootstrap is optimistic, read Welch. Paired (per-seed differences over the seeds both completed, ' +
      'which share split, batch order, augmentation and initial body weights): t interval, paired t p, exact sign-flip p, ' +
      'and the seeds where a is lower, higher or tied. An interval that excludes 0 is a difference the seeds support.</p>',
      table('pairs', PAIR_TABLE, pairRows, (r) => String(r.variant)),
      '<h3>Paired difference in generalization gap (a - b, train-eval accuracy minus validation accuracy)</h3>',
      table('gap-pairs', GAP_PAIR_TABLE, pairRows, (r) => String(r.variant)));
  }
  parts.push('<h2>Plots</h2>');
  if (!plots.length) parts.push('<p class="note">No completed runs yet.</p>');
  for (const p of plots) parts.push(`<figure class="plot" id="plot-${p.name}"><figcaption>${escapeHtml(p.title)}</figcaption>${p.svg}</figure>`);
  if (cams && cams.length) parts.push(...camSection(cams));
  parts.push('<h2>Runs</h2>', table('runs', RUN_TABLE, runRows, (r) => `${String(r.variant)}|${String(r.seed)}`));
  parts.push('<h2>Configs</h2>');
  for (const v of plan.variants) {
    const { seed: _seed, ...rest } = v.config;
    void _seed;
    parts.push(`<details id="config-${escapeHtml(v.name)}"><summary>${escapeHtml(v.name)} (${escapeHtml(v.hash)})</summary>` +
      `<pre>${escapeHtml(configToYaml(rest as typeof v.config))}</pre></details>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>gaplab suite ${escapeHtml(plan.suite)}</title><style>${CSS}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
}
