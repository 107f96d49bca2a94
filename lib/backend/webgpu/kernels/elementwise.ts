/**
 * Elementwise kernels: `add`, `mul`, `scale`, `axpyInPlace`, activations and their gradients.
 * One invocation per element over a {@linkcode linearWorkgroups} grid; the element count and any
 * scalar are uniforms.
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

/** The elementwise operations, each a WGSL expression over `x`, `y` and the uniform `p.s`. */
export type ElementwiseOp =
  | "add"
  | "mul"
  | "scale"
  | "axpy"
  | `act_${Activation}`
  | `grad_${Activation}`;

const BINARY: Record<string, string> = {
  add: "x[i] + y[i]",
  mul: "x[i] * y[i]",
  // In place: out is y itself.
  axpy: "out[i] + p.s * x[i]",
  grad_linear: "y[i]",
  grad_relu: "select(0.0, y[i], x[i] > 0.0)",
  grad_tanh: "y[i] * (1.0 - x[i] * x[i])",
  grad_sigmoid: "y[i] * x[i] * (1.0 - x[i])",
};

/** Builds the kernel of one elementwise op. */
export function elementwiseKernel(op: ElementwiseOp): Kernel {
  let expr: string;
  let inputs: string[];
  if (op === "scale") {
    expr = "p.s * x[i]";
    inputs = ["x"];
  } else if (op.startsWith("act_")) {
    expr = wgslActivation(op.slice(4) as Activation, "x[i]");
    inputs = ["x"];
  } else if (op === "axpy") {
    expr = BINARY[op];
    inputs = ["x"];
  } else {
    expr = BINARY[op];
    if (expr === undefined) throw new RangeError(`Cannot build elementwise op "${op}"`);
    inputs = ["x", "y"];
  }
  return makeKernel({
    key: `elementwise_${op}`,
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["n", "u32"], ["s", "f32"]],
    buffers: [...inputs.map((name) => [name, "read"] as const), ["out", "write"] as const],
    body: `
${WGSL_MATH}
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i < p.n) { out[i] = ${expr}; }
}`,
  });
}

/**
 * Encodes `out[i] = op(x[i], y[i])` over `n` elements. For `axpy`, `out` is updated in place
 * (`out += s·x`) and `y` is not used; for `grad_*`, `x` is the activation's output and `y` the
 * upstream gradient.
 */
export function encodeElementwise(
  ctx: KernelContext,
  op: ElementwiseOp,
  n: number,
  out: GPUBuffer,
  x: GPUBuffer,
  y?: GPUBuffer,
  s: number = 0,
): void {
  if (n === 0) return;
  const buffers = y === undefined ? [x, out] : [x, y, out];
  ctx.dispatch(
    `elementwise_${op}`,
    () => elementwiseKernel(op),
    [n, s],
    buffers,
    linearWorkgroups(ctx, n),
  );
}
