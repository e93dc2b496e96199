// Seeded, serializable random numbers: every random choice in a run derives from the config seed.
import seedrandom from 'seedrandom';

/** Joins seed parts into one seed string, e.g. deriveSeed(1, 'shuffle', epoch) -> "1/shuffle/3". */
export function deriveSeed(...parts: Array<string | number>): string {
  return parts.join('/');
}

/**
 * A pseudo-random stream (Alea) whose state can be saved and restored, so a resumed run draws the
 * same numbers as one that never stopped.
 */
export class Rng {
  private readonly prng: seedrandom.prng;

  constructor(seed: string | number, state?: object) {
    this.prng = state
      ? seedrandom.alea('', { state: state as seedrandom.State })
      : seedrandom.alea(String(seed), { state: true });
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.prng();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.prng() * n);
  }

  /** A 31-bit non-negative integer, e.g. a seed for a tfjs op. */
  seed31(): number {
    return this.prng.int32() >>> 1;
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    const u = 1 - this.prng();
    const v = this.prng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** [0, n) in a random order. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** Serializable state for checkpoints. */
  state(): object {
    return this.prng.state();
  }
}
