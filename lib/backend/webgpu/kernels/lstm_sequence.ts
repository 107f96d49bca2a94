/**
 * Sequence-long ("persistent") LSTM kernels: each workgroup carries a few rows of the batch through
 * all T steps in ONE dispatch, instead of one dispatch per step.
 *
 * A row's step needs only that row's previous hidden state (forward) or its previous gate
 * gradients (backward), so a workgroup that owns whole rows never waits on another: it keeps
 * them in workgroup memory, double-buffered so that one barrier per step separates reading step
 * t's from writing step t+1's. Each of its 64 invocations owns hidden units j, j+64, … (all four
 * gates of each, so the gate math follows in the same invocation) for every row of the
 * workgroup, and streams U (forward) or Uᵀ (backward) from the buffer, shared by those rows.
 *
 * The kernels write exactly what the per-step kernels of lstm.ts write (activated gates, h, the
 * caches, dG and the state buffer), so the matmuls around them are the same. What they trade:
 * B/R workgroups of 64 invocations do all of a step's work, which beats T dispatches where the
 * batch and H are small (a recurrent policy's minibatch) and loses where a step alone fills the
 * GPU. {@linkcode lstmSequenceRows} says whether they fit: H ≤ 512, for the workgroup memory.
 *
 * @module
 */

import { type Kernel, makeKernel, WGSL_MATH } from "./kernel.ts";

/** Invocations per workgroup of the sequence kernels. */
export const SEQUENCE_THREADS = 64;
/** Floats of workgroup memory the kernels use: 16 KiB, what every WebGPU device offers. */
export const SHARED_FLOATS = 4096;
/** The most batch rows a workgroup owns. */
const MAX_ROWS = 4;

/** Which way the sequence runs. */
export type SequenceDirection = "forward" | "backward";

/**
 * Batch rows per workgroup for `hidden` units (1, 2 or 4: the most whose double-buffered state
 * fits in 16 KiB), or 0 where even one row does not fit. Forward keeps `h` (H floats a row),
 * backward the gate gradients (`gates`·H floats a row: 4 for the LSTM, 3 for the GRU).
 */
export function sequenceRows(hidden: number, direction: SequenceDirection, gates = 4): number {
  const perRow = 2 * hidden * (direction === "forward" ? 1 : gates);
  for (let rows = MAX_ROWS; rows >= 1; rows /= 2) {
    if (rows * perRow <= SHARED_FLOATS) return rows;
  }
  return 0;
}

/** Rows per workgroup of the LSTM's sequence kernels in both directions (0: they do not fit). */
export function lstmSequenceRows(hidden: number): { forward: number; backward: number } {
  return { forward: sequenceRows(hidden, "forward"), backward: sequenceRows(hidden, "backward") };
}

/** Template parameters of the sequence kernels. */
export interface LstmSequenceVariant {
  /** Batch rows per workgroup (1, 2 or 4). */
  rows: number;
  /** Forward only: the cache for backward is stored. */
  cache: boolean;
}

/** The cache key of the forward sequence kernel. */
export function lstmSequenceForwardKey(v: LstmSequenceVariant): string {
  return `lstm_sequence_forward_r${v.rows}_c${+v.cache}`;
}

/** The cache key of the backward sequence kernel. */
export function lstmSequenceBackwardKey(v: LstmSequenceVariant): string {
  return `lstm_sequence_backward_r${v.rows}`;
}

/**
 * WGSL shared by the backward kernels: the workgroup's gate gradients `gs` (two slots of R rows
 * of G) and `recurrent(slot, j, H, G)`, the gradient flowing into unit j of each row's h from the
 * slot's gate gradients through Uᵀ (bound as `UT`, `[G, H]`).
 */
export function gateGradientSums(R: number): string {
  return `var<workgroup> gs: array<f32, ${SHARED_FLOATS}>;

fn recurrent(slot: u32, j: u32, H: u32, G: u32) -> array<f32, ${R}> {
  var acc = array<f32, ${R}>();
  for (var k = 0u; k < G; k++) {
    let w = UT[k * H + j];
    ${eachRow(R, (r) => `acc[${r}] += gs[slot + ${r}u * G + k] * w;`)}
  }
  return acc;
}`;
}

/**
 * WGSL shared by the forward kernels: slot 0 of the workgroup's `hs` (R rows of H) from rows
 * b0.. of `source` (`[B, H]`, zeros past B), then a barrier.
 */
export function loadHiddenRows(source: string): string {
  return `for (var i = tid; i < RH; i += ${SEQUENCE_THREADS}u) {
    let b = b0 + i / H;
    var x = 0.0;
    if (b < B) { x = ${source}[b * H + i % H]; }
    hs[i] = x;
  }
  workgroupBarrier();`;
}

/** `for` over the rows of the workgroup, unrolled (`body` sees `r`). */
export function eachRow(rows: number, body: (r: number) => string): string {
  return Array.from({ length: rows }, (_, r) => body(r)).join("\n");
}

/**
 * The forward pass over all T steps. Binds the per-step kernel's buffers: `z` holds `X·W + b`
 * on entry and the activated gates on exit, `state` is `(h0, c)` with c updated in place, and
 * `mask` is read only where the uniform `hasMask` says so (U stands in when there is none).
 */
export function lstmSequenceForwardKernel(v: LstmSequenceVariant): Kernel {
  const R = v.rows;
  const buffers: [string, "read" | "write"][] = [
    ["z", "write"],
    ["h", "write"],
    ["state", "write"],
    ["U", "read"],
    ["mask", "read"],
  ];
  if (v.cache) buffers.push(["hPrev", "write"], ["cPrev", "write"], ["cTanh", "write"]);
  const cacheStores = v.cache
    ? "hPrev[hi] = m * hs[cur + r * H + j];\n        cPrev[hi] = cp;\n        cTanh[hi] = ct;"
    : "";
  return makeKernel({
    key: lstmSequenceForwardKey(v),
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
  let G = 4u * H; let BH = B * H; let RH = ${R}u * H;
  let b0 = wid.x * ${R}u;
  ${loadHiddenRows("state")}
  for (var t = 0u; t < T; t++) {
    let cur = (t % 2u) * RH; let next = RH - cur;
    for (var j = tid; j < H; j += ${SEQUENCE_THREADS}u) {
      // Assigned, not only declared: a declaration in a loop may be hoisted out of it.
      var acc = array<vec4<f32>, ${R}>();
      for (var k = 0u; k < H; k++) {
        let u = k * G + j;
        let w = vec4<f32>(U[u], U[u + H], U[u + 2u * H], U[u + 3u * H]);
        ${eachRow(R, (r) => `acc[${r}] += hs[cur + ${r}u * H + k] * w;`)}
      }
      for (var r = 0u; r < ${R}u; r++) {
        let b = b0 + r;
        if (b >= B) { break; }
        var m = 1.0;
        if (p.hasMask != 0u) { m = mask[t * B + b]; }
        let zi = t * B * G + b * G + j;
        let pre = m * acc[r] + vec4<f32>(z[zi], z[zi + H], z[zi + 2u * H], z[zi + 3u * H]);
        let ig = sigmoid_f(pre.x);
        let fg = sigmoid_f(pre.y);
        let gg = tanh_f(pre.z);
        let og = sigmoid_f(pre.w);
        z[zi] = ig;
        z[zi + H] = fg;
        z[zi + 2u * H] = gg;
        z[zi + 3u * H] = og;
        let si = BH + b * H + j;
        let cp = m * state[si];
        let c = fg * cp + ig * gg;
        state[si] = c;
        let ct = tanh_f(c);
        let hi = t * BH + b * H + j;
        let hv = og * ct;
        h[hi] = hv;
        hs[next + r * H + j] = hv;
        ${cacheStores}
      }
    }
    workgroupBarrier();
  }
}`,
  });
}

/**
 * Back-propagation through all T steps, and then the gradient of the initial hidden state. Binds
 * the per-step kernel's buffers with Uᵀ (`[4H, H]`) for U: `state` is `(dh, dc)`, the incoming
 * gradients on entry and those of the initial state on exit.
 */
export function lstmSequenceBackwardKernel(v: LstmSequenceVariant): Kernel {
  const R = v.rows;
  return makeKernel({
    key: lstmSequenceBackwardKey(v),
    workgroupSize: [SEQUENCE_THREADS, 1, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["T", "u32"], ["hasMask", "u32"]],
    buffers: [
      ["dG", "write"],
      ["gates", "read"],
      ["cPrev", "read"],
      ["cTanh", "read"],
      ["dh", "read"],
      ["UT", "read"],
      ["state", "write"],
      ["mask", "read"],
    ],
    body: `
// gs[slot * ${R}G + r * G + k]: dG_{t+1} of row r; step t (the s-th from the end) reads slot
// (s + 1) % 2 and writes slot s % 2.
${gateGradientSums(R)}

@compute @workgroup_size(${SEQUENCE_THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let B = p.B; let H = p.H; let T = p.T;
  let G = 4u * H; let BH = B * H; let RG = ${R}u * G;
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
          gs[gsi] = 0.0; gs[gsi + H] = 0.0; gs[gsi + 2u * H] = 0.0; gs[gsi + 3u * H] = 0.0;
          continue;
        }
        var dhIn: f32;
        if (s == 0u) {
          dhIn = state[b * H + j];
        } else {
          dhIn = acc[r];
          if (p.hasMask != 0u) { dhIn = dhIn * mask[(t + 1u) * B + b]; }
        }
        let gi = t * B * G + b * G + j;
        let ig = gates[gi];
        let fg = gates[gi + H];
        let gg = gates[gi + 2u * H];
        let og = gates[gi + 3u * H];
        let hi = t * BH + b * H + j;
        let ct = cTanh[hi];
        let dhv = dh[hi] + dhIn;
        let si = BH + b * H + j;
        let dc = state[si] + dhv * og * (1.0 - ct * ct);
        let di = dc * gg * ig * (1.0 - ig);
        let df = dc * cPrev[hi] * fg * (1.0 - fg);
        let dg = dc * ig * (1.0 - gg * gg);
        let dOut = dhv * ct * og * (1.0 - og);
        dG[gi] = di; dG[gi + H] = df; dG[gi + 2u * H] = dg; dG[gi + 3u * H] = dOut;
        gs[gsi] = di; gs[gsi + H] = df; gs[gsi + 2u * H] = dg; gs[gsi + 3u * H] = dOut;
        var dcPrev = dc * fg;
        if (p.hasMask != 0u) { dcPrev = dcPrev * mask[t * B + b]; }
        state[si] = dcPrev;
      }
    }
    workgroupBarrier();
  }
  // dh0 = mask_0 · (dG_0 · Uᵀ), from the slot step 0 wrote.
  let last = ((T - 1u) % 2u) * RG;
  for (var j = tid; j < H; j += ${SEQUENCE_THREADS}u) {
    let acc = recurrent(last, j, H, G);
    for (var r = 0u; r < ${R}u; r++) {
      let b = b0 + r;
      if (b >= B) { break; }
      var dhIn = acc[r];
      if (p.hasMask != 0u) { dhIn = dhIn * mask[b]; }
      state[b * H + j] = dhIn;
    }
  }
}`,
  });
}

/** The sizes {@linkcode prefersSequenceKernels} weighs. */
export interface SequenceDims {
  /** Steps. */
  steps: number;
  /** Batch rows. */
  batch: number;
  /** Hidden units. */
  hidden: number;
}

/** Workgroups below which a per-step dispatch leaves most of a GPU idle (see below). */
const SMALL_STEP_GRID = 16;

/**
 * Whether "auto" picks the sequence kernels on a GPU (on an adapter that runs on the CPU, such
 * as llvmpipe, the backend resolves "auto" to "step": there the per-step kernels won at every
 * size measured, see bench/RESULTS.md): where the sizes leave a per-step dispatch so few
 * workgroups (fewer than 16 of the tiled step's 32 rows × 16 units) that the device idles between
 * T dispatches, and T ≥ 8. That rule is reasoned, not yet measured on a GPU:
 * bench/recurrent_kernels_bench.ts (which bench/gpu.sh runs) times both paths on the device.
 */
export function prefersSequenceKernels(dims: SequenceDims): boolean {
  if (dims.steps < 8) return false;
  const stepGrid = Math.ceil(dims.hidden / 16) * Math.ceil(dims.batch / 32);
  return stepGrid < SMALL_STEP_GRID;
}
