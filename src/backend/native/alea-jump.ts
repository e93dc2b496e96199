// Jumps seedrandom's Alea ahead k draws without drawing them, so dropout's mask can be drawn by several threads at once.
//
// Alea's step t = 2091639 * s0 + c * 2^-32 is exact in double (every s is a multiple of 2^-32, the product below 2^53),
// so with x = s * 2^32 it is a lag-3 multiply-with-carry generator: T = a x_{n-2} + c_n, x_{n+1} = T mod 2^32,
// c_{n+1} = floor(T / 2^32), a = 2091639. Such a generator is a linear congruential one in disguise: with
// X = x_{n-2} + x_{n-1} b + x_n b^2 (b = 2^32) and Z = a X + c, each step maps Z to Z b^-1 mod m, m = a b^3 - 1
// (b Z' = Z + x_{n+1} m). And b^-1 = a b^2 mod m (b * a b^2 = m + 1). So k steps multiply Z by (a b^2)^k mod m.

const A = 2091639n;
const B = 1n << 32n;
const M = A * B * B * B - 1n;
const B_INV = A * B * B; // b^-1 mod m

/** seedrandom's Alea state as the addon takes it: [s0, s1, s2, c]. */
export type AleaState = readonly [number, number, number, number];

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n, b = base % mod, e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

const toInt = (s: number) => BigInt(s * 2 ** 32); // exact: s is a multiple of 2^-32 below 1
const toFrac = (x: bigint) => Number(x) / 2 ** 32;

function toZ([s0, s1, s2, c]: AleaState): bigint {
  return A * (toInt(s0) + toInt(s1) * B + toInt(s2) * B * B) + BigInt(c);
}

function fromZ(z: bigint): [number, number, number, number] {
  const x = z / A;
  return [toFrac(x % B), toFrac((x / B) % B), toFrac(x / (B * B)), Number(z % A)];
}

function checkCount(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new Error(`aleaJump: k must be a whole number >= 0, got ${k}`);
}

/** The state after k draws from `state` (k >= 0), bit for bit what drawing them would leave. */
export function aleaJump(state: AleaState, k: number): [number, number, number, number] {
  checkCount(k);
  return fromZ((toZ(state) * modPow(B_INV, BigInt(k), M)) % M);
}

/** Values per chunk when n draws are split into `chunks`: 16 * ceil(n / (16 chunks)), a multiple of 16 so chunks
 *  start on whole 16-channel runs (the addon computes the same). */
export function aleaChunk(n: number, chunks: number): number {
  return 16 * Math.ceil(n / 16 / Math.max(1, chunks));
}

/** The start states of n draws split into `chunks` chunks of aleaChunk(n, chunks) values (the last ones may be short
 *  or empty): 4 numbers per chunk, in order, as the addon's dropoutAlea takes them. */
export function aleaStarts(state: AleaState, n: number, chunks: number): Float64Array {
  const size = aleaChunk(n, chunks), count = Math.max(1, chunks);
  checkCount(n);
  const step = modPow(B_INV, BigInt(size), M);
  const out = new Float64Array(4 * count);
  for (let i = 0, z = toZ(state); i < count; i++, z = (z * step) % M) out.set(fromZ(z), 4 * i);
  return out;
}
