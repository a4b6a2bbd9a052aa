/**
 * A small seeded generator (mulberry32): the same seed gives the same sequence on every machine,
 * so a simulated run or a randomised test can be replayed exactly from its seed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 32-bit seed from any parts (FNV-1a over their text), so one master seed and a few names
 * (a run, a turn, an attempt) give each decision its own independent, replayable stream.
 *
 * @example
 * const rng = seededRandom(seedFrom(42, 'run_1', 'turn', 3));
 */
export function seedFrom(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.join('\u0001');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
