/**
 * Reductions: `sum` (all elements), `sumRows` (over the rows of a matrix) and the global-norm
 * clipping of a list of gradients. Whole-tensor sums run in one workgroup of 256 invocations
 * (a strided pass, then a tree in workgroup memory), so their order, and with it their rounding,
 * is fixed from run to run; the result stays on the GPU.
 *
 * @module
 */

import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
} from "./kernel.ts";

/** WGSL: the tree reduction of `partial` in workgroup memory; the total ends in `partial[0]`. */
export const WGSL_TREE_SUM = `
var<workgroup> partial: array<f32, 256>;
fn tree_sum(tid: u32, value: f32) -> f32 {
  partial[tid] = value;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride = stride / 2u) {
    if (tid < stride) { partial[tid] += partial[tid + stride]; }
    workgroupBarrier();
  }
  return partial[0];
}`;

/**
 * The whole-tensor sum (`squares` false: `out[0] = Σ x`; true: `out[0] += Σ x²`): one workgroup
 * strides over the `n` elements.
 */
export function sumKernel(squares: boolean): Kernel {
  const term = squares ? "x[i] * x[i]" : "x[i]";
  const store = squares ? "out[0] = out[0] + total;" : "out[0] = total;";
  return makeKernel({
    key: squares ? "reduce_sum_squares_acc" : "reduce_sum",
    workgroupSize: [256, 1, 1],
    uniforms: [["n", "u32"]],
    buffers: [["x", "read"], ["out", "write"]],
    body: `
${WGSL_TREE_SUM}
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) tid: u32) {
  var s = 0.0;
  for (var i = tid; i < p.n; i += 256u) { s += ${term}; }
  let total = tree_sum(tid, s);
  if (tid == 0u) { ${store} }
}`,
  });
}

/** Encodes `out[0] = Σ x` over `n` elements. */
export function encodeSum(ctx: KernelContext, x: GPUBuffer, out: GPUBuffer, n: number): void {
  ctx.dispatch("reduce_sum", () => sumKernel(false), [n], [x, out], [1, 1, 1]);
}

/** Encodes `out[0] += Σ x²` over `n` elements. */
export function encodeSumSquaresInto(
  ctx: KernelContext,
  x: GPUBuffer,
  out: GPUBuffer,
  n: number,
): void {
  if (n === 0) return;
  ctx.dispatch("reduce_sum_squares_acc", () => sumKernel(true), [n], [x, out], [1, 1, 1]);
}

/** Kernel `sum_rows`: one invocation per column sums the `m` rows of an `[m, n]` matrix. */
export function sumRowsKernel(): Kernel {
  return makeKernel({
    key: "reduce_sum_rows",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["m", "u32"], ["n", "u32"]],
    buffers: [["x", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let j = linear_index(gid, groups);
  if (j >= p.n) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.m; r++) { s += x[r * p.n + j]; }
  out[j] = s;
}`,
  });
}

/** Encodes `out[j] = Σ_r x[r, j]` for an `[m, n]` matrix. */
export function encodeSumRows(
  ctx: KernelContext,
  x: GPUBuffer,
  out: GPUBuffer,
  m: number,
  n: number,
): void {
  if (n === 0) return;
  ctx.dispatch(
    "reduce_sum_rows",
    sumRowsKernel,
    [m, n],
    [x, out],
    linearWorkgroups(ctx, n),
  );
}

/** Kernel `clip_sqrt`: turns the accumulated sum of squares in `norm[0]` into its square root. */
export function sqrtKernel(): Kernel {
  return makeKernel({
    key: "clip_sqrt",
    workgroupSize: [1, 1, 1],
    uniforms: [],
    buffers: [["norm", "write"]],
    body: `
@compute @workgroup_size(1, 1, 1)
fn main() { norm[0] = sqrt(norm[0]); }`,
  });
}

/** Kernel `clip_scale`: `g *= maxNorm / norm` where `norm > maxNorm`, reading the norm on the GPU. */
export function clipScaleKernel(): Kernel {
  return makeKernel({
    key: "clip_scale",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["n", "u32"], ["maxNorm", "f32"]],
    buffers: [["norm", "read"], ["g", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  let total = norm[0];
  if (i < p.n && total > p.maxNorm) { g[i] = g[i] * (p.maxNorm / total); }
}`,
  });
}

/**
 * Encodes global-norm clipping: `norm` (a zeroed `[1]` buffer) receives the L2 norm of all
 * gradients, then every gradient is scaled in place when the norm exceeds `maxNorm`.
 */
export function encodeClipByGlobalNorm(
  ctx: KernelContext,
  grads: readonly { buffer: GPUBuffer; size: number }[],
  norm: GPUBuffer,
  maxNorm: number,
): void {
  for (const g of grads) encodeSumSquaresInto(ctx, g.buffer, norm, g.size);
  ctx.dispatch("clip_sqrt", sqrtKernel, [], [norm], [1, 1, 1]);
  for (const g of grads) {
    if (g.size === 0) continue;
    ctx.dispatch(
      "clip_scale",
      clipScaleKernel,
      [g.size, maxNorm],
      [norm, g.buffer],
      linearWorkgroups(ctx, g.size),
    );
  }
}
