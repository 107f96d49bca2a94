/**
 * The LSTM over a whole sequence, gates packed (i, f, g, o).
 *
 * Forward: the input projection of all steps is one matmul (`Z = X·W + b`, `[T·B, 4H]`); then
 * each step is ONE dispatch of `lstm_forward_step`, which computes the recurrent product
 * `h_{t−1}·U` for a 32-row × 16-unit tile (all four gates of each unit, so the gate math can
 * follow in the same invocation), adds `Z[t]`, applies the gates, updates the cell state in place
 * and stores what backward needs (masked `h_{t−1}` and `c_{t−1}`, activated gates, `tanh c_t`).
 *
 * Backward: each step is ONE dispatch of `lstm_backward_step`, which computes the gradient flowing
 * into `h_t` from step t+1 (`dG_{t+1}·Uᵀ`, masked), adds `dh[t]`, runs the gate backward and
 * writes `dG_t` and the cell gradient. The weight gradients follow as three large matmuls and a
 * row sum over all steps at once.
 *
 * A small `[2, B, H]` state buffer carries `(h0, c)` in forward and `(dh, dc)` in backward, so
 * that no step binds more than 8 storage buffers.
 *
 * Both step kernels come in two families (see `KernelStrategy`): tiled ones that stage the
 * operands in workgroup memory (for real GPUs), and register-blocked ones without workgroup
 * memory (several times faster on llvmpipe), which read vec4s where H is a multiple of 4.
 *
 * @module
 */

import { encodeMatmul } from "./matmul.ts";
import { encodeSumRows } from "./reduce.ts";
import { type Kernel, type KernelContext, makeKernel, WGSL_MATH } from "./kernel.ts";
import {
  lstmSequenceBackwardKernel,
  lstmSequenceBackwardKey,
  lstmSequenceForwardKernel,
  lstmSequenceForwardKey,
  lstmSequenceRows,
  prefersSequenceKernels,
} from "./lstm_sequence.ts";

/** Rows of the batch per workgroup in both step kernels. */
const TILE_ROWS = 32;
/** Hidden units per workgroup in the forward step (×4 gates = 64 columns of U). */
const FORWARD_UNITS = 16;
/** Hidden units per workgroup in the backward step. */
const BACKWARD_UNITS = 32;

/** Template parameters of the LSTM step kernels. */
export interface LstmVariant {
  /** A `[T, B]` reset mask is bound. */
  mask: boolean;
  /** Forward only: the cache for backward is stored. */
  cache: boolean;
}

/**
 * The cache key of the tiled forward step kernel. The tiled kernels always bind a mask and read
 * it only when the uniform `hasMask` says so (fewer variants: each takes seconds to compile on
 * llvmpipe); without a mask, U is bound in its place.
 */
export function lstmForwardKey(v: LstmVariant): string {
  return `lstm_forward_step_c${+v.cache}`;
}

/** The cache key of the tiled backward step kernel. */
export function lstmBackwardKey(_v: LstmVariant): string {
  return `lstm_backward_step`;
}

/** Builds the fused forward step: recurrent matmul, gates, cell update, cache. */
export function lstmForwardKernel(v: LstmVariant): Kernel {
  const buffers: [string, "read" | "write"][] = [
    ["z", "write"],
    ["h", "write"],
    ["state", "write"],
    ["U", "read"],
    ["mask", "read"],
  ];
  if (v.cache) buffers.push(["hPrev", "write"], ["cPrev", "write"], ["cTanh", "write"]);
  const maskH = "if (p.hasMask != 0u) { x = x * mask[t * B + b]; }";
  const maskC = "if (p.hasMask != 0u) { cp = cp * mask[t * B + b]; }";
  const storeH = v.cache ? "if (wid.x == 0u) { hPrev[t * BH + b * H + k] = x; }" : "";
  const storeC = v.cache ? "cPrev[hi] = cp;\n    cTanh[hi] = ct;" : "";
  return makeKernel({
    key: lstmForwardKey(v),
    workgroupSize: [16, 8, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["t", "u32"], ["hasMask", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
// Hs[kk * 32 + row]: the masked h_{t-1} slice; Us[kk * 16 + unit]: U for the 4 gates of a unit.
var<workgroup> Hs: array<f32, 512>;
var<workgroup> Us: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let B = p.B; let H = p.H; let t = p.t;
  let BH = B * H; let G = 4u * H;
  let j0 = wid.x * ${FORWARD_UNITS}u; let r0 = wid.y * ${TILE_ROWS}u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < H; k0 += 16u) {
    for (var l = 0u; l < 4u; l++) {
      let idx = l * 128u + tid; let r = idx / 16u; let kk = idx % 16u;
      let b = r0 + r; let k = k0 + kk;
      var x = 0.0;
      if (b < B && k < H) {
        if (t == 0u) { x = state[b * H + k]; } else { x = h[(t - 1u) * BH + b * H + k]; }
        ${maskH}
        ${storeH}
      }
      Hs[kk * 32u + r] = x;
    }
    for (var l = 0u; l < 8u; l++) {
      let idx = l * 128u + tid; let kk = idx / 64u; let c = idx % 64u;
      let gate = c / 16u; let u = c % 16u;
      let k = k0 + kk; let jj = j0 + u;
      var x = 0.0;
      if (k < H && jj < H) { x = U[k * G + gate * H + jj]; }
      Us[kk * 16u + u][gate] = x;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let w = Us[kk * 16u + lid.x];
      let base = kk * 32u + lid.y * 4u;
      acc[0] += Hs[base] * w;
      acc[1] += Hs[base + 1u] * w;
      acc[2] += Hs[base + 2u] * w;
      acc[3] += Hs[base + 3u] * w;
    }
    workgroupBarrier();
  }
  let j = j0 + lid.x;
  if (j >= H) { return; }
  for (var i = 0u; i < 4u; i++) {
    let b = r0 + lid.y * 4u + i;
    if (b >= B) { break; }
    let zi = t * B * G + b * G + j;
    let pre = acc[i] + vec4<f32>(z[zi], z[zi + H], z[zi + 2u * H], z[zi + 3u * H]);
    let ig = sigmoid_f(pre.x);
    let fg = sigmoid_f(pre.y);
    let gg = tanh_f(pre.z);
    let og = sigmoid_f(pre.w);
    z[zi] = ig;
    z[zi + H] = fg;
    z[zi + 2u * H] = gg;
    z[zi + 3u * H] = og;
    let si = BH + b * H + j;
    var cp = state[si];
    ${maskC}
    let c = fg * cp + ig * gg;
    state[si] = c;
    let ct = tanh_f(c);
    let hi = t * BH + b * H + j;
    h[hi] = og * ct;
    ${storeC}
  }
}`,
  });
}

/**
 * Builds the fused backward step. Uniform `first` (step T−1) takes the incoming hidden gradient
 * from `state[0]` instead of a matmul; `last` (after step 0) only writes `mask[0]·(dG_0·Uᵀ)`,
 * the gradient of the initial hidden state, into `state[0]`.
 */
export function lstmBackwardKernel(v: LstmVariant): Kernel {
  const buffers: [string, "read" | "write"][] = [
    ["dG", "write"],
    ["gates", "read"],
    ["cPrev", "read"],
    ["cTanh", "read"],
    ["dh", "read"],
    ["U", "read"],
    ["state", "write"],
    ["mask", "read"],
  ];
  return makeKernel({
    key: lstmBackwardKey(v),
    workgroupSize: [16, 8, 1],
    uniforms: [
      ["B", "u32"],
      ["H", "u32"],
      ["t", "u32"],
      ["src", "u32"],
      ["first", "u32"],
      ["last", "u32"],
      ["hasMask", "u32"],
    ],
    buffers,
    body: `
// Gs[kk * 32 + row]: dG_{t+1}; Us[kk * 16 + pair]: U[j, k] for two units j.
var<workgroup> Gs: array<f32, 512>;
var<workgroup> Us: array<vec2<f32>, 256>;

@compute @workgroup_size(16, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let B = p.B; let H = p.H; let t = p.t; let src = p.src;
  let BH = B * H; let G = 4u * H;
  let j0 = wid.x * ${BACKWARD_UNITS}u; let r0 = wid.y * ${TILE_ROWS}u;
  let kEnd = select(G, 0u, p.first != 0u);
  var acc: array<vec2<f32>, 4>;
  for (var k0 = 0u; k0 < kEnd; k0 += 16u) {
    for (var l = 0u; l < 4u; l++) {
      let idx = l * 128u + tid; let r = idx / 16u; let kk = idx % 16u;
      let b = r0 + r; let k = k0 + kk;
      var x = 0.0;
      if (b < B && k < G) { x = dG[src * B * G + b * G + k]; }
      Gs[kk * 32u + r] = x;
    }
    for (var l = 0u; l < 4u; l++) {
      let idx = l * 128u + tid; let u = idx / 16u; let kk = idx % 16u;
      let jj = j0 + u; let k = k0 + kk;
      var x = 0.0;
      if (jj < H && k < G) { x = U[jj * G + k]; }
      Us[kk * 16u + u / 2u][u % 2u] = x;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let w = Us[kk * 16u + lid.x];
      let base = kk * 32u + lid.y * 4u;
      acc[0] += Gs[base] * w;
      acc[1] += Gs[base + 1u] * w;
      acc[2] += Gs[base + 2u] * w;
      acc[3] += Gs[base + 3u] * w;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let b = r0 + lid.y * 4u + i;
    if (b >= B) { break; }
    for (var e = 0u; e < 2u; e++) {
      let j = j0 + lid.x * 2u + e;
      if (j >= H) { break; }
      var dhIn: f32;
      if (p.first != 0u) {
        dhIn = state[b * H + j];
      } else {
        dhIn = acc[i][e];
        if (p.hasMask != 0u) { dhIn = dhIn * mask[src * B + b]; }
      }
      if (p.last != 0u) {
        state[b * H + j] = dhIn;
        continue;
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
      dG[gi] = dc * gg * ig * (1.0 - ig);
      dG[gi + H] = dc * cPrev[hi] * fg * (1.0 - fg);
      dG[gi + 2u * H] = dc * ig * (1.0 - gg * gg);
      dG[gi + 3u * H] = dhv * ct * og * (1.0 - og);
      var dcPrev = dc * fg;
      if (p.hasMask != 0u) { dcPrev = dcPrev * mask[t * B + b]; }
      state[si] = dcPrev;
    }
  }
}`,
  });
}

/** Rows of the batch per invocation in the register-blocked backward step. */
const REGISTER_ROWS = 4;
/** Rows of the batch per invocation in the register-blocked forward step. */
const REGISTER_FORWARD_ROWS = 2;

/** Template parameters of the register-blocked step kernels. */
export interface RegisterLstmVariant extends LstmVariant {
  /** Hidden units per invocation: 4 (vec4 loads and math) where H % 4 == 0, else 1. */
  width: 1 | 4;
}

/** The unit width of the register kernels for `hidden` units. */
export function lstmRegisterWidth(hidden: number): 1 | 4 {
  return hidden % 4 === 0 ? 4 : 1;
}

/** The cache key of the register-blocked forward step. */
export function lstmForwardRegisterKey(v: RegisterLstmVariant): string {
  return `lstm_forward_step_reg${v.width}_m${+v.mask}_c${+v.cache}`;
}

/** The cache key of the register-blocked backward step. */
export function lstmBackwardRegisterKey(v: RegisterLstmVariant): string {
  return `lstm_backward_step_reg${v.width}_m${+v.mask}`;
}

/** WGSL snippets for a lane of `width` units, as {@linkcode laneWgsl} returns them. */
export interface LaneWgsl {
  /** The lane's WGSL type, `f32` or `vec4<f32>`. */
  type: string;
  /** Its zero. */
  zero: string;
  /** The name of its sigmoid. */
  sigmoid: string;
  /** The name of its tanh. */
  tanh: string;
  /** Component `e` of the lane expression `x` (`x` itself for width 1). */
  comp: (x: string, e: number) => string;
  /** The component indices, `[0]` or `[0, 1, 2, 3]`. */
  each: number[];
}

/**
 * WGSL snippets for a lane of `width` units: its type, zero, math and component access (shared
 * by the LSTM's and the GRU's register-blocked step kernels).
 */
export function laneWgsl(width: 1 | 4): LaneWgsl {
  const vec = width === 4;
  return {
    type: vec ? "vec4<f32>" : "f32",
    zero: vec ? "vec4<f32>(0.0)" : "0.0",
    sigmoid: vec ? "sigmoid4" : "sigmoid_f",
    tanh: vec ? "tanh4" : "tanh_f",
    comp: (x: string, e: number) => vec ? `${x}[${e}]` : x,
    each: Array.from({ length: width }, (_, e) => e),
  };
}

/**
 * Builds the register-blocked forward step: each invocation owns `width` units (all four gates)
 * of ${REGISTER_FORWARD_ROWS} batch rows, reads `h_{t−1}` and U as `width`-wide vectors, keeps its
 * sums in registers and does the gate math vectorised over its units. No workgroup memory.
 */
export function lstmForwardRegisterKernel(v: RegisterLstmVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: [string, "read" | "write", string][] = [
    ["z", "write", L.type],
    ["h", "write", L.type],
    ["state", "write", L.type],
    ["U", "read", L.type],
  ];
  if (v.mask) buffers.push(["mask", "read", "f32"]);
  if (v.cache) {
    buffers.push(["hPrev", "write", L.type], ["cPrev", "write", L.type], [
      "cTanh",
      "write",
      L.type,
    ]);
  }
  const R = REGISTER_FORWARD_ROWS;
  const rows = Array.from({ length: R }, (_, r) => r);
  const perRow = (f: (r: number) => string, sep = "\n  ") => rows.map(f).join(sep);
  return makeKernel({
    key: lstmForwardRegisterKey(v),
    workgroupSize: [16, 4, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["t", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(16, 4, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let B = p.B; let t = p.t;
  let HW = p.H / ${v.width}u; let GW = 4u * HW; let BHW = B * HW;
  let jq = gid.x; let row0 = gid.y * ${R}u;
  if (jq >= HW || row0 >= B) { return; }
  let lastRow = B - 1u;
  ${perRow((r) => `let b${r} = min(row0 + ${r}u, lastRow);`)}
  ${
      perRow((r) =>
        `let src${r} = select((t - 1u) * BHW + b${r} * HW, b${r} * HW, t == 0u);
  let keep${r} = ${v.mask ? `mask[t * B + b${r}]` : "1.0"};
  var ai${r} = ${L.zero}; var af${r} = ${L.zero}; var ag${r} = ${L.zero}; var ao${r} = ${L.zero};`
      )
    }
  for (var kq = 0u; kq < HW; kq++) {
    ${
      perRow((r) =>
        `var x${r}: ${L.type};
    if (t == 0u) { x${r} = state[src${r} + kq]; } else { x${r} = h[src${r} + kq]; }
    x${r} = x${r} * keep${r};
    ${
          v.cache
            ? `if (jq == 0u && row0 + ${r}u < B) { hPrev[t * BHW + b${r} * HW + kq] = x${r}; }`
            : ""
        }`, "\n    ")
    }
    ${
      L.each.map((e) =>
        `{
      let row = (kq * ${v.width}u + ${e}u) * GW + jq;
      let ui = U[row]; let uf = U[row + HW]; let ug = U[row + 2u * HW]; let uo = U[row + 3u * HW];
      ${
          perRow(
            (r) =>
              `let s${r} = ${L.comp(`x${r}`, e)};
      ai${r} += s${r} * ui; af${r} += s${r} * uf; ag${r} += s${r} * ug; ao${r} += s${r} * uo;`,
            "\n      ",
          )
        }
    }`
      ).join("\n    ")
    }
  }
  ${
      perRow((r) =>
        `if (row0 + ${r}u < B) {
    let zi = (t * B + b${r}) * GW + jq;
    let ig = ${L.sigmoid}(ai${r} + z[zi]);
    let fg = ${L.sigmoid}(af${r} + z[zi + HW]);
    let gg = ${L.tanh}(ag${r} + z[zi + 2u * HW]);
    let og = ${L.sigmoid}(ao${r} + z[zi + 3u * HW]);
    z[zi] = ig; z[zi + HW] = fg; z[zi + 2u * HW] = gg; z[zi + 3u * HW] = og;
    let si = BHW + b${r} * HW + jq;
    let cp = state[si] * keep${r};
    let c = fg * cp + ig * gg;
    state[si] = c;
    let ct = ${L.tanh}(c);
    let hi = t * BHW + b${r} * HW + jq;
    h[hi] = og * ct;
    ${v.cache ? "cPrev[hi] = cp; cTanh[hi] = ct;" : ""}
  }`
      )
    }
}`,
  });
}

/**
 * Builds the register-blocked backward step. It reads `Uᵀ` (`[4H, H]`, transposed once per
 * backward pass) so that an invocation's `width` units are contiguous at every k, and owns
 * ${REGISTER_ROWS} batch rows of them. No workgroup memory.
 */
export function lstmBackwardRegisterKernel(v: RegisterLstmVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: [string, "read" | "write", string][] = [
    ["dG", "write", L.type],
    ["gates", "read", L.type],
    ["cPrev", "read", L.type],
    ["cTanh", "read", L.type],
    ["dh", "read", L.type],
    ["UT", "read", L.type],
    ["state", "write", L.type],
  ];
  if (v.mask) buffers.push(["mask", "read", "f32"]);
  const R = REGISTER_ROWS;
  const rows = Array.from({ length: R }, (_, r) => r);
  const perRow = (f: (r: number) => string, sep = "\n  ") => rows.map(f).join(sep);
  return makeKernel({
    key: lstmBackwardRegisterKey(v),
    workgroupSize: [16, 4, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["t", "u32"], ["src", "u32"], ["first", "u32"], [
      "last",
      "u32",
    ]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(16, 4, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let B = p.B; let t = p.t; let src = p.src;
  let HW = p.H / ${v.width}u; let GW = 4u * HW; let BHW = B * HW;
  let jq = gid.x; let row0 = gid.y * ${R}u;
  if (jq >= HW || row0 >= B) { return; }
  let lastRow = B - 1u;
  ${perRow((r) => `let b${r} = min(row0 + ${r}u, lastRow);`)}
  ${perRow((r) => `var acc${r} = ${L.zero};`, " ")}
  let kEnd = select(GW, 0u, p.first != 0u);
  for (var kq = 0u; kq < kEnd; kq++) {
    ${L.each.map((e) => `let u${e} = UT[(kq * ${v.width}u + ${e}u) * HW + jq];`).join("\n    ")}
    ${
      perRow((r) =>
        `let g${r} = dG[(src * B + b${r}) * GW + kq];
    acc${r} += ${L.each.map((e) => `${L.comp(`g${r}`, e)} * u${e}`).join(" + ")};`, "\n    ")
    }
  }
  ${
      perRow((r) =>
        `if (row0 + ${r}u < B) {
    let b = b${r};
    var dhIn: ${L.type};
    if (p.first != 0u) {
      dhIn = state[b * HW + jq];
    } else {
      dhIn = acc${r}${v.mask ? " * mask[src * B + b]" : ""};
    }
    if (p.last != 0u) {
      state[b * HW + jq] = dhIn;
    } else {
      let gi = (t * B + b) * GW + jq;
      let ig = gates[gi]; let fg = gates[gi + HW]; let gg = gates[gi + 2u * HW]; let og = gates[gi + 3u * HW];
      let hi = t * BHW + b * HW + jq;
      let ct = cTanh[hi];
      let dhv = dh[hi] + dhIn;
      let si = BHW + b * HW + jq;
      let dc = state[si] + dhv * og * (1.0 - ct * ct);
      dG[gi] = dc * gg * ig * (1.0 - ig);
      dG[gi + HW] = dc * cPrev[hi] * fg * (1.0 - fg);
      dG[gi + 2u * HW] = dc * ig * (1.0 - gg * gg);
      dG[gi + 3u * HW] = dhv * ct * og * (1.0 - og);
      state[si] = dc * fg${v.mask ? " * mask[t * B + b]" : ""};
    }
  }`
      )
    }
}`,
  });
}

/** Kernel `lstm_transpose_u`: `UT[k, j] = U[j, k]` for U `[H, 4H]`. */
export function transposeKernel(): Kernel {
  return makeKernel({
    key: "lstm_transpose_u",
    workgroupSize: [16, 16, 1],
    uniforms: [["rows", "u32"], ["cols", "u32"]],
    buffers: [["src", "read"], ["dst", "write"]],
    body: `
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x; let r = gid.y;
  if (r < p.rows && c < p.cols) { dst[c * p.rows + r] = src[r * p.cols + c]; }
}`,
  });
}

/** Whether the LSTM runs on the register-blocked step kernels (the "register" strategy). */
export function lstmUsesRegisterKernels(ctx: KernelContext): boolean {
  return ctx.strategy === "register";
}

/**
 * Whether the LSTM over `dims` runs on the sequence-long kernels of lstm_sequence.ts: where they
 * fit, when asked for, or by {@linkcode prefersSequenceKernels} under "auto".
 */
export function lstmUsesSequenceKernels(ctx: KernelContext, dims: LstmDims): boolean {
  if (ctx.recurrent === "step" || dims.steps === 0 || dims.batch === 0) return false;
  const rows = lstmSequenceRows(dims.hidden);
  if (rows.forward === 0 || rows.backward === 0) return false;
  return ctx.recurrent === "sequence" || prefersSequenceKernels(dims);
}

/** The sizes of an LSTM sequence. */
export interface LstmDims {
  /** Steps. */
  steps: number;
  /** Batch. */
  batch: number;
  /** Input features. */
  inputs: number;
  /** Hidden units. */
  hidden: number;
}

/** The buffers of {@linkcode encodeLstmForward}; the outputs are fully overwritten. */
export interface LstmForwardBuffers {
  /** `[T, B, I]`. */
  x: GPUBuffer;
  /** `[I, 4H]`. */
  w: GPUBuffer;
  /** `[H, 4H]`. */
  u: GPUBuffer;
  /** `[4H]`. */
  b: GPUBuffer;
  /** `[B, H]`. */
  h0: GPUBuffer;
  /** `[B, H]`. */
  c0: GPUBuffer;
  /** `[T, B]`, optional. */
  mask?: GPUBuffer;
  /** Output `[T, B, 4H]`: the activated gates. */
  gates: GPUBuffer;
  /** Output `[T, B, H]`. */
  h: GPUBuffer;
  /** Output caches `[T, B, H]` each, when kept. */
  cache?: { hPrev: GPUBuffer; cPrev: GPUBuffer; cTanh: GPUBuffer };
  /** Scratch `[2, B, H]`. */
  state: GPUBuffer;
  /** Output `[B, H]`. */
  hLast: GPUBuffer;
  /** Output `[B, H]`. */
  cLast: GPUBuffer;
}

/** Encodes the LSTM forward over a sequence: one matmul, then one dispatch per step. */
export function encodeLstmForward(
  ctx: KernelContext,
  io: LstmForwardBuffers,
  dims: LstmDims,
): void {
  const { steps: T, batch: B, inputs: I, hidden: H } = dims;
  const bhBytes = B * H * 4;
  encodeMatmul(ctx, io.x, io.w, io.gates, io.b, {
    m: T * B,
    n: 4 * H,
    k: I,
    transposeA: false,
    transposeB: false,
    activation: "linear",
  });
  if (bhBytes === 0) return;
  ctx.copy(io.h0, 0, io.state, 0, bhBytes);
  ctx.copy(io.c0, 0, io.state, bhBytes, bhBytes);
  if (lstmUsesSequenceKernels(ctx, dims)) {
    const sv = { rows: lstmSequenceRows(H).forward, cache: io.cache !== undefined };
    const buffers = [io.gates, io.h, io.state, io.u, io.mask ?? io.u];
    if (io.cache) buffers.push(io.cache.hPrev, io.cache.cPrev, io.cache.cTanh);
    ctx.dispatch(
      lstmSequenceForwardKey(sv),
      () => lstmSequenceForwardKernel(sv),
      [B, H, T, io.mask ? 1 : 0],
      buffers,
      [Math.ceil(B / sv.rows), 1, 1],
    );
  } else {
    encodeLstmSteps(ctx, io, dims);
  }
  if (T > 0) ctx.copy(io.h, (T - 1) * bhBytes, io.hLast, 0, bhBytes);
  else ctx.copy(io.h0, 0, io.hLast, 0, bhBytes);
  ctx.copy(io.state, bhBytes, io.cLast, 0, bhBytes);
}

/** Encodes the forward recurrence one dispatch per step. */
function encodeLstmSteps(ctx: KernelContext, io: LstmForwardBuffers, dims: LstmDims): void {
  const { steps: T, batch: B, hidden: H } = dims;
  const v: LstmVariant = { mask: io.mask !== undefined, cache: io.cache !== undefined };
  const register = lstmUsesRegisterKernels(ctx);
  const buffers = [io.gates, io.h, io.state, io.u];
  // The tiled kernel always binds a mask (U stands in when there is none).
  if (io.mask || !register) buffers.push(io.mask ?? io.u);
  if (io.cache) buffers.push(io.cache.hPrev, io.cache.cPrev, io.cache.cTanh);
  const hasMask = io.mask ? 1 : 0;
  const rv: RegisterLstmVariant = { ...v, width: lstmRegisterWidth(H) };
  const groups = register
    ? [Math.ceil(H / rv.width / 16), Math.ceil(B / (4 * REGISTER_FORWARD_ROWS)), 1] as const
    : [Math.ceil(H / FORWARD_UNITS), Math.ceil(B / TILE_ROWS), 1] as const;
  const key = register ? lstmForwardRegisterKey(rv) : lstmForwardKey(v);
  const build = register ? () => lstmForwardRegisterKernel(rv) : () => lstmForwardKernel(v);
  for (let t = 0; t < T; t++) {
    ctx.dispatch(key, build, register ? [B, H, t] : [B, H, t, hasMask], buffers, groups);
  }
}

/** The buffers of {@linkcode encodeLstmBackward}; the outputs are fully overwritten. */
export interface LstmBackwardBuffers {
  /** `[T, B, I]`. */
  x: GPUBuffer;
  /** `[I, 4H]`. */
  w: GPUBuffer;
  /** `[H, 4H]`. */
  u: GPUBuffer;
  /** The forward caches. */
  hPrev: GPUBuffer;
  /** `[T, B, H]`. */
  cPrev: GPUBuffer;
  /** `[T, B, 4H]`. */
  gates: GPUBuffer;
  /** `[T, B, H]`. */
  cTanh: GPUBuffer;
  /** `[T, B]`, optional. */
  mask?: GPUBuffer;
  /** `[T, B, H]`: the gradient with respect to every output. */
  dh: GPUBuffer;
  /** `[B, H]`, optional. */
  dhLast?: GPUBuffer;
  /** `[B, H]`, optional. */
  dcLast?: GPUBuffer;
  /** Scratch `[T, B, 4H]`: the gate pre-activation gradients. */
  dGates: GPUBuffer;
  /** Scratch `[2, B, H]`. */
  state: GPUBuffer;
  /** Scratch `[4H, H]` for Uᵀ, used by the register kernels ({@linkcode lstmUsesRegisterKernels}). */
  uT?: GPUBuffer;
  /** Output `[T, B, I]`. */
  dx: GPUBuffer;
  /** Output `[I, 4H]`. */
  dw: GPUBuffer;
  /** Output `[H, 4H]`. */
  du: GPUBuffer;
  /** Output `[4H]`. */
  db: GPUBuffer;
  /** Output `[B, H]`. */
  dh0: GPUBuffer;
  /** Output `[B, H]`. */
  dc0: GPUBuffer;
}

/** Encodes back-propagation through time: one dispatch per step, then the weight gradients. */
export function encodeLstmBackward(
  ctx: KernelContext,
  io: LstmBackwardBuffers,
  dims: LstmDims,
): void {
  const { steps: T, batch: B, hidden: H } = dims;
  const G = 4 * H;
  const bhBytes = B * H * 4;
  if (bhBytes > 0) {
    if (io.dhLast) ctx.copy(io.dhLast, 0, io.state, 0, bhBytes);
    else ctx.clear(io.state, 0, bhBytes);
    if (io.dcLast) ctx.copy(io.dcLast, 0, io.state, bhBytes, bhBytes);
    else ctx.clear(io.state, bhBytes, bhBytes);
    if (T > 0) {
      const sequence = io.uT !== undefined && lstmUsesSequenceKernels(ctx, dims);
      const register = !sequence && io.uT !== undefined && lstmUsesRegisterKernels(ctx);
      if (register || sequence) {
        ctx.dispatch("lstm_transpose_u", transposeKernel, [H, G], [io.u, io.uT!], [
          Math.ceil(G / 16),
          Math.ceil(H / 16),
          1,
        ]);
      }
      if (sequence) {
        const sv = { rows: lstmSequenceRows(H).backward, cache: true };
        ctx.dispatch(
          lstmSequenceBackwardKey(sv),
          () => lstmSequenceBackwardKernel(sv),
          [B, H, T, io.mask ? 1 : 0],
          [io.dGates, io.gates, io.cPrev, io.cTanh, io.dh, io.uT!, io.state, io.mask ?? io.u],
          [Math.ceil(B / sv.rows), 1, 1],
        );
      } else {
        encodeLstmBackSteps(ctx, io, dims, register);
      }
    }
    ctx.copy(io.state, 0, io.dh0, 0, bhBytes);
    ctx.copy(io.state, bhBytes, io.dc0, 0, bhBytes);
  }
  encodeLstmWeightGradients(ctx, io, dims);
}

/** Encodes back-propagation through time one dispatch per step, then one for the first state. */
function encodeLstmBackSteps(
  ctx: KernelContext,
  io: LstmBackwardBuffers,
  dims: LstmDims,
  register: boolean,
): void {
  const { steps: T, batch: B, hidden: H } = dims;
  const v: LstmVariant = { mask: io.mask !== undefined, cache: true };
  const rv: RegisterLstmVariant = { ...v, width: lstmRegisterWidth(H) };
  const buffers = [io.dGates, io.gates, io.cPrev, io.cTanh, io.dh, register ? io.uT! : io.u];
  buffers.push(io.state);
  if (io.mask || !register) buffers.push(io.mask ?? io.u);
  const uniforms = (t: number, src: number, first: number, last: number) =>
    register ? [B, H, t, src, first, last] : [B, H, t, src, first, last, io.mask ? 1 : 0];
  const groups = register
    ? [Math.ceil(H / rv.width / 16), Math.ceil(B / (4 * REGISTER_ROWS)), 1] as const
    : [Math.ceil(H / BACKWARD_UNITS), Math.ceil(B / TILE_ROWS), 1] as const;
  const key = register ? lstmBackwardRegisterKey(rv) : lstmBackwardKey(v);
  const build = register ? () => lstmBackwardRegisterKernel(rv) : () => lstmBackwardKernel(v);
  for (let t = T - 1; t >= 0; t--) {
    ctx.dispatch(key, build, uniforms(t, t + 1, t === T - 1 ? 1 : 0, 0), buffers, groups);
  }
  ctx.dispatch(key, build, uniforms(0, 0, 0, 1), buffers, groups);
}

/** Encodes the weight and input gradients from dG: three large matmuls and a row sum. */
function encodeLstmWeightGradients(
  ctx: KernelContext,
  io: LstmBackwardBuffers,
  dims: LstmDims,
): void {
  const { steps: T, batch: B, inputs: I, hidden: H } = dims;
  const G = 4 * H;
  const rows = T * B;
  const flags = { transposeA: true, transposeB: false, activation: "linear" } as const;
  encodeMatmul(ctx, io.x, io.dGates, io.dw, undefined, { m: I, n: G, k: rows, ...flags });
  encodeMatmul(ctx, io.hPrev, io.dGates, io.du, undefined, { m: H, n: G, k: rows, ...flags });
  encodeSumRows(ctx, io.dGates, io.db, rows, G);
  encodeMatmul(ctx, io.dGates, io.w, io.dx, undefined, {
    m: rows,
    n: I,
    k: G,
    transposeA: false,
    transposeB: true,
    activation: "linear",
  });
}
