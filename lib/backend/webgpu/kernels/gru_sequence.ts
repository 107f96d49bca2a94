/**
 * Sequence-long ("persistent") GRU kernels, `linear_before_reset` form: each workgroup carries a
 * few rows of the batch through all T steps in ONE dispatch, as lstm_sequence.ts does for the
 * LSTM (the same layout: rows in workgroup memory, double-buffered, one barrier per step, 64
 * invocations each owning hidden units j, j+64, … with all three gates of each).
 *
 * They write exactly what the per-step kernels of gru.ts write (activated gates, h, the caches
 * `hPrev` and `reset`, dG and the state buffer), so the matmuls around them are shared. The form
 * without `linear_before_reset` needs every unit's r before any candidate (two dispatches a step)
 * and keeps the per-step kernels.
 *
 * @module
 */

import { type Kernel, makeKernel, WGSL_MATH } from "./kernel.ts";
import {
  eachRow,
  gateGradientSums,
  loadHiddenRows,
  SEQUENCE_THREADS,
  sequenceRows,
  SHARED_FLOATS,
} from "./lstm_sequence.ts";

/** Rows per workgroup of the GRU's sequence kernels in both directions (0: they do not fit). */
export function gruSequenceRows(hidden: number): { forward: number; backward: number } {
  return {
    forward: sequenceRows(hidden, "forward"),
    backward: sequenceRows(hidden, "backward", 3),
  };
}

/** Template parameters of the GRU sequence kernels. */
export interface GruSequenceVariant {
  /** Batch rows per workgroup (1, 2 or 4). */
  rows: number;
  /** Forward only: the cache for backward is stored. */
  cache: boolean;
}

/** The cache key of the forward sequence kernel. */
export function gruSequenceForwardKey(v: GruSequenceVariant): string {
  return `gru_sequence_forward_r${v.rows}_c${+v.cache}`;
}

/** The cache key of the backward sequence kernel. */
export function gruSequenceBackwardKey(v: GruSequenceVariant): string {
  return `gru_sequence_backward_r${v.rows}`;
}

/**
 * The forward pass over all T steps: `gates` holds `X·W + bw` on entry and the activated gates
 * (z, r, the candidate) on exit. `mask` is read only where the uniform `hasMask` says so (`bu`
 * stands in when there is none).
 */
export function gruSequenceForwardKernel(v: GruSequenceVariant): Kernel {
  const R = v.rows;
  const buffers: [string, "read" | "write"][] = [
    ["gates", "write"],
    ["h", "write"],
    ["h0", "read"],
    ["U", "read"],
    ["bu", "read"],
    ["mask", "read"],
  ];
  if (v.cache) buffers.push(["hPrev", "write"], ["reset", "write"]);
  return makeKernel({
    key: gruSequenceForwardKey(v),
    workgroupSize: [SEQUENCE_THREADS, 1, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["T", "u32"], ["hasMask", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
// hs[slot * ${R}H + r * H + k]: h_{t-1} of row r (unmasked); step t reads slot t % 2.
var<workgroup> hs: array<f32, ${SHARED_FLOATS}>;

@compute @workgroup_size(${SEQUENCE_THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let B = p.B; let H = p.H; let T = p.T;
  let G = 3u * H; let BH = B * H; let RH = ${R}u * H;
  let b0 = wid.x * ${R}u;
  ${loadHiddenRows("h0")}
  for (var t = 0u; t < T; t++) {
    let cur = (t % 2u) * RH; let next = RH - cur;
    for (var j = tid; j < H; j += ${SEQUENCE_THREADS}u) {
      // Assigned, not only declared: a declaration in a loop may be hoisted out of it.
      var acc = array<vec3<f32>, ${R}>();
      for (var k = 0u; k < H; k++) {
        let u = k * G + j;
        let w = vec3<f32>(U[u], U[u + H], U[u + 2u * H]);
        ${eachRow(R, (r) => `acc[${r}] += hs[cur + ${r}u * H + k] * w;`)}
      }
      for (var r = 0u; r < ${R}u; r++) {
        let b = b0 + r;
        if (b >= B) { break; }
        var m = 1.0;
        if (p.hasMask != 0u) { m = mask[t * B + b]; }
        let sums = m * acc[r];
        let gi = (t * B + b) * G + j;
        let z = sigmoid_f(gates[gi] + sums.x + bu[j]);
        let rg = sigmoid_f(gates[gi + H] + sums.y + bu[j + H]);
        let rh = sums.z + bu[j + 2u * H];
        let n = tanh_f(gates[gi + 2u * H] + rg * rh);
        gates[gi] = z; gates[gi + H] = rg; gates[gi + 2u * H] = n;
        let x = m * hs[cur + r * H + j];
        let hi = t * BH + b * H + j;
        let hv = (1.0 - z) * n + z * x;
        h[hi] = hv;
        hs[next + r * H + j] = hv;
        ${v.cache ? "hPrev[hi] = x; reset[hi] = rh;" : ""}
      }
    }
    workgroupBarrier();
  }
}`,
  });
}

/**
 * Back-propagation through all T steps, then the gradient of the initial hidden state. Binds the
 * per-step kernel's buffers (`UT` is Uᵀ, `[3H, H]`; `mask` or a stand-in): `state` holds the
 * incoming `dhLast` on entry, the direct path `dh_{t+1} ⊙ z_{t+1}` between steps, and `dh0` on
 * exit.
 */
export function gruSequenceBackwardKernel(v: GruSequenceVariant): Kernel {
  const R = v.rows;
  return makeKernel({
    key: gruSequenceBackwardKey(v),
    workgroupSize: [SEQUENCE_THREADS, 1, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["T", "u32"], ["hasMask", "u32"]],
    buffers: [
      ["dG", "write"],
      ["gates", "read"],
      ["hPrev", "read"],
      ["reset", "read"],
      ["dh", "read"],
      ["UT", "read"],
      ["state", "write"],
      ["mask", "read"],
    ],
    body: `
// gs[slot * ${R}G + r * G + k]: dG_{t+1} of row r, its candidate block already scaled by r_{t+1}
// (what flows back through h_t·U_h); step t (the s-th from the end) writes slot s % 2.
${gateGradientSums(R)}

@compute @workgroup_size(${SEQUENCE_THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let B = p.B; let H = p.H; let T = p.T;
  let G = 3u * H; let BH = B * H; let RG = ${R}u * G;
  let b0 = wid.x * ${R}u;
  for (var s = 0u; s < T; s++) {
    let t = T - 1u - s;
    let cur = (s % 2u) * RG; let prev = RG - cur;
    for (var j = tid; j < H; j += ${SEQUENCE_THREADS}u) {
      var acc = array<f32, ${R}>();
      if (s > 0u) { acc = recurrent(prev, j, H, G); }
      for (var r = 0u; r < ${R}u; r++) {
        let b = b0 + r;
        let gsi = cur + r * G + j;
        if (b >= B) {
          gs[gsi] = 0.0; gs[gsi + H] = 0.0; gs[gsi + 2u * H] = 0.0;
          continue;
        }
        let si = b * H + j;
        var dhIn = state[si];
        if (s > 0u) {
          dhIn = acc[r] + dhIn;
          if (p.hasMask != 0u) { dhIn = dhIn * mask[(t + 1u) * B + b]; }
        }
        let gi = (t * B + b) * G + j;
        let z = gates[gi]; let rg = gates[gi + H]; let n = gates[gi + 2u * H];
        let hi = t * BH + b * H + j;
        let dhv = dh[hi] + dhIn;
        let da = dhv * (1.0 - z) * (1.0 - n * n);
        let dz = dhv * (hPrev[hi] - n) * z * (1.0 - z);
        let dr = da * reset[hi] * rg * (1.0 - rg);
        dG[gi] = dz; dG[gi + H] = dr; dG[gi + 2u * H] = da;
        gs[gsi] = dz; gs[gsi + H] = dr; gs[gsi + 2u * H] = da * rg;
        state[si] = dhv * z;
      }
    }
    workgroupBarrier();
  }
  // dh0 = mask_0 · (dG_0 · Uᵀ + the direct path), from the slot step 0 wrote.
  let last = ((T - 1u) % 2u) * RG;
  for (var j = tid; j < H; j += ${SEQUENCE_THREADS}u) {
    let acc = recurrent(last, j, H, G);
    for (var r = 0u; r < ${R}u; r++) {
      let b = b0 + r;
      if (b >= B) { break; }
      let si = b * H + j;
      var dhIn = acc[r] + state[si];
      if (p.hasMask != 0u) { dhIn = dhIn * mask[b]; }
      state[si] = dhIn;
    }
  }
}`,
  });
}
