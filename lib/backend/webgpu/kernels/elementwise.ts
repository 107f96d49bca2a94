/**
 * Elementwise kernels, one family: arithmetic (`add`, `sub`, `mul`, `div`, `minimum`,
 * `maximum`), comparisons, `where`, unary maps (`exp`, `log`, `abs`, `clamp`, `addScalar`,
 * `scale`), `axpyInPlace`, and the activations and their gradients. Each op is one WGSL
 * expression for `out[i]` over its input buffers and the uniform scalars `p.s` and `p.t`; the
 * shader text, and with it the pipeline, depends on the op alone. One invocation per element
 * over a {@linkcode linearWorkgroups} grid; the element count is a uniform.
 *
 * @module
 */

import type { Activation } from "../../backend.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
  WGSL_MATH,
  wgslActivation,
} from "./kernel.ts";

/** The elementwise operations (see {@linkcode elementwiseKernel}). */
export type ElementwiseOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "minimum"
  | "maximum"
  | "greater"
  | "greater_equal"
  | "where"
  | "exp"
  | "log"
  | "abs"
  | "clamp"
  | "add_scalar"
  | "scale"
  | "axpy"
  | `act_${Activation}`
  | `grad_${Activation}`;

/** One op: its input buffers, bound in this order before `out`, and the WGSL of `out[i]`. */
interface OpSpec {
  readonly inputs: readonly string[];
  readonly expr: string;
}

const unary = (expr: string): OpSpec => ({ inputs: ["x"], expr });
const binary = (expr: string): OpSpec => ({ inputs: ["x", "y"], expr });

const OPS: Partial<Record<ElementwiseOp, OpSpec>> = {
  add: binary("x[i] + y[i]"),
  sub: binary("x[i] - y[i]"),
  mul: binary("x[i] * y[i]"),
  div: binary("div_f(x[i], y[i])"),
  minimum: binary("select(min(x[i], y[i]), nan_f(), !ordered(x[i], y[i]))"),
  maximum: binary("select(max(x[i], y[i]), nan_f(), !ordered(x[i], y[i]))"),
  greater: binary("select(0.0, 1.0, ordered(x[i], y[i]) && x[i] > y[i])"),
  greater_equal: binary("select(0.0, 1.0, ordered(x[i], y[i]) && x[i] >= y[i])"),
  // Only ±0 picks y; NaN counts as non-zero, as on the CPU.
  where: { inputs: ["c", "x", "y"], expr: "select(x[i], y[i], is_zero(c[i]))" },
  exp: unary("exp(x[i])"),
  log: unary("log_f(x[i])"),
  abs: unary("abs(x[i])"),
  clamp: unary("select(min(max(x[i], p.s), p.t), x[i], is_nan(x[i]))"),
  add_scalar: unary("x[i] + p.s"),
  scale: unary("p.s * x[i]"),
  // In place: out is y itself.
  axpy: unary("out[i] + p.s * x[i]"),
  grad_linear: binary("y[i]"),
  grad_relu: binary("select(0.0, y[i], x[i] > 0.0)"),
  grad_tanh: binary("y[i] * (1.0 - x[i] * x[i])"),
  grad_sigmoid: binary("y[i] * x[i] * (1.0 - x[i])"),
};

/**
 * WGSL: what WGSL leaves to the implementation (NaN, infinities, `x / 0`, `log(0)`, and the
 * NaN behaviour of `min`, `max` and comparisons) pinned to the CPU backend's IEEE answers. NaN
 * and zero are recognised from the bits, which no fast-math assumption can fold away.
 */
const WGSL_IEEE = `
var<private> nan_bits: u32 = 0x7fc00000u;
var<private> inf_bits: u32 = 0x7f800000u;
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_zero(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0u; }
fn ordered(x: f32, y: f32) -> bool { return !(is_nan(x) || is_nan(y)); }
fn nan_f() -> f32 { return bitcast<f32>(nan_bits); }
fn log_f(x: f32) -> f32 {
  if (is_zero(x)) { return -bitcast<f32>(inf_bits); }
  if (is_nan(x) || x < 0.0) { return nan_f(); }
  return log(x);
}
fn div_f(x: f32, y: f32) -> f32 {
  if (!is_zero(y)) { return x / y; }
  if (is_zero(x) || is_nan(x)) { return nan_f(); }
  // ±Infinity, negative where exactly one of x and the signed zero y is negative.
  return bitcast<f32>(inf_bits | ((bitcast<u32>(x) ^ bitcast<u32>(y)) & 0x80000000u));
}`;

function opSpec(op: ElementwiseOp): OpSpec {
  if (op.startsWith("act_")) return unary(wgslActivation(op.slice(4) as Activation, "x[i]"));
  const spec = OPS[op];
  if (spec === undefined) throw new RangeError(`Cannot build elementwise op "${op}"`);
  return spec;
}

/** Builds the kernel of one elementwise op, keyed `elementwise_<op>`. */
export function elementwiseKernel(op: ElementwiseOp): Kernel {
  const { inputs, expr } = opSpec(op);
  return makeKernel({
    key: `elementwise_${op}`,
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["n", "u32"], ["s", "f32"], ["t", "f32"]],
    buffers: [...inputs.map((name) => [name, "read"] as const), ["out", "write"] as const],
    body: `
${WGSL_MATH}
${WGSL_IEEE}
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i < p.n) { out[i] = ${expr}; }
}`,
  });
}

/**
 * Encodes `out[i] = op(inputs…[i], s, t)` over `n` elements, `inputs` in the order of the op
 * (`where`: condition, a, b; `clamp`: `s` and `t` are the bounds). For `axpy`, `out` is updated
 * in place (`out += s·x`); for `grad_*`, the inputs are the activation's output and the
 * upstream gradient.
 */
export function encodeElementwise(
  ctx: KernelContext,
  op: ElementwiseOp,
  n: number,
  out: GPUBuffer,
  inputs: readonly GPUBuffer[],
  s: number = 0,
  t: number = 0,
): void {
  if (n === 0) return;
  ctx.dispatch(
    `elementwise_${op}`,
    () => elementwiseKernel(op),
    [n, s, t],
    [...inputs, out],
    linearWorkgroups(ctx, n),
  );
}
