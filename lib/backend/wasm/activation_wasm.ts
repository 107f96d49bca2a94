/**
 * The WebAssembly SIMD path of the CPU backend's float32 activations: `exp`, `sigmoid` and `tanh`
 * on `f32x4` lanes, and the fused LSTM cell step. The module is assembled at first use by
 * {@linkcode assembleModule} from the TypeScript below; operands are copied into its linear
 * memory (TypedArray.set), transformed there and copied back.
 *
 * Every kernel runs the algorithm of `../f32_math.ts` step for step: the same float32 operations
 * in the same order, with the same constants (`f32x4.nearest` rounds ties to even like
 * `roundHalfEven`; 2^k is built from its exponent bits, exact like the table there; both branches
 * of tanh are computed and one is picked per lane with `v128.bitselect`). WebAssembly arithmetic
 * is IEEE single precision without fused multiply-adds, so each lane gives the bits of
 * `expF32`/`sigmoidF32`/`tanhF32` (NaN in, NaN out; a NaN's payload bits may differ).
 *
 * @module
 */

import {
  EXP_MAX_F32,
  EXP_MIN_F32,
  EXP_P_F32,
  LN2_HI_F32,
  LN2_LO_F32,
  LOG2E_F32,
  TANH_Q_F32,
  TANH_SMALL_F32,
} from "../f32_math.ts";
import { assembleModule, FunctionBody, type FunctionDef, type Local } from "./emitter.ts";

const F32 = 4;
const SIGN = 0x80000000 | 0;
const MAGNITUDE = 0x7fffffff;

/** Locals that the emitted math borrows, and the constants it reads; one set per function. */
interface Temps {
  xc: Local;
  kf: Local;
  r: Local;
  z: Local;
  neg: Local;
  a: Local;
  small: Local;
  twice: Local;
  /** Splatted constants by their 32-bit pattern, set once before any loop. */
  consts: Map<number, Local>;
}

const f32Bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

/** The lane patterns of every constant the kernels use (f32 values as their bits). */
const CONSTANTS: readonly number[] = [
  ...[EXP_MIN_F32, EXP_MAX_F32, LOG2E_F32, LN2_HI_F32, LN2_LO_F32, 1, 2, TANH_SMALL_F32].map(
    f32Bits,
  ),
  ...EXP_P_F32.map(f32Bits),
  ...TANH_Q_F32.map(f32Bits),
  127,
  SIGN >>> 0,
  MAGNITUDE,
];

/**
 * Declares the temporaries and emits the constants into locals. Call it before the function's
 * loops: V8 rebuilds a `v128.const` from immediates wherever it appears, while a local costs at
 * most a reload from the stack.
 */
function temps(f: FunctionBody): Temps {
  const v = () => f.local("v128");
  const consts = new Map<number, Local>();
  for (const pattern of CONSTANTS) {
    if (consts.has(pattern)) continue;
    const l = v();
    f.i32x4Const(pattern).set(l);
    consts.set(pattern, l);
  }
  return { xc: v(), kf: v(), r: v(), z: v(), neg: v(), a: v(), small: v(), twice: v(), consts };
}

/** Pushes the f32 constant `value` in all lanes. */
function k(f: FunctionBody, t: Temps, value: number): void {
  f.get(t.consts.get(f32Bits(value))!);
}

/** Pushes the i32 constant `value` in all lanes. */
function ki(f: FunctionBody, t: Temps, value: number): void {
  f.get(t.consts.get(value >>> 0)!);
}

/** Pushes e^x for the four lanes of local `x` (see `expF32`). Clobbers xc, kf, r, z. */
function emitExp(f: FunctionBody, x: Local, t: Temps): void {
  // xc = min(max(x, −87), 88): NaN stays NaN.
  f.get(x);
  k(f, t, EXP_MIN_F32);
  f.f32x4Max();
  k(f, t, EXP_MAX_F32);
  f.f32x4Min().set(t.xc);
  // kf = nearest(xc · log2 e)
  f.get(t.xc);
  k(f, t, LOG2E_F32);
  f.f32x4Mul().f32x4Nearest().set(t.kf);
  // r = (xc − kf·C1) − kf·C2
  f.get(t.xc).get(t.kf);
  k(f, t, LN2_HI_F32);
  f.f32x4Mul().f32x4Sub().get(t.kf);
  k(f, t, LN2_LO_F32);
  f.f32x4Mul().f32x4Sub().set(t.r);
  f.get(t.r).get(t.r).f32x4Mul().set(t.z);
  // p = ((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5, then p·z + r + 1
  k(f, t, EXP_P_F32[0]);
  f.get(t.r).f32x4Mul();
  k(f, t, EXP_P_F32[1]);
  f.f32x4Add();
  for (let i = 2; i < EXP_P_F32.length; i++) {
    f.get(t.r).f32x4Mul();
    k(f, t, EXP_P_F32[i]);
    f.f32x4Add();
  }
  f.get(t.z).f32x4Mul().get(t.r).f32x4Add();
  k(f, t, 1);
  f.f32x4Add();
  // · 2^k, k = kf as an integer in [−126, 127]: the float with biased exponent k + 127.
  f.get(t.kf).i32x4TruncSatF32x4S();
  ki(f, t, 127);
  f.i32x4Add().i32Const(23).i32x4Shl();
  f.f32x4Mul();
}

/** Pushes σ(x) = 1 / (1 + e^−x) for the lanes of local `x` (see `sigmoidF32`). */
function emitSigmoid(f: FunctionBody, x: Local, t: Temps): void {
  f.get(x);
  ki(f, t, SIGN);
  f.v128Xor().set(t.neg);
  k(f, t, 1);
  k(f, t, 1);
  emitExp(f, t.neg, t);
  f.f32x4Add().f32x4Div();
}

/** Pushes tanh(x) for the lanes of local `x` (see `tanhF32`). */
function emitTanh(f: FunctionBody, x: Local, t: Temps): void {
  f.get(x).f32x4Abs().set(t.a);
  // |x| < 0.625: a + (z·Q(z))·a with z = a².
  f.get(t.a).get(t.a).f32x4Mul().set(t.z);
  k(f, t, TANH_Q_F32[0]);
  f.get(t.z).f32x4Mul();
  k(f, t, TANH_Q_F32[1]);
  f.f32x4Add();
  for (let i = 2; i < TANH_Q_F32.length; i++) {
    f.get(t.z).f32x4Mul();
    k(f, t, TANH_Q_F32[i]);
    f.f32x4Add();
  }
  f.get(t.z).f32x4Mul().get(t.a).f32x4Mul().get(t.a).f32x4Add().set(t.small);
  // Else 1 − 2 / (e^{2a} + 1). (emitExp reuses z: the small branch is done with it.)
  f.get(t.a);
  k(f, t, 2);
  f.f32x4Mul().set(t.twice);
  f.get(t.small);
  k(f, t, 1);
  k(f, t, 2);
  emitExp(f, t.twice, t);
  k(f, t, 1);
  f.f32x4Add().f32x4Div().f32x4Sub();
  // Per lane: small where a < 0.625 (false for NaN), else large.
  f.get(t.a);
  k(f, t, TANH_SMALL_F32);
  f.f32x4Lt().v128Bitselect();
  // The sign of x on the magnitude.
  ki(f, t, MAGNITUDE);
  f.v128And().get(x);
  ki(f, t, SIGN);
  f.v128And().v128Or();
}

type Emit = (f: FunctionBody, x: Local, t: Temps) => void;

/**
 * `name(ptr, n)`: applies `emit` in place to the floats at byte `ptr`, four at a time over
 * ceil(n / 4) vectors: up to three floats past n are read and overwritten, so the caller leaves
 * room there.
 */
function mapFunction(name: string, emit: Emit): FunctionDef {
  const params = ["i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [ptr, n] = f.params;
  const count = f.local("i32"), i = f.local("i32"), x = f.local("v128");
  const t = temps(f);
  f.get(n).i32Const(3).i32Add().i32Const(2).i32ShrU().set(count);
  f.forRange(i, count, () => {
    f.get(ptr).v128Load().set(x);
    f.get(ptr);
    emit(f, x, t);
    f.v128Store();
    f.addTo(ptr, 16);
  });
  return { name, body: f, params };
}

/**
 * `nameRows(ptr, rows, width, stride)`: applies `emit` in place to `rows` rows of `width ≥ 4`
 * floats, row r starting `r·stride` floats after byte `ptr`, touching nothing else. When width
 * is not a multiple of 4, the row's last four floats are transformed from their original values
 * before the full vectors are, and stored after them, so the overlap gets the same value twice.
 */
function rowsFunction(name: string, emit: Emit): FunctionDef {
  const params = ["i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [ptr, rows, width, stride] = f.params;
  const row = f.local("i32"), vecs = f.local("i32"), i = f.local("i32"), p = f.local("i32");
  const rem = f.local("i32"), last = f.local("i32");
  const x = f.local("v128"), tail = f.local("v128");
  const t = temps(f);
  f.get(width).i32Const(2).i32ShrU().set(vecs);
  f.get(width).i32Const(3).i32And().set(rem);
  f.forRange(row, rows, () => {
    // last = ptr + (width − 4)·4: the row's final four floats.
    f.get(ptr).get(width).i32Const(4).i32Sub().i32Const(2).i32Shl().i32Add().set(last);
    f.get(rem).if(() => {
      f.get(last).v128Load().set(x);
      emit(f, x, t);
      f.set(tail);
    });
    f.get(ptr).set(p);
    f.forRange(i, vecs, () => {
      f.get(p).v128Load().set(x);
      f.get(p);
      emit(f, x, t);
      f.v128Store();
      f.addTo(p, 16);
    });
    f.get(rem).if(() => {
      f.get(last).get(tail).v128Store();
    });
    f.get(ptr).get(stride).i32Const(2).i32Shl().i32Add().set(ptr);
  });
  return { name, body: f, params };
}

/**
 * `lstmCell(z, cPrev, cell, cTanh, h, batch, hidden)`, byte pointers, `hidden` a multiple of 4:
 * the fused LSTM step of the CPU backend. `z` holds the gate pre-activations `[batch, 4·hidden]`
 * (gates i, f, g, o) and is overwritten with σ(i), σ(f), tanh(g), σ(o); then
 * `cell = f·cPrev + i·g` (each product and the sum rounded), `cTanh = tanh(cell)` and
 * `h = o·cTanh`, all `[batch, hidden]`.
 */
function lstmCellFunction(): FunctionDef {
  const params = ["i32", "i32", "i32", "i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [z, cPrev, cell, cTanh, h, batch, hidden] = f.params;
  const b = f.local("i32"), j = f.local("i32"), vecs = f.local("i32"), gate = f.local("i32");
  const s = f.local("i32"), pz = f.local("i32");
  const x = f.local("v128"), gi = f.local("v128"), gf = f.local("v128"), gg = f.local("v128");
  const go = f.local("v128"), c = f.local("v128"), ct = f.local("v128");
  const t = temps(f);
  const at = (base: Local) => f.get(base).get(s).i32Add();
  f.get(hidden).i32Const(2).i32ShrU().set(vecs);
  f.get(hidden).i32Const(2).i32Shl().set(gate); // bytes from one gate's block to the next
  f.i32Const(0).set(s);
  f.get(z).set(pz);
  f.forRange(b, batch, () => {
    f.forRange(j, vecs, () => {
      const activate = (k: number, out: Local, emit: Emit) => {
        // address pz + k·gate, loaded, activated, stored back and kept in `out`
        const addr = () => {
          f.get(pz);
          if (k > 0) f.get(gate).i32Const(k).i32Mul().i32Add();
        };
        addr();
        f.v128Load().set(x);
        emit(f, x, t);
        f.set(out);
        addr();
        f.get(out).v128Store();
      };
      activate(0, gi, emitSigmoid);
      activate(1, gf, emitSigmoid);
      activate(2, gg, emitTanh);
      activate(3, go, emitSigmoid);
      at(cPrev).v128Load().get(gf).f32x4Mul().get(gi).get(gg).f32x4Mul().f32x4Add().set(c);
      at(cell).get(c).v128Store();
      emitTanh(f, c, t);
      f.set(ct);
      at(cTanh).get(ct).v128Store();
      at(h).get(go).get(ct).f32x4Mul().v128Store();
      f.addTo(pz, 16).addTo(s, 16);
    });
    // Past the f, g and o blocks of this row.
    f.get(pz).get(gate).i32Const(3).i32Mul().i32Add().set(pz);
  });
  return { name: "lstmCell", body: f, params };
}

/** The bytes of the activation module (generated, never stored). */
export function activationModuleBytes(): Uint8Array<ArrayBuffer> {
  return assembleModule([
    mapFunction("exp", emitExp),
    mapFunction("sigmoid", emitSigmoid),
    mapFunction("tanh", emitTanh),
    rowsFunction("sigmoidRows", emitSigmoid),
    rowsFunction("tanhRows", emitTanh),
    lstmCellFunction(),
  ]);
}

interface ActivationExports {
  exp(ptr: number, n: number): void;
  sigmoid(ptr: number, n: number): void;
  tanh(ptr: number, n: number): void;
  sigmoidRows(ptr: number, rows: number, width: number, stride: number): void;
  tanhRows(ptr: number, rows: number, width: number, stride: number): void;
  lstmCell(
    z: number,
    cPrev: number,
    cell: number,
    cTanh: number,
    h: number,
    batch: number,
    hidden: number,
  ): void;
}

const PAGE = 65536;
/** Floats per call of the element-wise kernels: longer arrays go through in pieces this long. */
export const CHUNK = 16384;
/** The largest memory the wasm path will use, in bytes (beyond it, callers use the TS path). */
export const WASM_MAX_BYTES = 1 << 30;

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/**
 * The instantiated module, its memory, and cached views of the regions the wrappers copy back
 * from (a view is remade only when its place or length changes or the memory grows), so that a
 * call allocates nothing once the sizes settle.
 */
export class WasmActivations {
  readonly memory: WebAssembly.Memory;
  readonly fn: ActivationExports;
  heap: Float32Array;
  readonly #views: (Float32Array | undefined)[] = [];

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: 4 });
    const module = new WebAssembly.Module(activationModuleBytes());
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.fn = instance.exports as unknown as ActivationExports;
    this.heap = new Float32Array(this.memory.buffer);
  }

  /**
   * Makes the memory at least `bytes` long, refreshing the views after growth; false when it
   * cannot grow that far (or `bytes` is past {@linkcode WASM_MAX_BYTES}).
   */
  reserve(bytes: number): boolean {
    if (bytes > WASM_MAX_BYTES) return false;
    const have = this.memory.buffer.byteLength;
    if (bytes > have) {
      try {
        this.memory.grow(Math.ceil((bytes - have) / PAGE));
      } catch {
        return false;
      }
      this.heap = new Float32Array(this.memory.buffer);
      this.#views.length = 0;
    }
    return true;
  }

  /** `heap[start .. start + length)`, the view kept in `slot` when it still fits. */
  view(slot: number, start: number, length: number): Float32Array {
    const v = this.#views[slot];
    if (v !== undefined && v.byteOffset === start * F32 && v.length === length) return v;
    const made = this.heap.subarray(start, start + length);
    this.#views[slot] = made;
    return made;
  }

  /**
   * Applies `exp`, `sigmoid` or `tanh` to all of `x` in place, CHUNK floats per call.
   *
   * @returns False, having done nothing, when the memory cannot hold a chunk.
   */
  map(kind: "exp" | "sigmoid" | "tanh", x: Float32Array): boolean {
    const n = x.length;
    if (!this.reserve(F32 * roundUp(Math.min(n, CHUNK), 4))) return false;
    const kernel = this.fn[kind];
    if (n <= CHUNK) {
      this.heap.set(x);
      kernel(0, n);
      x.set(this.view(0, 0, n));
      return true;
    }
    for (let start = 0; start < n; start += CHUNK) {
      const part = x.subarray(start, Math.min(n, start + CHUNK));
      this.heap.set(part);
      kernel(0, part.length);
      part.set(this.heap.subarray(0, part.length));
    }
    return true;
  }

  /**
   * Applies `sigmoid` or `tanh` in place to `rows` rows of `width ≥ 4` floats of `x`, row r
   * starting at `offset + r·stride`; the rest of `x` is left as it is.
   *
   * @returns False, having done nothing, when the memory cannot hold `x`.
   */
  rows(
    kind: "sigmoid" | "tanh",
    x: Float32Array,
    offset: number,
    rows: number,
    width: number,
    stride: number,
  ): boolean {
    const n = x.length;
    if (!this.reserve(F32 * n)) return false;
    this.heap.set(x);
    (kind === "sigmoid" ? this.fn.sigmoidRows : this.fn.tanhRows)(
      F32 * offset,
      rows,
      width,
      stride,
    );
    x.set(this.view(1, 0, n));
    return true;
  }

  /**
   * The fused LSTM step (see `lstmCell` above) on typed arrays of exactly these lengths: `z`
   * `[batch, 4·hidden]` and `cPrev` `[batch, hidden]` in, `z`, `cell`, `cTanh` and `h`
   * `[batch, hidden]` out; `hidden` a multiple of 4.
   *
   * @returns False, having done nothing, when the memory cannot hold the operands.
   */
  lstmCell(
    z: Float32Array,
    cPrev: Float32Array,
    cell: Float32Array,
    cTanh: Float32Array,
    h: Float32Array,
    batch: number,
    hidden: number,
  ): boolean {
    const bh = batch * hidden;
    const zAt = 0, cpAt = 4 * bh, cellAt = 5 * bh, ctAt = 6 * bh, hAt = 7 * bh;
    if (!this.reserve(F32 * 8 * bh)) return false;
    const heap = this.heap;
    heap.set(z, zAt);
    heap.set(cPrev, cpAt);
    this.fn.lstmCell(
      F32 * zAt,
      F32 * cpAt,
      F32 * cellAt,
      F32 * ctAt,
      F32 * hAt,
      batch,
      hidden,
    );
    z.set(this.view(2, zAt, 4 * bh));
    cell.set(this.view(3, cellAt, bh));
    cTanh.set(this.view(4, ctAt, bh));
    h.set(this.view(5, hAt, bh));
    return true;
  }
}

let instance: WasmActivations | null | undefined;

/** The module instance, or null where WebAssembly SIMD is unavailable (compiled on first call). */
export function wasmActivations(): WasmActivations | null {
  if (instance === undefined) {
    try {
      instance = new WasmActivations();
    } catch {
      instance = null;
    }
  }
  return instance;
}
