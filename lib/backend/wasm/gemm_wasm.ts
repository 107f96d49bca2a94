/**
 * The WebAssembly SIMD path of `gemm` (in `../cpu_gemm.ts`): a GotoBLAS-style blocked matrix
 * multiply whose micro-kernel keeps an `MR × NR` tile of C in f32x4 registers. The module is
 * assembled at first use by {@linkcode assembleModule} from the TypeScript below; operands are
 * copied into its linear memory (TypedArray.set), packed there into panels, multiplied, and C is
 * copied back.
 *
 * Summation order, shared with the TypeScript path in `cpu_gemm.ts` so that both give the same
 * bits: every element of C starts from 0 (or from its old value when accumulating) and adds the
 * float32-rounded products `a[i,p]·b[p,j]` one at a time for p = 0, 1, …, k−1, rounding to float32
 * after every addition (`f32x4.mul` then `f32x4.add`, never a fused multiply-add). Blocking only
 * changes when the partial sums are stored, never their order.
 *
 * @module
 */

import { assembleModule, FunctionBody, type FunctionDef, type Local } from "./emitter.ts";

/** Rows of the register tile (2 or a multiple of 4). */
export const MR = 2;
/** Columns of the register tile (a multiple of 4: f32x4 vectors per row). */
export const NR = 16;
/** Depth of a packed block (k is cut into blocks of at most KC). */
export const KC = 256;
/** Rows of a packed block of A (a multiple of MR). */
export const MC = 128;
/** Columns of a packed block of B (a multiple of NR). */
export const NC = 1024;

const VECS = NR / 4;
/** Steps of p per iteration of the micro-kernel's loop. */
const UNROLL = 4;
const F32 = 4;

/**
 * `kernel(pa, pb, pc, mTiles, nTiles, kc, ldc, load)`: multiplies a packed block of A
 * (`mTiles` panels of `kc × MR`) by a packed block of B (`nTiles` panels of `kc × NR`) into the
 * tiles of C at `pc` (row stride `ldc` bytes). With `load` 0 the tiles start from zero, else
 * from C.
 */
function kernelFunction(): FunctionDef {
  const params = ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [pa, pb, pc, mTiles, nTiles, kc, ldc, load] = f.params;
  const jt = f.local("i32"), it = f.local("i32");
  const aPanel = f.local("i32"), bPanel = f.local("i32"), cTile = f.local("i32");
  const ap = f.local("i32"), bp = f.local("i32"), count = f.local("i32"), row = f.local("i32");
  const acc: Local[][] = [];
  for (let r = 0; r < MR; r++) acc.push(Array.from({ length: VECS }, () => f.local("v128")));
  const bv = Array.from({ length: VECS }, () => f.local("v128"));
  const av = f.local("v128");

  f.get(pb).set(bPanel);
  f.forRange(jt, nTiles, () => {
    f.get(pa).set(aPanel);
    // cTile = pc + jt * NR * 4
    f.get(pc).get(jt).i32Const(NR * F32).i32Mul().i32Add().set(cTile);
    f.forRange(it, mTiles, () => {
      // Accumulators: zero, or the current tile of C.
      f.get(load).if(() => {
        f.get(cTile).set(row);
        for (let r = 0; r < MR; r++) {
          for (let v = 0; v < VECS; v++) f.get(row).v128Load(16 * v).set(acc[r][v]);
          if (r < MR - 1) f.addTo(row, ldc);
        }
      }, () => {
        for (let r = 0; r < MR; r++) for (let v = 0; v < VECS; v++) f.v128Zero().set(acc[r][v]);
      });
      // for p in 0..kc-1: acc[r] += splat(a[r, p]) * b[p, :], UNROLL steps per iteration.
      const step = (u: number) => {
        for (let v = 0; v < VECS; v++) f.get(bp).v128Load(16 * v + u * NR * F32).set(bv[v]);
        for (let r = 0; r < MR; r++) {
          f.get(ap).v128Load32Splat(F32 * (r + u * MR)).set(av);
          for (let v = 0; v < VECS; v++) {
            f.get(acc[r][v]).get(av).get(bv[v]).f32x4Mul().f32x4Add().set(acc[r][v]);
          }
        }
      };
      f.get(aPanel).set(ap).get(bPanel).set(bp).get(kc).set(count);
      f.block(() => {
        f.loop(() => {
          f.get(count).i32Const(UNROLL).i32LtU().brIf(1);
          for (let u = 0; u < UNROLL; u++) step(u);
          f.addTo(ap, UNROLL * MR * F32).addTo(bp, UNROLL * NR * F32);
          f.get(count).i32Const(UNROLL).i32Sub().set(count);
          f.br(0);
        });
      });
      f.block(() => {
        f.get(count).i32Eqz().brIf(0);
        f.loop(() => {
          step(0);
          f.addTo(ap, MR * F32).addTo(bp, NR * F32);
          f.get(count).i32Const(1).i32Sub().tee(count).brIf(0);
        });
      });
      f.get(cTile).set(row);
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < VECS; v++) f.get(row).get(acc[r][v]).v128Store(16 * v);
        if (r < MR - 1) f.addTo(row, ldc);
      }
      // Next panel of A (kc·MR floats further), next tile of C (MR rows down).
      f.get(aPanel).get(kc).i32Const(MR * F32).i32Mul().i32Add().set(aPanel);
      f.get(ldc).i32Const(MR).i32Mul().get(cTile).i32Add().set(cTile);
    });
    f.get(bPanel).get(kc).i32Const(NR * F32).i32Mul().i32Add().set(bPanel);
  });
  return { name: "kernel", body: f, params };
}

/**
 * `pack(src, dst, lines, depth, lineStride, depthStride)`: packs a strided matrix with `lines`
 * lines of `depth` elements (element (l, p) at byte `src + l·lineStride + p·depthStride`) into
 * panels of `width` lines: panel t holds, for p = 0..depth−1, the elements of lines
 * t·width..t·width+width−1, zero past `lines`. Used for A (lines are rows of op(A), width MR) and
 * for B (lines are columns of op(B), width NR).
 */
function packFunction(fname: string, width: number): FunctionDef {
  const params = ["i32", "i32", "i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [src, dst, lines, depth, lineStride, depthStride] = f.params;
  const line0 = f.local("i32"), p = f.local("i32"), s0 = f.local("i32"), s = f.local("i32");
  const step = () => f.addTo(s0, depthStride).addTo(dst, width * F32);
  const left = f.local("i32");
  const locals = { s0, s, dst, left, lineStride };
  // for (line0 = 0; line0 < lines; line0 += width): one panel, starting at s0
  f.i32Const(0).set(line0);
  f.block(() => {
    f.get(lines).i32Eqz().brIf(0);
    f.loop(() => {
      f.get(src).get(line0).get(lineStride).i32Mul().i32Add().set(s0);
      f.get(line0).i32Const(width).i32Add().get(lines).i32LeU().if(() => {
        // A full panel.
        f.get(lineStride).i32Const(F32).i32Eq().if(() => {
          // Adjacent lines: the panel's `width` elements at each p are contiguous.
          f.forRange(p, depth, () => {
            if (width === 2) f.get(dst).get(s0).i64Load().i64Store();
            for (let v = 0; v < Math.floor(width / 4); v++) {
              f.get(dst).get(s0).v128Load(16 * v).v128Store(16 * v);
            }
            step();
          });
        }, () => {
          f.get(depth).set(left);
          f.get(depthStride).i32Const(F32).i32Eq().if(() => transposeQuads(f, width, locals));
          // Strided lines (and what transposeQuads left over): element by element.
          f.forRange(p, left, () => {
            f.get(s0).set(s);
            for (let l = 0; l < width; l++) {
              f.get(dst).get(s).f32Load().f32Store(F32 * l);
              if (l < width - 1) f.addTo(s, lineStride);
            }
            step();
          });
        });
      }, () => {
        // The last, partial panel: zero past `lines`.
        f.forRange(p, depth, () => {
          f.get(s0).set(s);
          for (let l = 0; l < width; l++) {
            f.get(line0).i32Const(l).i32Add().get(lines).i32LtU().if(() => {
              f.get(dst).get(s).f32Load().f32Store(F32 * l);
            }, () => {
              f.get(dst).f32Const(0).f32Store(F32 * l);
            });
            if (l < width - 1) f.addTo(s, lineStride);
          }
          step();
        });
      });
      f.addTo(line0, width);
      f.get(line0).get(lines).i32LtU().brIf(0);
    });
  });
  return { name: fname, body: f, params };
}

/**
 * Packs a full panel of lines that are each contiguous along p, four p at a time: loads four
 * consecutive elements of each line and transposes them with shuffles (4×4 blocks, or 2×4 when
 * the panel is 2 lines wide). Advances `s0` and `dst` and lowers `left` (the p still to pack) by
 * the p it packed, leaving fewer than four for the caller's element-by-element loop.
 */
function transposeQuads(
  f: FunctionBody,
  width: number,
  { s0, s, dst, left, lineStride }: Record<"s0" | "s" | "dst" | "left" | "lineStride", Local>,
): void {
  const group = width === 2 ? 2 : 4;
  const r = Array.from({ length: 4 }, () => f.local("v128"));
  const t = Array.from({ length: 4 }, () => f.local("v128"));
  const record = width * F32; // bytes of one p in the panel
  f.block(() => {
    f.loop(() => {
      f.get(left).i32Const(4).i32LtU().brIf(1);
      f.get(s0).set(s);
      for (let g = 0; g < width / group; g++) {
        for (let l = 0; l < group; l++) {
          f.get(s).v128Load().set(r[l]);
          f.addTo(s, lineStride);
        }
        if (group === 2) {
          // (a0 a1 a2 a3), (b0 b1 b2 b3) -> (a0 b0 a1 b1), (a2 b2 a3 b3): records p, p+1 and p+2, p+3.
          f.get(dst).get(r[0]).get(r[1]).f32x4Shuffle([0, 4, 1, 5]).v128Store(0);
          f.get(dst).get(r[0]).get(r[1]).f32x4Shuffle([2, 6, 3, 7]).v128Store(16);
        } else {
          f.get(r[0]).get(r[1]).f32x4Shuffle([0, 4, 1, 5]).set(t[0]);
          f.get(r[0]).get(r[1]).f32x4Shuffle([2, 6, 3, 7]).set(t[1]);
          f.get(r[2]).get(r[3]).f32x4Shuffle([0, 4, 1, 5]).set(t[2]);
          f.get(r[2]).get(r[3]).f32x4Shuffle([2, 6, 3, 7]).set(t[3]);
          const at = (q: number) => q * record + g * 16;
          f.get(dst).get(t[0]).get(t[2]).f32x4Shuffle([0, 1, 4, 5]).v128Store(at(0));
          f.get(dst).get(t[0]).get(t[2]).f32x4Shuffle([2, 3, 6, 7]).v128Store(at(1));
          f.get(dst).get(t[1]).get(t[3]).f32x4Shuffle([0, 1, 4, 5]).v128Store(at(2));
          f.get(dst).get(t[1]).get(t[3]).f32x4Shuffle([2, 3, 6, 7]).v128Store(at(3));
        }
      }
      f.addTo(s0, 4 * F32).addTo(dst, 4 * record);
      f.get(left).i32Const(4).i32Sub().set(left);
      f.br(0);
    });
  });
}

/**
 * `copyRows(src, dst, rows, rowBytes, srcStride, dstStride)`: copies `rows` rows of `rowBytes`
 * bytes between two strided layouts (to and from C's padded layout).
 */
function copyRowsFunction(): FunctionDef {
  const params = ["i32", "i32", "i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [src, dst, rows, rowBytes, srcStride, dstStride] = f.params;
  const r = f.local("i32");
  f.forRange(r, rows, () => {
    f.get(dst).get(src).get(rowBytes).memoryCopy();
    f.addTo(src, srcStride).addTo(dst, dstStride);
  });
  return { name: "copyRows", body: f, params };
}

/** The bytes of the gemm module (generated, never stored). */
export function gemmModuleBytes(): Uint8Array<ArrayBuffer> {
  return assembleModule([
    kernelFunction(),
    packFunction("packA", MR),
    packFunction("packB", NR),
    copyRowsFunction(),
  ]);
}

interface GemmExports {
  kernel(
    pa: number,
    pb: number,
    pc: number,
    mTiles: number,
    nTiles: number,
    kc: number,
    ldc: number,
    load: number,
  ): void;
  packA(
    src: number,
    dst: number,
    lines: number,
    depth: number,
    lineStride: number,
    depthStride: number,
  ): void;
  packB(
    src: number,
    dst: number,
    lines: number,
    depth: number,
    lineStride: number,
    depthStride: number,
  ): void;
  copyRows(
    src: number,
    dst: number,
    rows: number,
    rowBytes: number,
    srcStride: number,
    dstStride: number,
  ): void;
}

const PAGE = 65536;

/** The instantiated module and its memory, created on first use. */
class WasmGemm {
  readonly memory: WebAssembly.Memory;
  readonly fn: GemmExports;
  heap: Float32Array;

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: 16 });
    const module = new WebAssembly.Module(gemmModuleBytes());
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.fn = instance.exports as unknown as GemmExports;
    this.heap = new Float32Array(this.memory.buffer);
  }

  /**
   * Makes the memory at least `bytes` long, refreshing the view after growth; false when it
   * cannot grow that far.
   */
  reserve(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      try {
        this.memory.grow(Math.ceil((bytes - have) / PAGE));
      } catch {
        return false;
      }
      this.heap = new Float32Array(this.memory.buffer);
    }
    return true;
  }
}

let instance: WasmGemm | null | undefined;

/** The module instance, or null where WebAssembly SIMD is unavailable. */
function wasmGemm(): WasmGemm | null {
  if (instance === undefined) {
    try {
      instance = new WasmGemm();
    } catch {
      instance = null;
    }
  }
  return instance;
}

/** Whether the WebAssembly path can run here (compiles the module on the first call). */
export function wasmGemmAvailable(): boolean {
  return wasmGemm() !== null;
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** The largest memory the wasm path will use, in bytes (beyond it, callers use the TS path). */
export const WASM_MAX_BYTES = 1 << 30;

/** Byte offsets of the regions of linear memory for one product; each starts 16-byte aligned. */
function layout(m: number, n: number, k: number) {
  const np = roundUp(n, NR), mp = roundUp(m, MR);
  const packA = 64; // packed block of A, MC × KC
  const packB = packA + F32 * MC * KC; // packed block of B, KC × NC
  const aRaw = packB + F32 * KC * Math.min(np, NC); // A as given
  const bRaw = aRaw + roundUp(F32 * m * k, 16); // B as given
  const cPad = bRaw + roundUp(F32 * k * n, 16); // C, mp × np
  const cRaw = cPad + roundUp(F32 * mp * np, 16); // C as given, when np ≠ n
  const end = cRaw + (np === n ? 0 : F32 * m * n);
  return { np, mp, packA, packB, aRaw, bRaw, cPad, cRaw, end };
}

/** Bytes of linear memory the wasm path needs for these sizes. */
export function wasmGemmBytes(m: number, n: number, k: number): number {
  return layout(m, n, k).end;
}

/**
 * Computes `C = op(A)·op(B) (+ C)` on the wasm path. Arguments are those of `gemm`, validated
 * there; requires m, n, k ≥ 1 and {@linkcode wasmGemmAvailable}.
 *
 * @returns False, having done nothing, when the memory cannot grow to {@linkcode wasmGemmBytes}.
 */
export function runWasmGemm(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
  accumulate: boolean,
): boolean {
  const w = wasmGemm()!;
  const { np, mp, packA, packB, aRaw, bRaw, cPad, cRaw, end } = layout(m, n, k);
  if (!w.reserve(end)) return false;
  const heap = w.heap, fn = w.fn;

  heap.set(a.subarray(0, m * k), aRaw / F32);
  heap.set(b.subarray(0, k * n), bRaw / F32);
  if (accumulate) {
    if (np === n) heap.set(c.subarray(0, m * n), cPad / F32);
    else {
      heap.set(c.subarray(0, m * n), cRaw / F32);
      fn.copyRows(cRaw, cPad, m, F32 * n, F32 * n, F32 * np);
    }
  }
  // Rows of C past m are computed and thrown away; keep them zero rather than stale.
  heap.fill(0, cPad / F32 + m * np, cPad / F32 + mp * np);

  // Element (i, p) of op(A) lies at aRaw + i·aRow + p·aDepth; element (p, j) of op(B) at
  // bRaw + j·bCol + p·bDepth.
  const aRow = transposeA ? F32 : F32 * k, aDepth = transposeA ? F32 * m : F32;
  const bCol = transposeB ? F32 * k : F32, bDepth = transposeB ? F32 : F32 * n;
  const ldc = F32 * np;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      fn.packB(bRaw + jc * bCol + pc * bDepth, packB, nc, kc, bCol, bDepth);
      const load = accumulate || pc > 0 ? 1 : 0;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        fn.packA(aRaw + ic * aRow + pc * aDepth, packA, mc, kc, aRow, aDepth);
        const mTiles = Math.ceil(mc / MR), nTiles = Math.ceil(nc / NR);
        fn.kernel(packA, packB, cPad + ic * ldc + F32 * jc, mTiles, nTiles, kc, ldc, load);
      }
    }
  }

  if (np === n) c.set(heap.subarray(cPad / F32, cPad / F32 + m * n));
  else {
    fn.copyRows(cPad, cRaw, m, F32 * n, F32 * np, F32 * n);
    c.set(heap.subarray(cRaw / F32, cRaw / F32 + m * n));
  }
  return true;
}
