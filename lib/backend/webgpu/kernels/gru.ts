/**
 * The GRU over a whole sequence, gates packed (z, r, h) as ONNX packs them, in both of ONNX's
 * forms (`linear_before_reset` 1 and 0; see `GruForwardOptions`).
 *
 * Forward: the input projection of all steps is one matmul (`G = X·W + bw`, `[T·B, 3H]`). Then,
 * with `linear_before_reset`, each step is ONE dispatch of `gru_forward_step`, which computes the
 * recurrent product `h_{t−1}·U` for its units (all three gates of each, so the gate math follows
 * in the same invocation), adds `bu`, applies the gates and stores what backward needs (the
 * masked `h_{t−1}`, the activated gates, and `h_{t−1}·U_h + bu_h`). Without it, the candidate's
 * product `(r ⊙ h_{t−1})·U_h` needs every unit's r first, so a step is two dispatches:
 * `gru_forward_zr` (z, r and `r ⊙ h_{t−1}`) and `gru_forward_h` (the candidate and `h_t`).
 *
 * Backward: with `linear_before_reset`, each step is ONE dispatch of `gru_backward_step`, which
 * computes the gradient flowing into `h_t` from step t+1 (`dG_{t+1}·Uᵀ`, the candidate's block
 * scaled by r, masked), adds `dh[t]` and writes `dG_t`, the gradient of the input projection's
 * output. Without it, two dispatches: `gru_backward_zh` (the same for the z and r blocks, then
 * dz and the candidate's gradient) and `gru_backward_r` (`d(r ⊙ h) = dG_h·U_hᵀ`, then dr). The
 * weight gradients follow as large matmuls and row sums over all steps at once; the recurrent
 * side's gradient comes from `dG` by `gru_reset_grad` (r ⊙ the candidate's block) or, without
 * `linear_before_reset`, by `gru_copy_columns` (the z and r blocks meet `h_{t−1}`, the candidate's
 * block `r ⊙ h_{t−1}`, so `dU` is two matmuls put side by side).
 *
 * A `[B, H]` state buffer carries the gradient into `h_t` between steps, so that no step binds
 * more than 8 storage buffers. The step kernels are register-blocked (each invocation owns
 * `width` units of a few batch rows, sums in registers, no workgroup memory) and read vec4s
 * where H is a multiple of 4; one family serves both kernel strategies, and the large matmuls
 * follow the strategy (see `KernelStrategy`).
 *
 * @module
 */

import { encodeMatmul } from "./matmul.ts";
import { encodeSumRows } from "./reduce.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
  WGSL_MATH,
} from "./kernel.ts";
import { laneWgsl, transposeKernel } from "./lstm.ts";
import { prefersSequenceKernels } from "./lstm_sequence.ts";
import {
  gruSequenceBackwardKernel,
  gruSequenceBackwardKey,
  gruSequenceForwardKernel,
  gruSequenceForwardKey,
  gruSequenceRows,
} from "./gru_sequence.ts";

/** Batch rows per invocation in the forward step kernels. */
const FORWARD_ROWS = 2;
/** Batch rows per invocation in the backward step kernels. */
const BACKWARD_ROWS = 4;

/** Template parameters of the GRU step kernels. */
export interface GruVariant {
  /** Hidden units per invocation: 4 (vec4 loads and math) where H % 4 == 0, else 1. */
  width: 1 | 4;
  /** A `[T, B]` reset mask is bound. */
  mask: boolean;
  /** Forward with `linear_before_reset` only: the cache for backward is stored. */
  cache: boolean;
}

/** The unit width of the step kernels for `hidden` units. */
export function gruWidth(hidden: number): 1 | 4 {
  return hidden % 4 === 0 ? 4 : 1;
}

/** The cache key of a GRU step kernel (`step` names it, e.g. "forward_step"). */
export function gruKey(step: string, v: GruVariant): string {
  return `gru_${step}_w${v.width}_m${+v.mask}_c${+v.cache}`;
}

type Buffers = [string, "read" | "write", string][];

/** The shared head of every step kernel: sizes, this invocation's units and (clamped) rows. */
function stepHead(width: number, rows: number, mask: boolean, maskStep: string): string {
  const each = Array.from({ length: rows }, (_, r) => r);
  return `
  let B = p.B; let t = p.t;
  let HW = p.H / ${width}u; let GW = 3u * HW; let BHW = B * HW;
  let jq = gid.x; let row0 = gid.y * ${rows}u;
  if (jq >= HW || row0 >= B) { return; }
  let lastRow = B - 1u;
  ${each.map((r) => `let b${r} = min(row0 + ${r}u, lastRow);`).join("\n  ")}
  ${
    each.map((r) => `let keep${r} = ${mask ? `mask[${maskStep} * B + b${r}]` : "1.0"};`).join(
      "\n  ",
    )
  }`;
}

/** The masked `h_{t−1}` of lane `q` in row `b` (read from `h0` at t = 0). */
function previous(type: string, r: number, q: string): string {
  return `var x${r}: ${type};
    if (t == 0u) { x${r} = h0[b${r} * HW + ${q}]; } else { x${r} = h[(t - 1u) * BHW + b${r} * HW + ${q}]; }
    x${r} = x${r} * keep${r};`;
}

/**
 * Accumulates `Σ_k x[k]·U[k, block·H + j]` into `acc<block><r>` for each listed block, k over the
 * lane's components (`x<r>` holds the row's k..k+width−1).
 */
function recurrentSums(width: 1 | 4, rows: number, blocks: string[]): string {
  const L = laneWgsl(width);
  const each = Array.from({ length: rows }, (_, r) => r);
  return L.each.map((e) =>
    `{
      let row = (kq * ${width}u + ${e}u) * GW + jq;
      ${blocks.map((name, i) => `let u${name} = U[row + ${i}u * HW];`).join(" ")}
      ${
      each.map((r) =>
        `let s${r} = ${L.comp(`x${r}`, e)}; ${
          blocks.map((name) => `a${name}${r} += s${r} * u${name};`).join(" ")
        }`
      ).join("\n      ")
    }
    }`
  ).join("\n    ");
}

/**
 * Builds `gru_forward_step` (`linear_before_reset`): per invocation, `width` units of
 * ${FORWARD_ROWS} batch rows, all three gates.
 */
export function gruForwardStepKernel(v: GruVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: Buffers = [
    ["gates", "write", L.type],
    ["h", "write", L.type],
    ["h0", "read", L.type],
    ["U", "read", L.type],
    ["bu", "read", L.type],
  ];
  if (v.mask) buffers.push(["mask", "read", "f32"]);
  if (v.cache) buffers.push(["hPrev", "write", L.type], ["reset", "write", L.type]);
  const rows = Array.from({ length: FORWARD_ROWS }, (_, r) => r);
  return makeKernel({
    key: gruKey("forward_step", v),
    workgroupSize: [16, 4, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["t", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(16, 4, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${stepHead(v.width, FORWARD_ROWS, v.mask, "t")}
  ${
      rows.map((r) => `var az${r} = ${L.zero}; var ar${r} = ${L.zero}; var ah${r} = ${L.zero};`)
        .join("\n  ")
    }
  for (var kq = 0u; kq < HW; kq++) {
    ${rows.map((r) => previous(L.type, r, "kq")).join("\n    ")}
    ${recurrentSums(v.width, FORWARD_ROWS, ["z", "r", "h"])}
  }
  ${
      rows.map((r) =>
        `if (row0 + ${r}u < B) {
    let b = b${r};
    let gi = (t * B + b) * GW + jq;
    let z = ${L.sigmoid}(gates[gi] + az${r} + bu[jq]);
    let rg = ${L.sigmoid}(gates[gi + HW] + ar${r} + bu[jq + HW]);
    let rh = ah${r} + bu[jq + 2u * HW];
    let n = ${L.tanh}(gates[gi + 2u * HW] + rg * rh);
    gates[gi] = z; gates[gi + HW] = rg; gates[gi + 2u * HW] = n;
    ${previous(L.type, r, "jq")}
    let hi = t * BHW + b * HW + jq;
    h[hi] = (1.0 - z) * n + z * x${r};
    ${v.cache ? `hPrev[hi] = x${r}; reset[hi] = rh;` : ""}
  }`
      ).join("\n  ")
    }
}`,
  });
}

/**
 * Builds `gru_forward_zr` (without `linear_before_reset`): z, r, the masked `h_{t−1}` and
 * `r ⊙ h_{t−1}`, the last two into `hPrev` and `reset` at step `slot` (t when the cache is
 * kept, else 0).
 */
export function gruForwardZrKernel(v: GruVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: Buffers = [
    ["gates", "write", L.type],
    ["h", "read", L.type],
    ["h0", "read", L.type],
    ["U", "read", L.type],
    ["bu", "read", L.type],
  ];
  if (v.mask) buffers.push(["mask", "read", "f32"]);
  buffers.push(["hPrev", "write", L.type], ["reset", "write", L.type]);
  const rows = Array.from({ length: FORWARD_ROWS }, (_, r) => r);
  return makeKernel({
    key: gruKey("forward_zr", { ...v, cache: false }),
    workgroupSize: [16, 4, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["t", "u32"], ["slot", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(16, 4, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${stepHead(v.width, FORWARD_ROWS, v.mask, "t")}
  ${rows.map((r) => `var az${r} = ${L.zero}; var ar${r} = ${L.zero};`).join("\n  ")}
  for (var kq = 0u; kq < HW; kq++) {
    ${rows.map((r) => previous(L.type, r, "kq")).join("\n    ")}
    ${recurrentSums(v.width, FORWARD_ROWS, ["z", "r"])}
  }
  ${
      rows.map((r) =>
        `if (row0 + ${r}u < B) {
    let b = b${r};
    let gi = (t * B + b) * GW + jq;
    let z = ${L.sigmoid}(gates[gi] + az${r} + bu[jq]);
    let rg = ${L.sigmoid}(gates[gi + HW] + ar${r} + bu[jq + HW]);
    gates[gi] = z; gates[gi + HW] = rg;
    ${previous(L.type, r, "jq")}
    let si = p.slot * BHW + b * HW + jq;
    hPrev[si] = x${r};
    reset[si] = rg * x${r};
  }`
      ).join("\n  ")
    }
}`,
  });
}

/**
 * Builds `gru_forward_h` (without `linear_before_reset`): the candidate
 * `tanh(g_h + (r ⊙ h_{t−1})·U_h + bu_h)` and `h_t`, reading step `slot` of `hPrev` and `reset`.
 */
export function gruForwardHKernel(v: GruVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: Buffers = [
    ["gates", "write", L.type],
    ["h", "write", L.type],
    ["hPrev", "read", L.type],
    ["reset", "read", L.type],
    ["U", "read", L.type],
    ["bu", "read", L.type],
  ];
  const rows = Array.from({ length: FORWARD_ROWS }, (_, r) => r);
  return makeKernel({
    key: gruKey("forward_h", { ...v, mask: false, cache: false }),
    workgroupSize: [16, 4, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["t", "u32"], ["slot", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(16, 4, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${stepHead(v.width, FORWARD_ROWS, false, "t")}
  let base = p.slot * BHW;
  ${rows.map((r) => `var ah${r} = ${L.zero};`).join(" ")}
  for (var kq = 0u; kq < HW; kq++) {
    ${rows.map((r) => `let x${r} = reset[base + b${r} * HW + kq];`).join("\n    ")}
    ${
      L.each.map((e) =>
        `{
      let uh = U[(kq * ${v.width}u + ${e}u) * GW + 2u * HW + jq];
      ${rows.map((r) => `ah${r} += ${L.comp(`x${r}`, e)} * uh;`).join(" ")}
    }`
      ).join("\n    ")
    }
  }
  ${
      rows.map((r) =>
        `if (row0 + ${r}u < B) {
    let b = b${r};
    let gi = (t * B + b) * GW + jq;
    let n = ${L.tanh}(gates[gi + 2u * HW] + ah${r} + bu[jq + 2u * HW]);
    gates[gi + 2u * HW] = n;
    let z = gates[gi];
    let hp = hPrev[base + b * HW + jq];
    h[t * BHW + b * HW + jq] = (1.0 - z) * n + z * hp;
  }`
      ).join("\n  ")
    }
}`,
  });
}

/**
 * WGSL accumulating `Σ_c dG_src[c]·Uᵀ[c, j]` over the blocks `from .. to` (in units of H) into
 * `acc<r>`; `scale` (optional) multiplies each `dG` lane first (the reset gate, for the
 * candidate's block with `linear_before_reset`).
 */
function transposedSums(
  width: 1 | 4,
  rows: number,
  from: number,
  to: number,
  scale?: (r: number) => string,
): string {
  const L = laneWgsl(width);
  const each = Array.from({ length: rows }, (_, r) => r);
  return `for (var kq = ${from}u * HW; kq < ${to}u * HW; kq++) {
    ${L.each.map((e) => `let u${e} = UT[(kq * ${width}u + ${e}u) * HW + jq];`).join("\n    ")}
    ${
    each.map((r) =>
      `let g${r} = dG[(src * B + b${r}) * GW + kq]${scale ? ` * ${scale(r)}` : ""};
    acc${r} += ${L.each.map((e) => `${L.comp(`g${r}`, e)} * u${e}`).join(" + ")};`
    ).join("\n    ")
  }
  }`;
}

/**
 * WGSL: the incoming gradient of `h_t` for row r (`first`: from `state`, which holds `dhLast`;
 * else `mask[src] · (acc + state)`, the state holding the direct path `dh_{t+1} ⊙ z_{t+1}`), and
 * with `last` (after step 0) storing it as the gradient of `h0`.
 */
function incoming(type: string, r: number, mask: boolean): string {
  return `let si = b * HW + jq;
    var dhIn: ${type};
    if (p.first != 0u) { dhIn = state[si]; } else { dhIn = (acc${r} + state[si])${
    mask ? " * mask[src * B + b]" : ""
  }; }`;
}

/**
 * Builds `gru_backward_step` (`linear_before_reset`): the whole step's gradient, reading `Uᵀ`
 * (`[3H, H]`) so that an invocation's units are contiguous at every k.
 */
export function gruBackwardStepKernel(v: GruVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: Buffers = [
    ["dG", "write", L.type],
    ["gates", "read", L.type],
    ["hPrev", "read", L.type],
    ["reset", "read", L.type],
    ["dh", "read", L.type],
    ["UT", "read", L.type],
    ["state", "write", L.type],
  ];
  if (v.mask) buffers.push(["mask", "read", "f32"]);
  const rows = Array.from({ length: BACKWARD_ROWS }, (_, r) => r);
  return makeKernel({
    key: gruKey("backward_step", { ...v, cache: false }),
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
  ${stepHead(v.width, BACKWARD_ROWS, false, "t")}
  let src = p.src;
  ${rows.map((r) => `var acc${r} = ${L.zero};`).join(" ")}
  if (p.first == 0u) {
    ${transposedSums(v.width, BACKWARD_ROWS, 0, 2)}
    ${
      transposedSums(
        v.width,
        BACKWARD_ROWS,
        2,
        3,
        (r) => `gates[(src * B + b${r}) * GW + kq - HW]`,
      )
    }
  }
  ${
      rows.map((r) =>
        `if (row0 + ${r}u < B) {
    let b = b${r};
    ${incoming(L.type, r, v.mask)}
    if (p.last != 0u) {
      state[si] = dhIn;
    } else {
      let gi = (t * B + b) * GW + jq;
      let z = gates[gi]; let rg = gates[gi + HW]; let n = gates[gi + 2u * HW];
      let hi = t * BHW + b * HW + jq;
      let dhv = dh[hi] + dhIn;
      let da = dhv * (1.0 - z) * (1.0 - n * n);
      dG[gi] = dhv * (hPrev[hi] - n) * z * (1.0 - z);
      dG[gi + HW] = da * reset[hi] * rg * (1.0 - rg);
      dG[gi + 2u * HW] = da;
      state[si] = dhv * z;
    }
  }`
      ).join("\n  ")
    }
}`,
  });
}

/**
 * Builds `gru_backward_zh` (without `linear_before_reset`): the incoming gradient through the z
 * and r blocks of step t+1, then dz and the candidate's gradient of step t.
 */
export function gruBackwardZhKernel(v: GruVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: Buffers = [
    ["dG", "write", L.type],
    ["gates", "read", L.type],
    ["hPrev", "read", L.type],
    ["dh", "read", L.type],
    ["UT", "read", L.type],
    ["state", "write", L.type],
  ];
  if (v.mask) buffers.push(["mask", "read", "f32"]);
  const rows = Array.from({ length: BACKWARD_ROWS }, (_, r) => r);
  return makeKernel({
    key: gruKey("backward_zh", { ...v, cache: false }),
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
  ${stepHead(v.width, BACKWARD_ROWS, false, "t")}
  let src = p.src;
  ${rows.map((r) => `var acc${r} = ${L.zero};`).join(" ")}
  if (p.first == 0u) {
    ${transposedSums(v.width, BACKWARD_ROWS, 0, 2)}
  }
  ${
      rows.map((r) =>
        `if (row0 + ${r}u < B) {
    let b = b${r};
    ${incoming(L.type, r, v.mask)}
    if (p.last != 0u) {
      state[si] = dhIn;
    } else {
      let gi = (t * B + b) * GW + jq;
      let z = gates[gi]; let n = gates[gi + 2u * HW];
      let hi = t * BHW + b * HW + jq;
      let dhv = dh[hi] + dhIn;
      dG[gi] = dhv * (hPrev[hi] - n) * z * (1.0 - z);
      dG[gi + 2u * HW] = dhv * (1.0 - z) * (1.0 - n * n);
      state[si] = dhv * z;
    }
  }`
      ).join("\n  ")
    }
}`,
  });
}

/**
 * Builds `gru_backward_r` (without `linear_before_reset`): `q = dG_h·U_hᵀ`, the gradient of
 * `r ⊙ h_{t−1}`, then `dr = q ⊙ h_{t−1} ⊙ r(1 − r)` and the reset path's share of the gradient
 * of `h_{t−1}`, `q ⊙ r`, added to the state.
 */
export function gruBackwardRKernel(v: GruVariant): Kernel {
  const L = laneWgsl(v.width);
  const buffers: Buffers = [
    ["dG", "write", L.type],
    ["gates", "read", L.type],
    ["hPrev", "read", L.type],
    ["UT", "read", L.type],
    ["state", "write", L.type],
  ];
  const rows = Array.from({ length: BACKWARD_ROWS }, (_, r) => r);
  return makeKernel({
    key: gruKey("backward_r", { ...v, mask: false, cache: false }),
    workgroupSize: [16, 4, 1],
    uniforms: [["B", "u32"], ["H", "u32"], ["t", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(16, 4, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${stepHead(v.width, BACKWARD_ROWS, false, "t")}
  let src = t;
  ${rows.map((r) => `var acc${r} = ${L.zero};`).join(" ")}
  ${transposedSums(v.width, BACKWARD_ROWS, 2, 3)}
  ${
      rows.map((r) =>
        `if (row0 + ${r}u < B) {
    let b = b${r};
    let gi = (t * B + b) * GW + jq;
    let rg = gates[gi + HW];
    dG[gi + HW] = acc${r} * hPrev[t * BHW + b * HW + jq] * rg * (1.0 - rg);
    let si = b * HW + jq;
    state[si] = state[si] + acc${r} * rg;
  }`
      ).join("\n  ")
    }
}`,
  });
}

/**
 * Kernel `gru_reset_grad`: the recurrent side's gradient with `linear_before_reset`, `dG` with
 * its candidate block multiplied by r: `out[i, c] = dG[i, c] · (c < 2H ? 1 : r[i, c − 2H])`.
 */
export function gruResetGradKernel(): Kernel {
  return makeKernel({
    key: "gru_reset_grad",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["n", "u32"], ["H", "u32"]],
    buffers: [["dG", "read"], ["gates", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.n) { return; }
  let c = i % (3u * p.H);
  var scale = 1.0;
  if (c >= 2u * p.H) { scale = gates[i - p.H]; }
  out[i] = dG[i] * scale;
}`,
  });
}

/**
 * Kernel `gru_copy_columns`: copies columns `srcStart .. srcStart + width` of each row of `src`
 * (`srcCols` wide) to columns `dstStart ..` of the same row of `dst` (`dstCols` wide).
 */
export function gruCopyColumnsKernel(): Kernel {
  return makeKernel({
    key: "gru_copy_columns",
    workgroupSize: [16, 16, 1],
    uniforms: [
      ["rows", "u32"],
      ["width", "u32"],
      ["srcCols", "u32"],
      ["srcStart", "u32"],
      ["dstCols", "u32"],
      ["dstStart", "u32"],
    ],
    buffers: [["src", "read"], ["dst", "write"]],
    body: `
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x; let r = gid.y;
  if (r < p.rows && c < p.width) {
    dst[r * p.dstCols + p.dstStart + c] = src[r * p.srcCols + p.srcStart + c];
  }
}`,
  });
}

/** The sizes of a GRU sequence. */
export interface GruDims {
  /** Steps. */
  steps: number;
  /** Batch. */
  batch: number;
  /** Input features. */
  inputs: number;
  /** Hidden units. */
  hidden: number;
}

/** The buffers of {@linkcode encodeGruForward}; the outputs are fully overwritten. */
export interface GruForwardBuffers {
  /** `[T, B, I]`. */
  x: GPUBuffer;
  /** `[I, 3H]`. */
  w: GPUBuffer;
  /** `[H, 3H]`. */
  u: GPUBuffer;
  /** `[3H]`. */
  bw: GPUBuffer;
  /** `[3H]`. */
  bu: GPUBuffer;
  /** `[B, H]`. */
  h0: GPUBuffer;
  /** `[T, B]`, optional. */
  mask?: GPUBuffer;
  /** Output `[T, B, 3H]`: the activated gates. */
  gates: GPUBuffer;
  /** Output `[T, B, H]`. */
  h: GPUBuffer;
  /**
   * `[T, B, H]` each: the cache (masked `h_{t−1}` and the reset gate's term), when kept; else,
   * without `linear_before_reset`, `[B, H]` scratch for one step's.
   */
  hPrev?: GPUBuffer;
  /** See `hPrev`. */
  reset?: GPUBuffer;
  /** Whether `hPrev` and `reset` hold every step (the cache) or one. */
  cache: boolean;
  /** Output `[B, H]`. */
  hLast: GPUBuffer;
}

/** Encodes the GRU forward over a sequence: one matmul, then one or two dispatches per step. */
export function encodeGruForward(
  ctx: KernelContext,
  io: GruForwardBuffers,
  dims: GruDims,
  linearBeforeReset: boolean,
): void {
  const { steps: T, batch: B, inputs: I, hidden: H } = dims;
  const bhBytes = B * H * 4;
  encodeMatmul(ctx, io.x, io.w, io.gates, io.bw, {
    m: T * B,
    n: 3 * H,
    k: I,
    transposeA: false,
    transposeB: false,
    activation: "linear",
  });
  if (bhBytes === 0) return;
  if (gruUsesSequenceKernels(ctx, dims, linearBeforeReset)) {
    const sv = { rows: gruSequenceRows(H).forward, cache: io.cache };
    const buffers = [io.gates, io.h, io.h0, io.u, io.bu, io.mask ?? io.bu];
    if (io.cache) buffers.push(io.hPrev!, io.reset!);
    ctx.dispatch(
      gruSequenceForwardKey(sv),
      () => gruSequenceForwardKernel(sv),
      [B, H, T, io.mask ? 1 : 0],
      buffers,
      [Math.ceil(B / sv.rows), 1, 1],
    );
  } else {
    encodeGruSteps(ctx, io, dims, linearBeforeReset);
  }
  if (T > 0) ctx.copy(io.h, (T - 1) * bhBytes, io.hLast, 0, bhBytes);
  else ctx.copy(io.h0, 0, io.hLast, 0, bhBytes);
}

/**
 * Whether the GRU over `dims` runs on the sequence-long kernels of gru_sequence.ts: with
 * `linear_before_reset`, where they fit, when asked for or by `prefersSequenceKernels` under
 * "auto".
 */
export function gruUsesSequenceKernels(
  ctx: KernelContext,
  dims: GruDims,
  linearBeforeReset: boolean,
): boolean {
  if (!linearBeforeReset || ctx.recurrent === "step" || dims.steps === 0) return false;
  const rows = gruSequenceRows(dims.hidden);
  if (dims.batch === 0 || rows.forward === 0 || rows.backward === 0) return false;
  return ctx.recurrent === "sequence" || prefersSequenceKernels(dims);
}

/** Encodes the forward recurrence one or two dispatches per step. */
function encodeGruSteps(
  ctx: KernelContext,
  io: GruForwardBuffers,
  dims: GruDims,
  linearBeforeReset: boolean,
): void {
  const { steps: T, batch: B, hidden: H } = dims;
  const v: GruVariant = { width: gruWidth(H), mask: io.mask !== undefined, cache: io.cache };
  const groups = [Math.ceil(H / v.width / 16), Math.ceil(B / (4 * FORWARD_ROWS)), 1] as const;
  const mask = io.mask ? [io.mask] : [];
  if (linearBeforeReset) {
    const buffers = [io.gates, io.h, io.h0, io.u, io.bu, ...mask];
    if (io.cache) buffers.push(io.hPrev!, io.reset!);
    const key = gruKey("forward_step", v);
    for (let t = 0; t < T; t++) {
      ctx.dispatch(key, () => gruForwardStepKernel(v), [B, H, t], buffers, groups);
    }
  } else {
    // Neither kernel's text depends on whether the cache is kept (only the uniform slot does).
    const zv = { ...v, cache: false }, hv = { ...v, mask: false, cache: false };
    const zr = [io.gates, io.h, io.h0, io.u, io.bu, ...mask, io.hPrev!, io.reset!];
    const candidate = [io.gates, io.h, io.hPrev!, io.reset!, io.u, io.bu];
    for (let t = 0; t < T; t++) {
      const slot = io.cache ? t : 0;
      ctx.dispatch(
        gruKey("forward_zr", zv),
        () => gruForwardZrKernel(zv),
        [B, H, t, slot],
        zr,
        groups,
      );
      ctx.dispatch(
        gruKey("forward_h", hv),
        () => gruForwardHKernel(hv),
        [B, H, t, slot],
        candidate,
        groups,
      );
    }
  }
}

/** The buffers of {@linkcode encodeGruBackward}; the outputs are fully overwritten. */
export interface GruBackwardBuffers {
  /** `[T, B, I]`. */
  x: GPUBuffer;
  /** `[I, 3H]`. */
  w: GPUBuffer;
  /** `[H, 3H]`. */
  u: GPUBuffer;
  /** The forward caches: `[T, B, H]`. */
  hPrev: GPUBuffer;
  /** `[T, B, 3H]`. */
  gates: GPUBuffer;
  /** `[T, B, H]`. */
  reset: GPUBuffer;
  /** `[T, B]`, optional. */
  mask?: GPUBuffer;
  /** `[T, B, H]`: the gradient with respect to every output. */
  dh: GPUBuffer;
  /** `[B, H]`, optional. */
  dhLast?: GPUBuffer;
  /** Scratch `[T, B, 3H]`: the gradient of the input projection's output. */
  dGates: GPUBuffer;
  /** Scratch `[B, H]`. */
  state: GPUBuffer;
  /** Scratch `[3H, H]` for Uᵀ. */
  uT: GPUBuffer;
  /**
   * Scratch for the recurrent side's gradient: with `linear_before_reset` one `[T, B, 3H]`;
   * without, `[T·B, 2H]` and `[T·B, H]` for the gradient's blocks and `[H, 2H]` and `[H, H]`
   * for dU's.
   */
  recurrent: GPUBuffer[];
  /** Output `[T, B, I]`. */
  dx: GPUBuffer;
  /** Output `[I, 3H]`. */
  dw: GPUBuffer;
  /** Output `[H, 3H]`. */
  du: GPUBuffer;
  /** Output `[3H]`. */
  dbw: GPUBuffer;
  /** Output `[3H]`. */
  dbu: GPUBuffer;
  /** Output `[B, H]`. */
  dh0: GPUBuffer;
}

/** The scratch buffers {@linkcode GruBackwardBuffers.recurrent} needs, as `[rows, cols]`. */
export function gruRecurrentScratch(dims: GruDims, linearBeforeReset: boolean): number[][] {
  const rows = dims.steps * dims.batch, H = dims.hidden;
  return linearBeforeReset ? [[rows, 3 * H]] : [[rows, 2 * H], [rows, H], [H, 2 * H], [H, H]];
}

/** Encodes a copy of a block of columns between two row-major matrices of `rows` rows. */
function encodeCopyColumns(
  ctx: KernelContext,
  src: GPUBuffer,
  dst: GPUBuffer,
  rows: number,
  width: number,
  from: { cols: number; start: number },
  to: { cols: number; start: number },
): void {
  if (rows * width === 0) return;
  ctx.dispatch(
    "gru_copy_columns",
    gruCopyColumnsKernel,
    [rows, width, from.cols, from.start, to.cols, to.start],
    [src, dst],
    [Math.ceil(width / 16), Math.ceil(rows / 16), 1],
  );
}

/** Encodes back-propagation through time: one or two dispatches per step, then the weights'. */
export function encodeGruBackward(
  ctx: KernelContext,
  io: GruBackwardBuffers,
  dims: GruDims,
  linearBeforeReset: boolean,
): void {
  const { steps: T, batch: B, hidden: H } = dims;
  const G = 3 * H;
  const bhBytes = B * H * 4;
  if (bhBytes > 0) {
    if (io.dhLast) ctx.copy(io.dhLast, 0, io.state, 0, bhBytes);
    else ctx.clear(io.state, 0, bhBytes);
    if (T > 0) {
      ctx.dispatch("lstm_transpose_u", transposeKernel, [H, G], [io.u, io.uT], [
        Math.ceil(G / 16),
        Math.ceil(H / 16),
        1,
      ]);
      if (gruUsesSequenceKernels(ctx, dims, linearBeforeReset)) {
        const sv = { rows: gruSequenceRows(H).backward, cache: true };
        ctx.dispatch(
          gruSequenceBackwardKey(sv),
          () => gruSequenceBackwardKernel(sv),
          [B, H, T, io.mask ? 1 : 0],
          [io.dGates, io.gates, io.hPrev, io.reset, io.dh, io.uT, io.state, io.mask ?? io.uT],
          [Math.ceil(B / sv.rows), 1, 1],
        );
      } else {
        encodeGruBackSteps(ctx, io, dims, linearBeforeReset);
      }
    }
    ctx.copy(io.state, 0, io.dh0, 0, bhBytes);
  }
  encodeGruWeightGradients(ctx, io, dims, linearBeforeReset);
}

/** Encodes back-propagation through time one or two dispatches per step. */
function encodeGruBackSteps(
  ctx: KernelContext,
  io: GruBackwardBuffers,
  dims: GruDims,
  linearBeforeReset: boolean,
): void {
  const { steps: T, batch: B, hidden: H } = dims;
  const v: GruVariant = { width: gruWidth(H), mask: io.mask !== undefined, cache: false };
  const groups = [Math.ceil(H / v.width / 16), Math.ceil(B / (4 * BACKWARD_ROWS)), 1] as const;
  const mask = io.mask ? [io.mask] : [];
  const flags = (t: number, first: boolean, last: boolean) => [
    B,
    H,
    t,
    last ? 0 : t + 1,
    first ? 1 : 0,
    last ? 1 : 0,
  ];
  if (linearBeforeReset) {
    const key = gruKey("backward_step", v);
    const build = () => gruBackwardStepKernel(v);
    const buffers = [io.dGates, io.gates, io.hPrev, io.reset, io.dh, io.uT, io.state, ...mask];
    for (let t = T - 1; t >= 0; t--) {
      ctx.dispatch(key, build, flags(t, t === T - 1, false), buffers, groups);
    }
    ctx.dispatch(key, build, flags(0, false, true), buffers, groups);
  } else {
    const zh = [io.dGates, io.gates, io.hPrev, io.dh, io.uT, io.state, ...mask];
    const r = [io.dGates, io.gates, io.hPrev, io.uT, io.state];
    const rv = { ...v, mask: false };
    const buildZh = () => gruBackwardZhKernel(v);
    for (let t = T - 1; t >= 0; t--) {
      ctx.dispatch(gruKey("backward_zh", v), buildZh, flags(t, t === T - 1, false), zh, groups);
      ctx.dispatch(
        gruKey("backward_r", rv),
        () => gruBackwardRKernel(rv),
        [B, H, t],
        r,
        groups,
      );
    }
    ctx.dispatch(gruKey("backward_zh", v), buildZh, flags(0, false, true), zh, groups);
  }
}

/** Encodes the weight and input gradients from dG: large matmuls and row sums over all steps. */
function encodeGruWeightGradients(
  ctx: KernelContext,
  io: GruBackwardBuffers,
  dims: GruDims,
  linearBeforeReset: boolean,
): void {
  const { steps: T, batch: B, inputs: I, hidden: H } = dims;
  const G = 3 * H;
  const rows = T * B;
  const flags = { transposeA: true, transposeB: false, activation: "linear" } as const;
  encodeMatmul(ctx, io.x, io.dGates, io.dw, undefined, { m: I, n: G, k: rows, ...flags });
  encodeSumRows(ctx, io.dGates, io.dbw, rows, G);
  encodeMatmul(ctx, io.dGates, io.w, io.dx, undefined, {
    m: rows,
    n: I,
    k: G,
    transposeA: false,
    transposeB: true,
    activation: "linear",
  });
  if (linearBeforeReset) {
    const [dGu] = io.recurrent;
    const n = rows * G;
    if (n > 0) {
      ctx.dispatch(
        "gru_reset_grad",
        gruResetGradKernel,
        [n, H],
        [io.dGates, io.gates, dGu],
        linearWorkgroups(ctx, n),
      );
    }
    encodeMatmul(ctx, io.hPrev, dGu, io.du, undefined, { m: H, n: G, k: rows, ...flags });
    encodeSumRows(ctx, dGu, io.dbu, rows, G);
  } else {
    const [dGzr, dGh, duzr, duh] = io.recurrent;
    const all = { cols: G, start: 0 };
    encodeCopyColumns(ctx, io.dGates, dGzr, rows, 2 * H, all, { cols: 2 * H, start: 0 });
    encodeCopyColumns(ctx, io.dGates, dGh, rows, H, { cols: G, start: 2 * H }, {
      cols: H,
      start: 0,
    });
    encodeMatmul(ctx, io.hPrev, dGzr, duzr, undefined, { m: H, n: 2 * H, k: rows, ...flags });
    encodeMatmul(ctx, io.reset, dGh, duh, undefined, { m: H, n: H, k: rows, ...flags });
    encodeCopyColumns(ctx, duzr, io.du, H, 2 * H, { cols: 2 * H, start: 0 }, all);
    encodeCopyColumns(ctx, duh, io.du, H, H, { cols: H, start: 0 }, { cols: G, start: 2 * H });
    // bu enters every pre-activation exactly where bw does.
    if (G > 0) ctx.copy(io.dbw, 0, io.dbu, 0, G * 4);
  }
}
