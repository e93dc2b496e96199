// Number formatting shared by the terminal table and report.html (the CSVs keep full precision).

/** "23.41" for 0.23412 (percent, no sign); "-" when not measured. */
export function pct(x: number, digits = 2): string {
  return Number.isFinite(x) ? (100 * x).toFixed(digits) : '-';
}

/** "23.41 ± 0.52" for a mean and std of fractions; the std part is left out below two seeds. */
export function pctPm(m: number, s: number, digits = 2): string {
  if (!Number.isFinite(m)) return '-';
  return Number.isFinite(s) ? `${pct(m, digits)} ± ${pct(s, digits)}` : pct(m, digits);
}

/** Fixed decimals, "-" when not measured. */
export function fixed(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** "1,250,858". */
export function count(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
}

/** "[-3.12, -0.85]" in percentage points. */
export function interval(low: number, high: number, digits = 2): string {
  return Number.isFinite(low) && Number.isFinite(high) ? `[${pct(low, digits)}, ${pct(high, digits)}]` : '-';
}

/** "0.0123", "<0.0001". */
export function pValue(p: number): string {
  if (!Number.isFinite(p)) return '-';
  return p < 1e-4 ? '<0.0001' : p.toFixed(4);
}
