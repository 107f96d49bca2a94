/**
 * Q-value kernels over `[B, A]` rows: argmax (lowest index on ties), epsilon-greedy with the
 * counter-based RNG of `counterUniform`, gather of `Q(s, a)`, its transpose (scatter) and the
 * (double) DQN target. One invocation per row (scatter: per element). Actions are float tensors
 * holding integers; an action that is not an integer in `0..A−1` yields NaN (the CPU backend
 * throws, which a GPU kernel cannot).
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
  WGSL_PCG,
} from "./kernel.ts";

/** WGSL: the argmax of row `r` of `q` (`cols` wide), strict `>` so the lowest index wins ties. */
function wgslArgmax(buffer: string): string {
  return `
fn argmax_${buffer}(r: u32, cols: u32) -> u32 {
  var best = 0u;
  var value = ${buffer}[r * cols];
  for (var j = 1u; j < cols; j++) {
    let x = ${buffer}[r * cols + j];
    if (x > value) { value = x; best = j; }
  }
  return best;
}`;
}

/** WGSL: whether `a` is an integer action in `0..cols−1`. */
const WGSL_VALID_ACTION = `
fn valid_action(a: f32, cols: u32) -> bool { return a >= 0.0 && a < f32(cols) && floor(a) == a; }
// A runtime value: a constant expression must not evaluate to NaN.
var<private> nan_bits: u32 = 0x7fc00000u;`;

function rowKernel(
  key: string,
  buffers: [string, "read" | "write"][],
  extraUniforms: [
    string,
    "u32" | "f32",
  ][],
  helpers: string,
  body: string,
): Kernel {
  return makeKernel({
    key,
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["rows", "u32"], ["cols", "u32"], ...extraUniforms],
    buffers,
    body: `
${WGSL_LINEAR_INDEX}
${helpers}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = linear_index(gid, groups);
  if (r >= p.rows) { return; }
  ${body}
}`,
  });
}

/** Kernel `q_argmax`. */
export function argmaxKernel(): Kernel {
  return rowKernel(
    "q_argmax",
    [["q", "read"], ["out", "write"]],
    [],
    wgslArgmax("q"),
    "out[r] = f32(argmax_q(r, p.cols));",
  );
}

/** Encodes `out[r] = argmax_j q[r, j]`. */
export function encodeArgmax(
  ctx: KernelContext,
  q: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  cols: number,
): void {
  if (rows === 0) return;
  ctx.dispatch("q_argmax", argmaxKernel, [rows, cols], [q, out], linearWorkgroups(ctx, rows));
}

/**
 * Kernel `q_epsilon_greedy`. Row r explores when the 24 bits of lane 2r are below
 * `threshold = ceil(ε·2^24)` (exactly `counterUniform < ε`), and then takes action
 * `floor(bits(2r+1)·A / 2^24)`, computed exactly in 32-bit pieces.
 */
export function epsilonGreedyKernel(): Kernel {
  return rowKernel(
    "q_epsilon_greedy",
    [["q", "read"], ["out", "write"]],
    [["threshold", "u32"], ["seed", "u32"], ["counter", "u32"]],
    `${wgslArgmax("q")}\n${WGSL_PCG}`,
    `let explore = counter_bits(p.seed, p.counter, 2u * r);
  if (explore < p.threshold) {
    let bits = counter_bits(p.seed, p.counter, 2u * r + 1u);
    let scaled = ((bits >> 12u) * p.cols + (((bits & 0xfffu) * p.cols) >> 12u)) >> 12u;
    out[r] = f32(min(scaled, p.cols - 1u));
  } else {
    out[r] = f32(argmax_q(r, p.cols));
  }`,
  );
}

/** Encodes epsilon-greedy actions (see {@linkcode epsilonGreedyKernel}). */
export function encodeEpsilonGreedy(
  ctx: KernelContext,
  q: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  cols: number,
  epsilon: number,
  seed: number,
  counter: number,
): void {
  if (rows === 0) return;
  if (cols > 1 << 20) {
    throw new RangeError(`Cannot draw epsilon-greedy actions: ${cols} actions exceed 2^20`);
  }
  // counterUniform(...) = bits / 2^24 < ε  ⇔  bits < ceil(ε·2^24); NaN explores never.
  const scaled = Math.ceil(epsilon * 16777216);
  const threshold = Number.isNaN(scaled) ? 0 : Math.min(Math.max(scaled, 0), 16777216);
  ctx.dispatch(
    "q_epsilon_greedy",
    epsilonGreedyKernel,
    [rows, cols, threshold, seed >>> 0, counter >>> 0],
    [q, out],
    linearWorkgroups(ctx, rows),
  );
}

/**
 * Kernel `q_sample`: row r's action drawn from its probabilities by inversion, the first action
 * whose float32 running sum exceeds `u = bits(r) / 2^24` (the last action with a positive
 * probability where rounding leaves the total at or below u), as the CPU reference sums them.
 */
export function sampleKernel(): Kernel {
  return rowKernel(
    "q_sample",
    [["probs", "read"], ["out", "write"]],
    [["seed", "u32"], ["counter", "u32"]],
    WGSL_PCG,
    `let u = f32(counter_bits(p.seed, p.counter, r)) / 16777216.0f;
  let o = r * p.cols;
  var last = 0u;
  for (var a = 0u; a < p.cols; a++) { if (probs[o + a] > 0.0f) { last = a; } }
  var pick = last;
  var total = 0.0f;
  for (var a = 0u; a < p.cols; a++) {
    total = total + probs[o + a];
    if (u < total) { pick = a; break; }
  }
  out[r] = f32(pick);`,
  );
}

/** Encodes sampled actions (see {@linkcode sampleKernel}). */
export function encodeSample(
  ctx: KernelContext,
  probs: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  cols: number,
  seed: number,
  counter: number,
): void {
  if (rows === 0) return;
  ctx.dispatch(
    "q_sample",
    sampleKernel,
    [rows, cols, seed >>> 0, counter >>> 0],
    [probs, out],
    linearWorkgroups(ctx, rows),
  );
}

/**
 * Kernel `gaussian_noise`: `out[r]`, a standard normal by Box–Muller from the counter bits of
 * lanes 2r and 2r + 1 (see `Backend.gaussianNoise`), in float32.
 */
export function gaussianNoiseKernel(): Kernel {
  return rowKernel(
    "gaussian_noise",
    [["out", "write"]],
    [["seed", "u32"], ["counter", "u32"]],
    WGSL_PCG,
    `let u1 = f32(counter_bits(p.seed, p.counter, 2u * r) + 1u) / 16777216.0f;
  let u2 = f32(counter_bits(p.seed, p.counter, 2u * r + 1u)) / 16777216.0f;
  out[r] = sqrt(-2.0f * log(u1)) * cos(6.283185307179586f * u2);`,
  );
}

/** Encodes `count` standard normal draws (see {@linkcode gaussianNoiseKernel}). */
export function encodeGaussianNoise(
  ctx: KernelContext,
  out: GPUBuffer,
  count: number,
  seed: number,
  counter: number,
): void {
  if (count === 0) return;
  ctx.dispatch(
    "gaussian_noise",
    gaussianNoiseKernel,
    [count, 1, seed >>> 0, counter >>> 0],
    [out],
    linearWorkgroups(ctx, count),
  );
}

/** Kernel `q_gather`: `out[r] = q[r, actions[r]]`. */
export function gatherKernel(): Kernel {
  return rowKernel(
    "q_gather",
    [["q", "read"], ["actions", "read"], ["out", "write"]],
    [],
    WGSL_VALID_ACTION,
    `let a = actions[r];
  if (valid_action(a, p.cols)) { out[r] = q[r * p.cols + u32(a)]; } else { out[r] = bitcast<f32>(nan_bits); }`,
  );
}

/** Encodes `out[r] = q[r, actions[r]]`. */
export function encodeGather(
  ctx: KernelContext,
  q: GPUBuffer,
  actions: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  cols: number,
): void {
  if (rows === 0) return;
  ctx.dispatch(
    "q_gather",
    gatherKernel,
    [rows, cols],
    [q, actions, out],
    linearWorkgroups(ctx, rows),
  );
}

/** Kernel `q_scatter`: one invocation per element of the `[B, A]` output. */
export function scatterKernel(): Kernel {
  return makeKernel({
    key: "q_scatter",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["rows", "u32"], ["cols", "u32"]],
    buffers: [["values", "read"], ["actions", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_VALID_ACTION}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.rows * p.cols) { return; }
  let r = i / p.cols;
  let a = actions[r];
  if (!valid_action(a, p.cols)) { out[i] = bitcast<f32>(nan_bits); return; }
  out[i] = select(0.0, values[r], u32(a) == i % p.cols);
}`,
  });
}

/** Encodes `out = 0` except `out[r, actions[r]] = values[r]`. */
export function encodeScatter(
  ctx: KernelContext,
  values: GPUBuffer,
  actions: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  cols: number,
): void {
  if (rows * cols === 0) return;
  ctx.dispatch(
    "q_scatter",
    scatterKernel,
    [rows, cols],
    [values, actions, out],
    linearWorkgroups(ctx, rows * cols),
  );
}

/** Kernel `q_dqn_target`: `r + γ·(1 − terminated)·qTarget[s', argmax qSelect[s']]`. */
export function dqnTargetKernel(): Kernel {
  return rowKernel(
    "q_dqn_target",
    [["qSelect", "read"], ["qTarget", "read"], ["rewards", "read"], ["terminated", "read"], [
      "out",
      "write",
    ]],
    [["gamma", "f32"]],
    wgslArgmax("qSelect"),
    `let best = argmax_qSelect(r, p.cols);
  out[r] = rewards[r] + p.gamma * (1.0 - terminated[r]) * qTarget[r * p.cols + best];`,
  );
}

/** Encodes the (double) DQN target. */
export function encodeDqnTarget(
  ctx: KernelContext,
  buffers: {
    qSelect: GPUBuffer;
    qTarget: GPUBuffer;
    rewards: GPUBuffer;
    terminated: GPUBuffer;
    out: GPUBuffer;
  },
  rows: number,
  cols: number,
  gamma: number,
): void {
  if (rows === 0) return;
  const { qSelect, qTarget, rewards, terminated, out } = buffers;
  ctx.dispatch(
    "q_dqn_target",
    dqnTargetKernel,
    [rows, cols, gamma],
    [qSelect, qTarget, rewards, terminated, out],
    linearWorkgroups(ctx, rows),
  );
}
