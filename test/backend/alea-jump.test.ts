// Alea jump-ahead: the state k draws on, computed without drawing, equals seedrandom's after drawing k values.
import { expect } from 'chai';
import seedrandom from 'seedrandom';

import { aleaChunk, aleaJump, aleaStarts, type AleaState } from '../../src/backend/native/alea-jump.js';

interface Stateful {
  (): number;
  state(): { s0: number; s1: number; s2: number; c: number };
}

/** seedrandom's own generator for `seed`, and its state as [s0, s1, s2, c]. */
const alea = (seed: string) => seedrandom.alea(seed, { state: true }) as unknown as Stateful;
const stateOf = (g: Stateful): AleaState => {
  const s = g.state();
  return [s.s0, s.s1, s.s2, s.c];
};

describe('Alea jump-ahead', () => {
  for (const seed of ['17', '2147483647', 'gaplab']) {
    it(`aleaJump(state, k) is seedrandom's state after k draws (seed '${seed}')`, () => {
      const g = alea(seed), start = stateOf(g);
      let drawn = 0;
      for (const k of [0, 1, 2, 3, 4, 5, 31, 1000, 65_537]) {
        for (; drawn < k; drawn++) g();
        expect(aleaJump(start, k), `k = ${k}`).to.deep.equal(stateOf(g));
      }
    });
  }

  it('splits n draws into chunks of 16 * ceil(n / 16k) values', () => {
    expect(aleaChunk(1001, 2)).to.equal(512); // ceil(1001 / 32) = 32 runs of 16
    expect(aleaChunk(1001, 1)).to.equal(1008);
    expect(aleaChunk(48, 4)).to.equal(16); // 3 runs for 4 chunks: the last chunk is empty
    expect(aleaChunk(0, 3)).to.equal(0);
  });

  it('aleaStarts gives each chunk the state after the chunks before it, and rejects a bad count', () => {
    const g = alea('5'), start = stateOf(g);
    const starts = aleaStarts(start, 1001, 3); // chunks of 16 * ceil(1001 / 48) = 336
    expect(starts).to.have.length(12);
    expect(Array.from(starts.subarray(0, 4))).to.deep.equal([...start]);
    for (let i = 0; i < 336; i++) g();
    expect(Array.from(starts.subarray(4, 8))).to.deep.equal([...stateOf(g)]);
    for (let i = 0; i < 336; i++) g();
    expect(Array.from(starts.subarray(8, 12))).to.deep.equal([...stateOf(g)]);
    expect(() => aleaJump(start, -1)).to.throw(/whole number >= 0/);
    expect(() => aleaJump(start, 1.5)).to.throw(/whole number >= 0/);
  });
});
