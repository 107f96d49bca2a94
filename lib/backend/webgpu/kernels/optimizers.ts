/**
 * Optimizer updates in place: Adam (moments, bias correction and the parameter update fused in
 * one kernel) and RMSprop. Each parameter tensor is one dispatch of the same pipeline, all in the
 * same command encoder; hyperparameters and the bias corrections are uniforms, so the step count
 * never leaves the GPU's uniforms and nothing is read back.
 *
 * @module
 */

import type { AdamStep, RmspropStep } from "../../backend.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
} from "./kernel.ts";

/** The buffers of one parameter and its optimizer state. */
export interface OptimizerSlot {
  /** Elements. */
  size: number;
  /** The parameter, updated in place. */
  param: GPUBuffer;
  /** Its gradient. */
  grad: GPUBuffer;
  /** Adam's first moment or RMSprop's mean square, updated in place. */
  m: GPUBuffer;
  /** Adam's second moment (unused by RMSprop). */
  v?: GPUBuffer;
}

/** Kernel `adam_step`. */
export function adamKernel(): Kernel {
  return makeKernel({
    key: "adam_step",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [
      ["n", "u32"],
      ["beta1", "f32"],
      ["oneMinusBeta1", "f32"],
      ["beta2", "f32"],
      ["oneMinusBeta2", "f32"],
      ["stepSize", "f32"],
      ["correction2", "f32"],
      ["epsilon", "f32"],
    ],
    buffers: [["param", "write"], ["grad", "read"], ["m", "write"], ["v", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.n) { return; }
  let g = grad[i];
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] - (p.stepSize * mi) / (sqrt(vi / p.correction2) + p.epsilon);
}`,
  });
}

/** Encodes one Adam update of every slot (the bias corrections of cpu.ts, computed in float64). */
export function encodeAdam(
  ctx: KernelContext,
  slots: readonly OptimizerSlot[],
  step: AdamStep,
): void {
  const { lr, beta1, beta2, epsilon } = step;
  const correction1 = 1 - Math.pow(beta1, step.step);
  const correction2 = 1 - Math.pow(beta2, step.step);
  const uniforms = [beta1, 1 - beta1, beta2, 1 - beta2, lr / correction1, correction2, epsilon];
  for (const s of slots) {
    if (s.size === 0 || s.v === undefined) continue;
    ctx.dispatch(
      "adam_step",
      adamKernel,
      [s.size, ...uniforms],
      [s.param, s.grad, s.m, s.v],
      linearWorkgroups(ctx, s.size),
    );
  }
}

/** Kernel `rmsprop_step` (PyTorch's form: epsilon outside the root, no momentum). */
export function rmspropKernel(): Kernel {
  return makeKernel({
    key: "rmsprop_step",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [["n", "u32"], ["rho", "f32"], ["oneMinusRho", "f32"], ["lr", "f32"], [
      "epsilon",
      "f32",
    ]],
    buffers: [["param", "write"], ["grad", "read"], ["ms", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.n) { return; }
  let g = grad[i];
  let si = p.rho * ms[i] + p.oneMinusRho * g * g;
  ms[i] = si;
  param[i] = param[i] - (p.lr * g) / (sqrt(si) + p.epsilon);
}`,
  });
}

/** Encodes one RMSprop update of every slot. */
export function encodeRmsprop(
  ctx: KernelContext,
  slots: readonly OptimizerSlot[],
  step: RmspropStep,
): void {
  const { lr, rho, epsilon } = step;
  for (const s of slots) {
    if (s.size === 0) continue;
    ctx.dispatch(
      "rmsprop_step",
      rmspropKernel,
      [s.size, rho, 1 - rho, lr, epsilon],
      [s.param, s.grad, s.m],
      linearWorkgroups(ctx, s.size),
    );
  }
}
