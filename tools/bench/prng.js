'use strict';
/** mulberry32: a tiny deterministic PRNG, so every run benchmarks the same bytes and sizes. */
function mulberry32(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    /** uint32 */
    u32: next,
    /** float in [0, 1) */
    float: () => next() / 4294967296,
    /** integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor((next() / 4294967296) * (hi - lo + 1)),
    /** fills a buffer with pseudo-random bytes */
    fill(buf) {
      let i = 0;
      const whole = buf.length & ~3;
      for (; i < whole; i += 4) buf.writeUInt32LE(next(), i);
      if (i < buf.length) {
        let v = next();
        for (; i < buf.length; i++, v >>>= 8) buf[i] = v & 0xff;
      }
      return buf;
    },
  };
}

module.exports = { mulberry32 };
