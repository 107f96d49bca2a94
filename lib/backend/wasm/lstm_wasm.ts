/**
 * The recurrent halves of the CPU backend's LSTM on the WebAssembly path, the whole sequence kept
 * in the gemm module's memory (`gemm_wasm.ts`) so that no step copies anything in or out:
 *
 * - forward, for t = 0 … T−1: the masked h_{t−1} and c_{t−1}, `z_t += h_{t−1}·U` (the gemm
 *   kernel on U packed once) and the fused cell of the activation module (`activation_wasm.ts`,
 *   a second instance of it on this memory: the same code, so the same bits);
 * - backward, for t = T−1 … 0: the gate gradients of step t (a small module of its own on this
 *   memory), `dh = dG_t · Uᵀ` (Uᵀ packed once) and the mask.
 *
 * Same bits as the TypeScript loops in `../cpu.ts`. The backward's gate math runs in double
 * precision on `f64x2` lanes, every operation the TypeScript expression performs in the same
 * order (a float32 value promotes to double exactly; a double demotes to float32 rounded to
 * nearest, as a store into a Float32Array rounds), and WebAssembly's double arithmetic is IEEE
 * without fused multiply-adds, like JavaScript's. Masks multiply in TypeScript on the memory's
 * float32 view, as the loops do.
 *
 * @module
 */

import { activationModuleBytes } from "./activation_wasm.ts";
import { assembleModule, FunctionBody, type FunctionDef, type Local } from "./emitter.ts";
import {
  MR,
  multiplyPackedAt,
  NR,
  PACK_A_BYTES,
  packWasmB,
  releaseWasmB,
  runWasmGemmAt,
  runWasmSumRowsAt,
  wasmGemmAvailable,
  wasmGemmHeap,
  wasmGemmMemory,
  wasmGemmScratch,
} from "./gemm_wasm.ts";

const F32 = 4;

/**
 * `lstmGatesBackward(gates, cPrev, cTanh, dH, dhNext, dcNext, dGates, batch, hidden, dhStride)`,
 * byte pointers, `hidden` even: one step of `lstmGatesBackward` in `../cpu.ts`, two elements at
 * a time. `gates` and `dGates` are `[batch, 4·hidden]` (i, f, g, o), `cPrev`, `cTanh`, `dH` and
 * `dcNext` `[batch, hidden]`, `dhNext` `[batch, hidden]` with rows `dhStride` floats apart. For
 * every element, in double precision:
 *
 *     dh = dH + dhNext
 *     dc = dcNext + dh·o·(1 − ct·ct)
 *     dG_i = dc·g·i·(1 − i), dG_f = dc·cPrev·f·(1 − f), dG_g = dc·i·(1 − g·g),
 *     dG_o = dh·ct·o·(1 − o), dcNext = dc·f
 *
 * (products left to right), each result stored as float32.
 */
function gatesBackwardFunction(): FunctionDef {
  const params = ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [gates, cPrev, cTanh, dH, dhNext, dcNext, dGates, batch, hidden, dhStride] = f.params;
  const b = f.local("i32"), pair = f.local("i32"), pairs = f.local("i32"), gate = f.local("i32");
  const pz = f.local("i32"), pd = f.local("i32"), s = f.local("i32"), ph = f.local("i32");
  const v = () => f.local("v128");
  const one = v(), gi = v(), gf = v(), gg = v(), go = v(), ct = v(), dh = v(), dc = v();
  f.v128ConstF64([1, 1]).set(one);
  f.get(hidden).i32Const(1).i32ShrU().set(pairs);
  f.get(hidden).i32Const(2).i32Shl().set(gate); // bytes from one gate's block to the next
  f.i32Const(0).set(s);
  f.get(gates).set(pz);
  f.get(dGates).set(pd);
  f.get(dhNext).set(ph);
  /** Pushes the two floats at `base + s` (or at `base + k·gate`) as two doubles. */
  const load = (base: Local, k = -1) => {
    f.get(base);
    if (k < 0) f.get(s).i32Add();
    else if (k > 0) f.get(gate).i32Const(k).i32Mul().i32Add();
    f.v128Load64Zero().f64x2PromoteLowF32x4();
  };
  /** The address `base + s` (or `base + k·gate`) for a store. */
  const address = (base: Local, k = -1) => {
    f.get(base);
    if (k < 0) f.get(s).i32Add();
    else if (k > 0) f.get(gate).i32Const(k).i32Mul().i32Add();
  };
  const oneMinus = (x: Local) => f.get(one).get(x).f64x2Sub();
  const store = () => f.f32x4DemoteF64x2Zero().v128Store64Lane(0, 0);
  f.forRange(b, batch, () => {
    f.forRange(pair, pairs, () => {
      load(pz, 0);
      f.set(gi);
      load(pz, 1);
      f.set(gf);
      load(pz, 2);
      f.set(gg);
      load(pz, 3);
      f.set(go);
      load(cTanh);
      f.set(ct);
      // dh = dH + dhNext
      load(dH);
      f.get(ph).v128Load64Zero().f64x2PromoteLowF32x4().f64x2Add().set(dh);
      // dc = dcNext + dh·o·(1 − ct·ct)
      load(dcNext);
      f.get(dh).get(go).f64x2Mul();
      f.get(one).get(ct).get(ct).f64x2Mul().f64x2Sub().f64x2Mul().f64x2Add().set(dc);
      // dG_i = dc·g·i·(1 − i)
      address(pd, 0);
      f.get(dc).get(gg).f64x2Mul().get(gi).f64x2Mul();
      oneMinus(gi);
      f.f64x2Mul();
      store();
      // dG_f = dc·cPrev·f·(1 − f)
      address(pd, 1);
      f.get(dc);
      load(cPrev);
      f.f64x2Mul().get(gf).f64x2Mul();
      oneMinus(gf);
      f.f64x2Mul();
      store();
      // dG_g = dc·i·(1 − g·g)
      address(pd, 2);
      f.get(dc).get(gi).f64x2Mul();
      f.get(one).get(gg).get(gg).f64x2Mul().f64x2Sub().f64x2Mul();
      store();
      // dG_o = dh·ct·o·(1 − o)
      address(pd, 3);
      f.get(dh).get(ct).f64x2Mul().get(go).f64x2Mul();
      oneMinus(go);
      f.f64x2Mul();
      store();
      // dcNext = dc·f
      address(dcNext);
      f.get(dc).get(gf).f64x2Mul();
      store();
      f.addTo(pz, 8).addTo(pd, 8).addTo(s, 8).addTo(ph, 8);
    });
    // Past the f, g and o blocks of this row; dhNext to its next row.
    f.get(pz).get(gate).i32Const(3).i32Mul().i32Add().set(pz);
    f.get(pd).get(gate).i32Const(3).i32Mul().i32Add().set(pd);
    f.get(ph).get(dhStride).i32Const(2).i32Shl().i32Add().get(gate).i32Sub().set(ph);
  });
  return { name: "lstmGatesBackward", body: f, params };
}

/** The bytes of the LSTM module (generated, never stored). */
export function lstmModuleBytes(): Uint8Array<ArrayBuffer> {
  return assembleModule([gatesBackwardFunction()]);
}

interface LstmExports {
  lstmGatesBackward(
    gates: number,
    cPrev: number,
    cTanh: number,
    dH: number,
    dhNext: number,
    dcNext: number,
    dGates: number,
    batch: number,
    hidden: number,
    dhStride: number,
  ): void;
}

interface CellExports {
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

let instance: LstmExports | null | undefined;
let cellInstance: CellExports | null | undefined;

/** Instantiates a module on the gemm module's memory; null where that cannot run. */
function onGemmMemory<T>(bytes: () => Uint8Array<ArrayBuffer>): T | null {
  const memory = wasmGemmAvailable() ? wasmGemmMemory() : null;
  if (!memory) return null;
  try {
    const module = new WebAssembly.Module(bytes());
    return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as T;
  } catch {
    return null;
  }
}

/** The module above, on the gemm module's memory; null where that cannot run. */
function lstmWasm(): LstmExports | null {
  if (instance === undefined) instance = onGemmMemory<LstmExports>(lstmModuleBytes);
  return instance;
}

/** The activation module, on the gemm module's memory; null where that cannot run. */
function cellWasm(): CellExports | null {
  if (cellInstance === undefined) cellInstance = onGemmMemory<CellExports>(activationModuleBytes);
  return cellInstance;
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/**
 * The operands and results of the weight gradients of `lstmBackward` in `../cpu.ts`, computed by
 * {@linkcode runWasmLstmBackward} from the gate gradients where they lie: `dw = xᵀ·dG`,
 * `du = hPrevᵀ·dG`, `db = Σ_rows dG` and `dx = dG·wᵀ`.
 */
export interface LstmWeightGradients {
  /** The input `[steps·batch, inputs]`. */
  x: Float32Array;
  /** The masked previous hidden states `[steps·batch, hidden]`. */
  hPrev: Float32Array;
  /** The input weights `[inputs, 4·hidden]`. */
  w: Float32Array;
  /** The input size. */
  inputs: number;
  /** Out: `[inputs, 4·hidden]`. */
  dw: Float32Array;
  /** Out: `[hidden, 4·hidden]`. */
  du: Float32Array;
  /** Out: `[4·hidden]`. */
  db: Float32Array;
  /** Out: `[steps·batch, inputs]`. */
  dx: Float32Array;
}

/**
 * Back-propagates an LSTM's recurrence through all steps: what `lstmBackward` in `../cpu.ts`
 * does before its weight gradients, with the same bits. On entry `dhNext` and `dcNext`
 * `[batch, hidden]` hold the gradients flowing into h and c after the last step; on exit, those
 * into the masked h₀ and c₀. Then, given `grads`, the weight gradients are computed from the
 * gate gradients in the memory (the products and sums `lstmBackward` runs, so the same bits);
 * otherwise, or should the memory not grow for them, `dGates` `[steps, batch, 4·hidden]` receives
 * the gate gradients for the caller to compute them.
 *
 * @returns "all" when the weight gradients are done too, "dGates" when `dGates` was written
 *   instead, false (having changed nothing) where WebAssembly cannot run, `hidden` is odd, or the
 *   memory cannot grow enough.
 */
export function runWasmLstmBackward(
  u: Float32Array,
  gates: Float32Array,
  cPrev: Float32Array,
  cTanh: Float32Array,
  dH: Float32Array,
  mask: Float32Array | undefined,
  dhNext: Float32Array,
  dcNext: Float32Array,
  dGates: Float32Array,
  steps: number,
  batch: number,
  hidden: number,
  grads?: LstmWeightGradients,
): "all" | "dGates" | false {
  if (hidden % 2 !== 0 || steps === 0 || batch === 0 || hidden === 0) return false;
  const fn = lstmWasm();
  if (fn === null) return false;
  const g4 = 4 * hidden, bh = batch * hidden, bg = batch * g4;
  const packed = packWasmB(u, g4, hidden, true); // Uᵀ: [4H, H]
  if (packed === null) return false;
  try {
    // dhNext is the C of every step's product: rows of np floats, mp of them.
    const np = roundUp(hidden, NR), mp = roundUp(batch, MR);
    const bytes = (floats: number) => roundUp(F32 * floats, 16);
    const packA = 0;
    const gatesAt = packA + PACK_A_BYTES;
    const cPrevAt = gatesAt + bytes(steps * bg);
    const cTanhAt = cPrevAt + bytes(steps * bh);
    const dHAt = cTanhAt + bytes(steps * bh);
    const dGatesAt = dHAt + bytes(steps * bh);
    const dhAt = dGatesAt + bytes(steps * bg);
    const dcAt = dhAt + bytes(mp * np);
    const end = dcAt + bytes(bh);
    const base = wasmGemmScratch(end);
    if (base < 0) return false;
    const heap = wasmGemmHeap(), at = (offset: number) => (base + offset) / F32;
    heap.set(gates.subarray(0, steps * bg), at(gatesAt));
    heap.set(cPrev.subarray(0, steps * bh), at(cPrevAt));
    heap.set(cTanh.subarray(0, steps * bh), at(cTanhAt));
    heap.set(dH.subarray(0, steps * bh), at(dHAt));
    for (let b = 0; b < batch; b++) {
      heap.set(dhNext.subarray(b * hidden, (b + 1) * hidden), at(dhAt) + b * np);
    }
    heap.set(dcNext.subarray(0, bh), at(dcAt));
    for (let t = steps - 1; t >= 0; t--) {
      const dg = base + dGatesAt + F32 * t * bg;
      fn.lstmGatesBackward(
        base + gatesAt + F32 * t * bg,
        base + cPrevAt + F32 * t * bh,
        base + cTanhAt + F32 * t * bh,
        base + dHAt + F32 * t * bh,
        base + dhAt,
        base + dcAt,
        dg,
        batch,
        hidden,
        np,
      );
      // dcNext now holds dL/d(masked c_{t−1}); the gradient into the recurrent matmul's input:
      multiplyPackedAt(packed, dg, batch, base + dhAt, np, false, base + packA);
      if (mask) {
        for (let b = 0; b < batch; b++) {
          const keep = mask[t * batch + b];
          if (keep === 1) continue;
          for (let j = 0, h = at(dhAt) + b * np, c = at(dcAt) + b * hidden; j < hidden; j++) {
            heap[h + j] *= keep;
            heap[c + j] *= keep;
          }
        }
      }
    }
    for (let b = 0; b < batch; b++) {
      dhNext.set(heap.subarray(at(dhAt) + b * np, at(dhAt) + b * np + hidden), b * hidden);
    }
    dcNext.set(heap.subarray(at(dcAt), at(dcAt) + bh));
    // The weight gradients, with dG where it is: the products may grow the memory.
    const dG = base + dGatesAt, rows = steps * batch, more = roundUp(base + end, 64);
    if (
      grads && grads.inputs > 0 &&
      runWasmGemmAt(grads.x, dG, grads.dw, grads.inputs, g4, rows, true, false, more) &&
      runWasmGemmAt(grads.hPrev, dG, grads.du, hidden, g4, rows, true, false, more) &&
      runWasmSumRowsAt(dG, grads.db, rows, g4, more) &&
      runWasmGemmAt(dG, grads.w, grads.dx, rows, grads.inputs, g4, false, true, more)
    ) return "all";
    dGates.set(wasmGemmHeap().subarray(at(dGatesAt), at(dGatesAt) + steps * bg));
    return "dGates";
  } finally {
    releaseWasmB(packed);
  }
}

/**
 * Runs an LSTM's recurrence over all steps: the loop of `lstmForward` in `../cpu.ts`, with the
 * same bits. `z` `[steps, batch, 4·hidden]` holds every step's input projection plus bias on
 * entry and the activated gates on exit; `hPrev`, `cPrev`, `cTanh` and `h` `[steps, batch,
 * hidden]` are written, and `cell` `[batch, hidden]` (c₀ on entry) holds the last cell state.
 * Requires `hidden` a multiple of 4 (the cell's vectors) and `batch` of MR (so that the kernel's
 * tiles of z_t end at its last row).
 *
 * @returns False, having changed nothing, where WebAssembly cannot run, the sizes do not fit,
 *   or the memory cannot grow enough.
 */
export function runWasmLstmForward(
  u: Float32Array,
  z: Float32Array,
  h0: Float32Array,
  mask: Float32Array | undefined,
  hPrev: Float32Array,
  cPrev: Float32Array,
  cTanh: Float32Array,
  h: Float32Array,
  cell: Float32Array,
  steps: number,
  batch: number,
  hidden: number,
): boolean {
  if (hidden % 4 !== 0 || batch % MR !== 0 || steps === 0 || batch === 0 || hidden === 0) {
    return false;
  }
  const fn = cellWasm();
  if (fn === null) return false;
  const g4 = 4 * hidden, bh = batch * hidden, bg = batch * g4;
  const packed = packWasmB(u, hidden, g4, false); // U: [H, 4H]
  if (packed === null) return false;
  try {
    const bytes = (floats: number) => roundUp(F32 * floats, 16);
    const packA = 0;
    const zAt = packA + PACK_A_BYTES;
    const hPrevAt = zAt + bytes(steps * bg);
    const cPrevAt = hPrevAt + bytes(steps * bh);
    const cTanhAt = cPrevAt + bytes(steps * bh);
    const hAt = cTanhAt + bytes(steps * bh);
    const cellAt = hAt + bytes(steps * bh);
    const end = cellAt + bytes(bh);
    const base = wasmGemmScratch(end);
    if (base < 0) return false;
    const heap = wasmGemmHeap(), at = (offset: number) => (base + offset) / F32;
    heap.set(z.subarray(0, steps * bg), at(zAt));
    heap.set(h0.subarray(0, bh), at(hPrevAt));
    heap.set(cell.subarray(0, bh), at(cellAt));
    for (let t = 0; t < steps; t++) {
      const hp = at(hPrevAt) + t * bh, cp = at(cPrevAt) + t * bh;
      if (t > 0) heap.copyWithin(hp, at(hAt) + (t - 1) * bh, at(hAt) + t * bh);
      heap.copyWithin(cp, at(cellAt), at(cellAt) + bh);
      if (mask) {
        for (let b = 0; b < batch; b++) {
          const keep = mask[t * batch + b];
          if (keep === 1) continue;
          for (let j = b * hidden; j < (b + 1) * hidden; j++) {
            heap[hp + j] *= keep;
            heap[cp + j] *= keep;
          }
        }
      }
      const zt = base + zAt + F32 * t * bg;
      multiplyPackedAt(packed, F32 * hp, batch, zt, g4, true, base + packA);
      fn.lstmCell(
        zt,
        F32 * cp,
        base + cellAt,
        base + cTanhAt + F32 * t * bh,
        base + hAt + F32 * t * bh,
        batch,
        hidden,
      );
    }
    z.set(heap.subarray(at(zAt), at(zAt) + steps * bg));
    hPrev.set(heap.subarray(at(hPrevAt), at(hPrevAt) + steps * bh));
    cPrev.set(heap.subarray(at(cPrevAt), at(cPrevAt) + steps * bh));
    cTanh.set(heap.subarray(at(cTanhAt), at(cTanhAt) + steps * bh));
    h.set(heap.subarray(at(hAt), at(hAt) + steps * bh));
    cell.set(heap.subarray(at(cellAt), at(cellAt) + bh));
    return true;
  } finally {
    releaseWasmB(packed);
  }
}
