// --shard i/n: a deterministic share of a suite's runs, so a job array (Slurm, Kubernetes) spreads a suite over machines.

/** A 0-based shard index and the shard count: `3/8` is the fourth of eight shares. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Parses `i/n` with 0 <= i < n (0-based, like Kubernetes' JOB_COMPLETION_INDEX and `sbatch --array=0-<n-1>`).
 * Returns undefined for a malformed value so the CLI can name the problem.
 */
export function parseShard(text: string): Shard | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) return undefined;
  return { index, count };
}

/**
 * The runs of one shard: run k of the suite order belongs to shard k mod n. Round robin over the variant-major order
 * spreads every variant's seeds across shards, so expensive variants do not all land on one machine. Every run is
 * in exactly one shard for every n, and the answer depends only on the suite (not on what is already done), so
 * machines that start at different times still agree.
 */
export function shardRuns<T extends { index: number }>(runs: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...runs];
  return runs.filter((r) => r.index % shard.count === shard.index);
}
