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

/**
 * `sumRows(src, dst, rows, cols)`: `dst[j] = dst[j] + src[r·cols + j]` for r = 0, 1, …, rows−1
 * in turn, each sum rounded to float32 (four columns at a time, the last `cols mod 4` one by
 * one). With `dst` zeroed first, this is the column sum of a `[rows, cols]` matrix in row order.
 */
function sumRowsFunction(): FunctionDef {
  const params = ["i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [src, dst, rows, cols] = f.params;
  const r = f.local("i32"), v = f.local("i32"), vecs = f.local("i32"), rem = f.local("i32");
  const q = f.local("i32");
  f.get(cols).i32Const(2).i32ShrU().set(vecs);
  f.get(cols).i32Const(3).i32And().set(rem);
  f.forRange(r, rows, () => {
    f.get(dst).set(q);
    f.forRange(v, vecs, () => {
      f.get(q).get(q).v128Load().get(src).v128Load().f32x4Add().v128Store();
      f.addTo(q, 16).addTo(src, 16);
    });
    f.forRange(v, rem, () => {
      f.get(q).get(q).f32Load().get(src).f32Load().f32Add().f32Store();
      f.addTo(q, F32).addTo(src, F32);
    });
  });
  return { name: "sumRows", body: f, params };
}

/**
 * `addBias(c, rows, cols, bias, relu)`: `c[r·cols + j] = c[r·cols + j] + bias[j]` (rounded to
 * float32) for `rows` rows of `cols` floats, `cols` a multiple of 4; then, when `relu` is not 0,
 * every sum below zero becomes +0 (−0 and NaN stay as they are, as `x < 0 ? 0 : x` leaves them).
 */
function addBiasFunction(): FunctionDef {
  const params = ["i32", "i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [c, rows, cols, bias, relu] = f.params;
  const r = f.local("i32"), v = f.local("i32"), vecs = f.local("i32"), b = f.local("i32");
  const x = f.local("v128"), zero = f.local("v128");
  f.get(cols).i32Const(2).i32ShrU().set(vecs);
  f.v128Zero().set(zero);
  f.forRange(r, rows, () => {
    f.get(bias).set(b);
    f.get(relu).if(() => {
      f.forRange(v, vecs, () => {
        f.get(c).v128Load().get(b).v128Load().f32x4Add().set(x);
        f.get(c).get(zero).get(x).get(x).get(zero).f32x4Lt().v128Bitselect().v128Store();
        f.addTo(c, 16).addTo(b, 16);
      });
    }, () => {
      f.forRange(v, vecs, () => {
        f.get(c).get(c).v128Load().get(b).v128Load().f32x4Add().v128Store();
        f.addTo(c, 16).addTo(b, 16);
      });
    });
  });
  return { name: "addBias", body: f, params };
}

/** The bytes of the gemm module (generated, never stored). */
export function gemmModuleBytes(): Uint8Array<ArrayBuffer> {
  return assembleModule([
    kernelFunction(),
    packFunction("packA", MR),
    packFunction("packB", NR),
    copyRowsFunction(),
    sumRowsFunction(),
    addBiasFunction(),
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
  sumRows(src: number, dst: number, rows: number, cols: number): void;
  addBias(c: number, rows: number, cols: number, bias: number, relu: number): void;
}

const PAGE = 65536;
const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** A stretch of linear memory that a packed operand keeps (see {@linkcode packWasmB}). */
interface Region {
  readonly offset: number;
  readonly bytes: number;
  live: boolean;
}

/**
 * The instantiated module and its memory, created on first use. The memory starts with the
 * pinned regions of the packed operands still in use (a stack); one product's scratch space
 * (see `layout`) begins past them, at `top`.
 */
class WasmGemm {
  readonly memory: WebAssembly.Memory;
  readonly fn: GemmExports;
  heap: Float32Array;
  /** The first byte past the pinned regions (64-byte aligned). */
  top = 64;
  readonly #pinned: Region[] = [];

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

  /** Pins `bytes` at the top of the pinned stack; null when the memory cannot grow that far. */
  pin(bytes: number): Region | null {
    const region = { offset: this.top, bytes: roundUp(bytes, 64), live: true };
    if (!this.reserve(region.offset + region.bytes)) return null;
    this.#pinned.push(region);
    this.top += region.bytes;
    return region;
  }

  /** Frees a pinned region; the stack shrinks past every freed region at its top. */
  unpin(region: Region): void {
    region.live = false;
    const pinned = this.#pinned;
    while (pinned.length > 0 && !pinned[pinned.length - 1].live) this.top = pinned.pop()!.offset;
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

/** Bytes of linear memory that packed operands hold now (0 when none is packed or no module). */
export function wasmPinnedBytes(): number {
  return instance ? instance.top - 64 : 0;
}

/** The largest memory the wasm path will use, in bytes (beyond it, callers use the TS path). */
export const WASM_MAX_BYTES = 1 << 30;

/**
 * Byte offsets of the regions of linear memory for one product, from `base` (64-byte aligned);
 * each starts 16-byte aligned. With `packedB` there is no room for B: it is already packed.
 */
function layout(m: number, n: number, k: number, base: number, packedB: boolean) {
  const np = roundUp(n, NR), mp = roundUp(m, MR);
  const packA = base; // packed block of A, MC × KC
  const packB = packA + F32 * MC * KC; // packed block of B, KC × NC
  const aRaw = packB + (packedB ? 0 : F32 * KC * Math.min(np, NC)); // A as given
  const bRaw = aRaw + roundUp(F32 * m * k, 16); // B as given
  const cPad = bRaw + (packedB ? 0 : roundUp(F32 * k * n, 16)); // C, mp × np
  const cRaw = cPad + roundUp(F32 * mp * np, 16); // C as given, when np ≠ n
  const bias = cRaw + roundUp(np === n ? 0 : F32 * m * n, 16); // the bias, np floats
  const end = bias + F32 * np;
  return { np, mp, packA, packB, aRaw, bRaw, cPad, cRaw, bias, end };
}

type Layout = ReturnType<typeof layout>;

/**
 * Whether C = op(A)·op(B) is better computed as Cᵀ = op(B)ᵀ·op(A)ᵀ: when n is so small next to
 * NR (a matrix-vector product, an output layer of 1 or 2 units) that the padding of C's columns
 * to NR would at least double the work. Each element is the same sum of the same products in the
 * same order either way (a float32 product does not depend on the order of its factors), so the
 * choice never changes a result.
 */
function transposes(m: number, n: number): boolean {
  return 2 * roundUp(n, MR) * roundUp(m, NR) <= roundUp(m, MR) * roundUp(n, NR);
}

/** Bytes of linear memory the wasm path needs for these sizes (past any pinned operands). */
export function wasmGemmBytes(m: number, n: number, k: number): number {
  return (transposes(m, n) ? layout(n, m, k, 64, false) : layout(m, n, k, 64, false)).end;
}

/**
 * `C[i, j] = C[i, j] + bias[j]` for C `[m, n]` (when there is a bias), then with `relu` every
 * element below zero set to +0: in TypeScript, the bits of the module's `addBias` (a float32
 * array stores the float32 rounding of the double sum of two float32 values, which is their
 * float32 sum).
 */
export function addBiasRows(
  c: Float32Array,
  m: number,
  n: number,
  bias: Float32Array | undefined,
  relu: boolean,
): void {
  if (bias) {
    for (let i = 0; i < m; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) c[row + j] += bias[j];
    }
  }
  if (relu) { for (let e = 0; e < m * n; e++) if (c[e] < 0) c[e] = 0; }
}

/**
 * Computes `C = op(A)·op(B) (+ C)` on the wasm path, then adds `bias` `[n]` to every row and
 * applies `relu` as {@linkcode addBiasRows} does. Arguments are those of `gemm`, validated
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
  bias?: Float32Array,
  relu = false,
): boolean {
  if (transposes(m, n)) {
    // Cᵀ = op(B)ᵀ·op(A)ᵀ: B takes A's place (transposed once more), A takes B's. The bias runs
    // along the rows of Cᵀ there, so it is added here (n is small).
    const done = product(b, a, c, n, m, k, !transposeB, !transposeA, accumulate, true);
    if (done) addBiasRows(c, m, n, bias, relu);
    return done;
  }
  return product(a, b, c, m, n, k, transposeA, transposeB, accumulate, false, bias, relu);
}

/**
 * `runWasmGemm` in one orientation: C `[m, n]` is stored as given or, with `transposedC`, as its
 * transpose `[n, m]`. A and B are arrays to copy in, or byte offsets of operands already in the
 * memory (stored as they would be given); the scratch space starts at `base`.
 */
function product(
  a: Float32Array | number,
  b: Float32Array | number,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
  accumulate: boolean,
  transposedC: boolean,
  bias?: Float32Array,
  relu = false,
  base = wasmGemm()!.top,
): boolean {
  const w = wasmGemm()!;
  const at = layout(m, n, k, base, false);
  if (!w.reserve(at.end)) return false;
  if (typeof a === "number") at.aRaw = a;
  else w.heap.set(a.subarray(0, m * k), at.aRaw / F32);
  if (typeof b === "number") at.bRaw = b;
  else w.heap.set(b.subarray(0, k * n), at.bRaw / F32);
  stageC(w, at, c, m, n, accumulate, transposedC);
  // Element (i, p) of op(A) lies at aRaw + i·aRow + p·aDepth; element (p, j) of op(B) at
  // bRaw + j·bCol + p·bDepth.
  const aRow = transposeA ? F32 : F32 * k, aDepth = transposeA ? F32 * m : F32;
  const bCol = transposeB ? F32 * k : F32, bDepth = transposeB ? F32 : F32 * n;
  blocks(w, at, m, n, k, aRow, aDepth, -1, bCol, bDepth, accumulate);
  if (bias) {
    // Padding columns get a zero bias; they are thrown away.
    w.heap.set(bias.subarray(0, n), at.bias / F32);
    w.heap.fill(0, at.bias / F32 + n, at.bias / F32 + at.np);
    w.fn.addBias(at.cPad, m, at.np, at.bias, relu ? 1 : 0);
  } else if (relu) addBiasRows(w.heap.subarray(at.cPad / F32), m, at.np, undefined, true);
  unstageC(w, at, c, m, n, transposedC);
  return true;
}

/** Puts C (when accumulating) into its padded place, and zeroes the padding rows past m. */
function stageC(
  w: WasmGemm,
  at: Layout,
  c: Float32Array,
  m: number,
  n: number,
  accumulate: boolean,
  transposedC: boolean,
): void {
  const heap = w.heap, cPad = at.cPad / F32, np = at.np;
  if (accumulate) {
    if (transposedC) {
      // C(i, j) is c[j·m + i].
      for (let j = 0; j < n; j++) {
        for (let i = 0, s = j * m; i < m; i++) heap[cPad + i * np + j] = c[s + i];
      }
    } else if (np === n) heap.set(c.subarray(0, m * n), cPad);
    else {
      heap.set(c.subarray(0, m * n), at.cRaw / F32);
      w.fn.copyRows(at.cRaw, at.cPad, m, F32 * n, F32 * n, F32 * np);
    }
  }
  // Rows of C past m are computed and thrown away; keep them zero rather than stale.
  heap.fill(0, cPad + m * np, cPad + at.mp * np);
}

/** Copies C back from its padded place. */
function unstageC(
  w: WasmGemm,
  at: Layout,
  c: Float32Array,
  m: number,
  n: number,
  transposedC: boolean,
): void {
  const heap = w.heap, cPad = at.cPad / F32, np = at.np;
  if (transposedC) {
    for (let j = 0; j < n; j++) {
      for (let i = 0, s = j * m; i < m; i++) c[s + i] = heap[cPad + i * np + j];
    }
  } else if (np === n) c.set(heap.subarray(cPad, cPad + m * n));
  else {
    w.fn.copyRows(at.cPad, at.cRaw, m, F32 * n, F32 * np, F32 * n);
    c.set(heap.subarray(at.cRaw / F32, at.cRaw / F32 + m * n));
  }
}

/**
 * The blocked loops of one product whose A is at `at.aRaw` (strides `aRow`, `aDepth`) and C at
 * `at.cPad`. B is packed here block by block from `at.bRaw` (strides `bCol`, `bDepth`) or, when
 * `packedAt` ≥ 0, was packed beforehand at `packedAt`, its blocks in the order of these loops.
 */
function blocks(
  w: WasmGemm,
  at: Pick<Layout, "np" | "packA" | "packB" | "aRaw" | "bRaw" | "cPad">,
  m: number,
  n: number,
  k: number,
  aRow: number,
  aDepth: number,
  packedAt: number,
  bCol: number,
  bDepth: number,
  accumulate: boolean,
): void {
  const fn = w.fn, ldc = F32 * at.np;
  for (let jc = 0, next = packedAt; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc), nTiles = Math.ceil(nc / NR);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      let pb = at.packB;
      if (packedAt < 0) fn.packB(at.bRaw + jc * bCol + pc * bDepth, pb, nc, kc, bCol, bDepth);
      else {
        pb = next;
        next += F32 * nTiles * NR * kc;
      }
      const load = accumulate || pc > 0 ? 1 : 0;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        fn.packA(at.aRaw + ic * aRow + pc * aDepth, at.packA, mc, kc, aRow, aDepth);
        const mTiles = Math.ceil(mc / MR);
        fn.kernel(at.packA, pb, at.cPad + ic * ldc + F32 * jc, mTiles, nTiles, kc, ldc, load);
      }
    }
  }
}

/** A right-hand operand packed into the module's memory by {@linkcode packWasmB}. */
export interface WasmPackedB {
  /** Rows of op(B). */
  readonly k: number;
  /** Columns of op(B). */
  readonly n: number;
  /** Its pinned memory; null once released. */
  region: Region | null;
}

/** Bytes of op(B) `[k, n]` packed: every NC-column block padded to whole NR-wide panels. */
function packedBytes(k: number, n: number): number {
  return F32 * k * (Math.floor(n / NC) * NC + roundUp(n % NC, NR));
}

/**
 * Packs op(B) (`[k, n]`; B stored `[n, k]` when `transposeB`) into panels pinned in the module's
 * memory, for {@linkcode runWasmGemmPacked}: the panels `runWasmGemm` would pack from B on every
 * call, packed once. Requires k, n ≥ 1, `b.length ≥ k·n` and {@linkcode wasmGemmAvailable}.
 *
 * @returns The packed operand, or null (having pinned nothing) when the memory cannot grow enough.
 */
export function packWasmB(
  b: Float32Array,
  k: number,
  n: number,
  transposeB: boolean,
): WasmPackedB | null {
  const w = wasmGemm()!;
  const region = w.pin(packedBytes(k, n));
  if (region === null) return null;
  const raw = w.top;
  if (!w.reserve(raw + F32 * k * n)) {
    w.unpin(region);
    return null;
  }
  w.heap.set(b.subarray(0, k * n), raw / F32);
  const bCol = transposeB ? F32 * k : F32, bDepth = transposeB ? F32 : F32 * n;
  for (let jc = 0, next = region.offset; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      w.fn.packB(raw + jc * bCol + pc * bDepth, next, nc, kc, bCol, bDepth);
      next += F32 * roundUp(nc, NR) * kc;
    }
  }
  return { k, n, region };
}

/** Releases the memory of a packed operand (once; later calls do nothing). */
export function releaseWasmB(packed: WasmPackedB): void {
  if (packed.region === null) return;
  wasmGemm()!.unpin(packed.region);
  packed.region = null;
}

/**
 * Computes `C = op(A)·op(B) (+ C)` on the wasm path with a B packed by {@linkcode packWasmB}:
 * the same blocks, kernel calls and so bits as {@linkcode runWasmGemm} in its untransposed
 * orientation, without copying and packing B again. Requires m ≥ 1, `a.length ≥ m·k`,
 * `c.length ≥ m·n` and an unreleased operand.
 *
 * @returns False, having done nothing, when the memory cannot grow enough.
 */
export function runWasmGemmPacked(
  a: Float32Array,
  packed: WasmPackedB,
  c: Float32Array,
  m: number,
  transposeA: boolean,
  accumulate: boolean,
): boolean {
  const w = wasmGemm()!;
  const { k, n, region } = packed;
  const at = layout(m, n, k, w.top, true);
  if (!w.reserve(at.end)) return false;
  w.heap.set(a.subarray(0, m * k), at.aRaw / F32);
  stageC(w, at, c, m, n, accumulate, false);
  const aRow = transposeA ? F32 : F32 * k, aDepth = transposeA ? F32 * m : F32;
  blocks(w, at, m, n, k, aRow, aDepth, region!.offset, 0, 0, accumulate);
  unstageC(w, at, c, m, n, false);
  return true;
}

/**
 * `out[j] = Σ_i x[i, j]` for x `[m, n]`, summed from +0 in row order with every sum rounded to
 * float32 (the bits of the TypeScript loop `out[j] += x[i·n + j]` over float32 arrays), on the
 * wasm path. Requires {@linkcode wasmGemmAvailable} and arrays at least that long.
 *
 * @returns False, having done nothing, when the memory cannot grow enough.
 */
export function runWasmSumRows(x: Float32Array, out: Float32Array, m: number, n: number): boolean {
  const w = wasmGemm()!;
  const src = w.top, dst = src + roundUp(F32 * m * n, 16);
  if (!w.reserve(dst + F32 * n)) return false;
  w.heap.set(x.subarray(0, m * n), src / F32);
  w.heap.fill(0, dst / F32, dst / F32 + n);
  w.fn.sumRows(src, dst, m, n);
  out.set(w.heap.subarray(dst / F32, dst / F32 + n));
  return true;
}

// ---------------------------------------------------------------------------------------------
// For kernels of other modules that work in this module's memory (`lstm_wasm.ts`): they keep a
// whole sequence's operands there and multiply them in place by a packed operand.

/** The module's memory, or null where WebAssembly SIMD is unavailable. */
export function wasmGemmMemory(): WebAssembly.Memory | null {
  return wasmGemm()?.memory ?? null;
}

/**
 * Makes `bytes` of scratch space available past the pinned operands and returns where it starts
 * (64-byte aligned), or -1 when the memory cannot grow that far. The space is the caller's until
 * its next call of any wasm gemm function other than {@linkcode multiplyPackedAt}.
 */
export function wasmGemmScratch(bytes: number): number {
  const w = wasmGemm()!;
  return w.reserve(w.top + bytes) ? w.top : -1;
}

/** The current view of the module's memory (a new one after the memory grows). */
export function wasmGemmHeap(): Float32Array {
  return wasmGemm()!.heap;
}

/**
 * `C = A·op(B)` (or `+ C` when accumulating) inside the module's memory, with the blocks and
 * kernel calls of {@linkcode runWasmGemmPacked}: A `[m, k]` row-major at byte `aAt`, C at byte
 * `cAt` with rows `ldc` floats apart, ldc at least op(B)'s columns rounded up to NR; C must have
 * room for m rounded up to MR rows (the padding rows get the products of zero rows, or their old
 * values plus those). `packAAt` is scratch space for MC·KC floats.
 */
export function multiplyPackedAt(
  packed: WasmPackedB,
  aAt: number,
  m: number,
  cAt: number,
  ldc: number,
  accumulate: boolean,
  packAAt: number,
): void {
  const { k, n, region } = packed;
  const at = { np: ldc, packA: packAAt, packB: 0, aRaw: aAt, bRaw: 0, cPad: cAt };
  blocks(wasmGemm()!, at, m, n, k, F32 * k, F32, region!.offset, 0, 0, accumulate);
}

/** Bytes of scratch space {@linkcode multiplyPackedAt} needs at `packAAt`. */
export const PACK_A_BYTES: number = F32 * MC * KC;

/**
 * {@linkcode runWasmGemm} (without bias) with either operand possibly already in the memory: a
 * byte offset where it is stored as it would be given. The scratch space starts at `base`
 * (64-byte aligned, past everything the caller keeps there), and the memory may grow: fetch
 * {@linkcode wasmGemmHeap} again afterwards.
 *
 * @returns False, having done nothing, when the memory cannot grow enough.
 */
export function runWasmGemmAt(
  a: Float32Array | number,
  b: Float32Array | number,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
  base: number,
): boolean {
  return transposes(m, n)
    ? product(b, a, c, n, m, k, !transposeB, !transposeA, false, true, undefined, false, base)
    : product(a, b, c, m, n, k, transposeA, transposeB, false, false, undefined, false, base);
}

/**
 * {@linkcode runWasmSumRows} of a matrix already in the memory at byte `src`, the scratch space
 * starting at `base` (see {@linkcode runWasmGemmAt}).
 *
 * @returns False, having done nothing, when the memory cannot grow enough.
 */
export function runWasmSumRowsAt(
  src: number,
  out: Float32Array,
  m: number,
  n: number,
  base: number,
): boolean {
  const w = wasmGemm()!;
  if (!w.reserve(base + F32 * n)) return false;
  w.heap.fill(0, base / F32, base / F32 + n);
  w.fn.sumRows(src, base, m, n);
  out.set(w.heap.subarray(base / F32, base / F32 + n));
  return true;
}
