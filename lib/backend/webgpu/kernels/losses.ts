/**
 * Losses and softmax: mean squared error, Huber, the policy-gradient loss with an entropy bonus
 * (each writing the gradient and the mean loss as a `[1]` buffer that stays on the GPU), and the
 * row softmax and log-softmax. The losses run in one workgroup that strides over the elements (or rows) and sums
 * its partial losses as a tree, so the reduction order is fixed.
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
import { WGSL_TREE_SUM } from "./reduce.ts";

/** The elementwise losses. */
export type ElementLoss = "mse" | "huber";

const ELEMENT_LOSS: Record<ElementLoss, string> = {
  mse: `let d = pred[i] - tgt[i];
    s += d * d;
    grad[i] = 2.0 * d / f32(p.n);`,
  huber: `let d = pred[i] - tgt[i];
    let ad = abs(d);
    if (ad <= p.delta) {
      s += 0.5 * d * d;
      grad[i] = d / f32(p.n);
    } else {
      s += p.delta * (ad - 0.5 * p.delta);
      grad[i] = select(-p.delta, p.delta, d > 0.0) / f32(p.n);
    }`,
};

/** Kernel `loss_mse` or `loss_huber`. */
export function elementLossKernel(kind: ElementLoss): Kernel {
  return makeKernel({
    key: `loss_${kind}`,
    workgroupSize: [256, 1, 1],
    uniforms: [["n", "u32"], ["delta", "f32"]],
    buffers: [["pred", "read"], ["tgt", "read"], ["grad", "write"], ["loss", "write"]],
    body: `
${WGSL_TREE_SUM}
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) tid: u32) {
  var s = 0.0;
  for (var i = tid; i < p.n; i += 256u) {
    ${ELEMENT_LOSS[kind]}
  }
  let total = tree_sum(tid, s);
  if (tid == 0u) { loss[0] = select(0.0, total / f32(p.n), p.n > 0u); }
}`,
  });
}

/** Encodes an elementwise loss over `n` elements: `grad` and the mean into `loss[0]`. */
export function encodeElementLoss(
  ctx: KernelContext,
  kind: ElementLoss,
  buffers: { pred: GPUBuffer; tgt: GPUBuffer; grad: GPUBuffer; loss: GPUBuffer },
  n: number,
  delta: number = 0,
): void {
  ctx.dispatch(
    `loss_${kind}`,
    () => elementLossKernel(kind),
    [n, delta],
    [buffers.pred, buffers.tgt, buffers.grad, buffers.loss],
    [1, 1, 1],
  );
}

/** WGSL: the max and the sum of exponentials of row `row` (offset) of `x`, `cols` wide. */
const WGSL_ROW_SOFTMAX = `
fn row_stats(row: u32, cols: u32) -> vec2<f32> {
  var mx = x[row];
  for (var j = 1u; j < cols; j++) { mx = max(mx, x[row + j]); }
  var total = 0.0;
  for (var j = 0u; j < cols; j++) { total += exp(x[row + j] - mx); }
  return vec2<f32>(mx, total);
}`;

/**
 * Kernel `softmax_rows`, or `log_softmax_rows` with `log`: one invocation per row. The log form
 * is `(x − max) − log Σ exp(x − max)`, which keeps −Infinity logits at −Infinity.
 */
export function softmaxKernel(log: boolean): Kernel {
  const value = log
    ? "(x[row + j] - stats.x) - log(stats.y)"
    : "exp(x[row + j] - stats.x) / stats.y";
  return makeKernel({
    key: log ? "log_softmax_rows" : "softmax_rows",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["rows", "u32"], ["cols", "u32"]],
    buffers: [["x", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_ROW_SOFTMAX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = linear_index(gid, groups);
  if (r >= p.rows || p.cols == 0u) { return; }
  let row = r * p.cols;
  let stats = row_stats(row, p.cols);
  for (var j = 0u; j < p.cols; j++) { out[row + j] = ${value}; }
}`,
  });
}

/** Encodes the softmax (or with `log`, the log-softmax) of each row of `[rows, cols]`. */
export function encodeSoftmax(
  ctx: KernelContext,
  x: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  cols: number,
  log: boolean = false,
): void {
  if (rows * cols === 0) return;
  ctx.dispatch(
    log ? "log_softmax_rows" : "softmax_rows",
    () => softmaxKernel(log),
    [rows, cols],
    [x, out],
    linearWorkgroups(ctx, rows),
  );
}

/**
 * Kernel `loss_policy`: per row, `−w·log π(a) − β·H(π)` and its gradient with respect to the
 * logits, divided by the number of rows; the mean loss goes to `loss[0]`.
 */
export function policyLossKernel(): Kernel {
  return makeKernel({
    key: "loss_policy",
    workgroupSize: [256, 1, 1],
    uniforms: [["rows", "u32"], ["cols", "u32"], ["beta", "f32"]],
    buffers: [["x", "read"], ["actions", "read"], ["weights", "read"], ["grad", "write"], [
      "loss",
      "write",
    ]],
    body: `
${WGSL_TREE_SUM}
${WGSL_ROW_SOFTMAX}
var<private> nan_bits: u32 = 0x7fc00000u;
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) tid: u32) {
  let cols = p.cols;
  let n = f32(p.rows);
  var s = 0.0;
  for (var r = tid; r < p.rows; r += 256u) {
    let row = r * cols;
    let stats = row_stats(row, cols);
    var entropy = 0.0;
    for (var j = 0u; j < cols; j++) {
      let pj = exp(x[row + j] - stats.x) / stats.y;
      if (pj > 0.0) { entropy -= pj * log(pj); }
    }
    let a = actions[r];
    let w = weights[r];
    if (!(a >= 0.0 && a < f32(cols) && floor(a) == a)) {
      s += bitcast<f32>(nan_bits);
      for (var j = 0u; j < cols; j++) { grad[row + j] = bitcast<f32>(nan_bits); }
      continue;
    }
    let action = u32(a);
    let pa = exp(x[row + action] - stats.x) / stats.y;
    s += -w * log(max(pa, 1e-30)) - p.beta * entropy;
    for (var j = 0u; j < cols; j++) {
      let pj = exp(x[row + j] - stats.x) / stats.y;
      let logp = select(0.0, log(pj), pj > 0.0);
      let dLogPi = select(0.0, 1.0, j == action) - pj;
      grad[row + j] = (-w * dLogPi + p.beta * pj * (logp + entropy)) / n;
    }
  }
  let total = tree_sum(tid, s);
  if (tid == 0u) { loss[0] = total / n; }
}`,
  });
}

/** Encodes the policy-gradient loss over `[rows, cols]` logits. */
export function encodePolicyLoss(
  ctx: KernelContext,
  buffers: {
    logits: GPUBuffer;
    actions: GPUBuffer;
    weights: GPUBuffer;
    grad: GPUBuffer;
    loss: GPUBuffer;
  },
  rows: number,
  cols: number,
  entropyCoef: number,
): void {
  const { logits, actions, weights, grad, loss } = buffers;
  ctx.dispatch(
    "loss_policy",
    policyLossKernel,
    [rows, cols, entropyCoef],
    [logits, actions, weights, grad, loss],
    [1, 1, 1],
  );
}
