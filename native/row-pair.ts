// AssemblyScript, shared by the kernels of tools/wasm/build.ts (merge.ts, hints.ts): the two
// widened source rows a bilinear enlargement's current output row lies between. Output rows are
// visited in order, so each source row is widened once per image: when the next output row starts
// from the old lower row, the two buffers swap instead of widening it again.
//
// A pair's state lives in a RowPair block of the module's static data (memory.data), so that it
// survives between calls (the photo merge is called band by band) and needs no allocator (the
// callers lay out their buffers from heapBase()). The functions are small enough that -O3 inlines
// them into the row loops.

/** Bytes of one pair's state: the upper and lower source row (−1: none yet), then their buffers. */
export const ROW_PAIR_BYTES: i32 = 16;

/** Bit of pairAdvance's result: the upper row (pairA) must be widened from source row s0. */
export const FILL_A: i32 = 1;
/** Bit of pairAdvance's result: the lower row (pairB) must be widened from source row s1. */
export const FILL_B: i32 = 2;

/** Starts an image: forgets both rows and gives the pair its two buffers. */
export function pairReset(p: usize, a: usize, b: usize): void {
  store<i32>(p, -1);
  store<i32>(p, -1, 4);
  store<u32>(p, <u32>a, 8);
  store<u32>(p, <u32>b, 12);
}

/** The buffer holding the upper source row. */
export function pairA(p: usize): usize {
  return <usize>load<u32>(p, 8);
}

/** The buffer holding the lower source row. */
export function pairB(p: usize): usize {
  return <usize>load<u32>(p, 12);
}

/**
 * Moves the pair to source rows s0 (upper) and s1 (lower) and says which of its buffers the
 * caller must now widen (FILL_A, FILL_B): none when the rows are the ones held, the swap when the
 * old lower row becomes the upper one.
 */
export function pairAdvance(p: usize, s0: i32, s1: i32): i32 {
  let fill = 0;
  if (s0 != load<i32>(p)) {
    if (s0 == load<i32>(p, 4)) {
      const t = load<u32>(p, 8);
      store<u32>(p, load<u32>(p, 12), 8);
      store<u32>(p, t, 12);
      store<i32>(p, -1, 4);
    } else fill = FILL_A;
    store<i32>(p, s0);
  }
  if (s1 != load<i32>(p, 4)) {
    fill |= FILL_B;
    store<i32>(p, s1, 4);
  }
  return fill;
}
