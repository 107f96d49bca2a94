/**
 * Kernel `cartpole_step`: many copies of CartPole stepped in one dispatch, one invocation per
 * copy, with same-step autoreset. It is `stepCartPoleF32` of `../../cartpole_f32.ts` written in
 * WGSL: the same float32 operations in the same order, the polynomial sine and cosine, and the
 * counter-based reset draws of `counterUniform`. The physical constants arrive as uniforms (see
 * the kernel); on llvmpipe the kernel then gives the CPU's bits exactly. WGSL allows a GPU's
 * division 2.5 ulp of error, so elsewhere the last bit may differ. An action other than 0 or 1 makes that copy's state NaN (a kernel cannot
 * throw).
 *
 * @module
 */

import {
  CARTPOLE_F32,
  CARTPOLE_STATE_SIZE,
  type CartPoleStepParams,
  COS_COEFFICIENTS,
  SIN_COEFFICIENTS,
} from "../../cartpole_f32.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
  WGSL_PCG,
} from "./kernel.ts";

/** A float32 value as a WGSL literal that parses back to the same bits (9 significant digits). */
function f32Literal(value: number): string {
  return `${Math.fround(value).toPrecision(9)}f`;
}

/** WGSL: Horner's scheme over `coefficients` in `t2`, as `sinF32` and `cosF32` loop. */
export function wgslHorner(name: string, coefficients: readonly number[]): string {
  const steps = coefficients.slice(1).map((c) => `  p = p * t2 + ${f32Literal(c)};`);
  return `fn ${name}(t2: f32) -> f32 {
  var p = ${f32Literal(coefficients[0])};
${steps.join("\n")}
  return p;
}`;
}

/** Kernel `cartpole_step` (see the module documentation). */
export function cartPoleStepKernel(): Kernel {
  const names = Object.keys(CARTPOLE_F32);
  // Runtime values, not WGSL constants: a compiler may replace a division by a constant with a
  // multiplication by its reciprocal (llvmpipe does), which is not the float32 division.
  const constants = names.map((name) => `  let ${name} = p.${name};`).join("\n");
  return makeKernel({
    key: "cartpole_step",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [
      ["count", "u32"],
      ["masked", "u32"],
      ["semi_implicit", "u32"],
      [
        "max_steps",
        "u32",
      ],
      ["seed", "u32"],
      ...names.map((name) => [name, "f32"] as const),
    ],
    buffers: [
      ["state", "write"],
      ["actions", "read"],
      ["observations", "write"],
      ["terminated", "write"],
      ["truncated", "write"],
      ["final_observations", "write"],
    ],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_PCG}
const STATE: u32 = ${CARTPOLE_STATE_SIZE}u;
${wgslHorner("sin_series", SIN_COEFFICIENTS)}
${wgslHorner("cos_series", COS_COEFFICIENTS)}
// A runtime value: a constant expression must not evaluate to NaN.
var<private> nan_bits: u32 = 0x7fc00000u;

fn observe(i: u32, o: u32, final_row: bool) {
  let size = select(4u, 2u, p.masked == 1u);
  var values = array<f32, 4>(state[o], state[o + 1u], state[o + 2u], state[o + 3u]);
  if (p.masked == 1u) { values[1] = state[o + 2u]; }
  for (var k = 0u; k < size; k++) {
    if (final_row) { final_observations[size * i + k] = values[k]; }
    else { observations[size * i + k] = values[k]; }
  }
}

@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.count) { return; }
${constants}
  let o = STATE * i;
  let a = actions[i];
  var force = select(-FORCE_MAG, FORCE_MAG, a == 1.0);
  if (a != 0.0 && a != 1.0) { force = bitcast<f32>(nan_bits); }
  var x = state[o];
  var x_dot = state[o + 1u];
  var theta = state[o + 2u];
  var theta_dot = state[o + 3u];
  let t2 = theta * theta;
  let cos_t = 1.0f + t2 * cos_series(t2);
  let sin_t = theta + (theta * t2) * sin_series(t2);
  let temp = (force + (POLEMASS_LENGTH * (theta_dot * theta_dot)) * sin_t) / TOTAL_MASS;
  let theta_acc = (GRAVITY * sin_t - cos_t * temp) /
    (LENGTH * (FOUR_THIRDS - (MASS_POLE * (cos_t * cos_t)) / TOTAL_MASS));
  let x_acc = temp - ((POLEMASS_LENGTH * theta_acc) * cos_t) / TOTAL_MASS;
  if (p.semi_implicit == 1u) {
    x_dot = x_dot + TAU * x_acc;
    x = x + TAU * x_dot;
    theta_dot = theta_dot + TAU * theta_acc;
    theta = theta + TAU * theta_dot;
  } else {
    x = x + TAU * x_dot;
    x_dot = x_dot + TAU * x_acc;
    theta = theta + TAU * theta_dot;
    theta_dot = theta_dot + TAU * theta_acc;
  }
  state[o] = x;
  state[o + 1u] = x_dot;
  state[o + 2u] = theta;
  state[o + 3u] = theta_dot;
  let elapsed = state[o + 4u] + 1.0f;
  state[o + 4u] = elapsed;
  let ended_by_fall = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD ||
    theta > THETA_THRESHOLD;
  let ended_by_time = elapsed >= f32(p.max_steps);
  terminated[i] = select(0.0f, 1.0f, ended_by_fall);
  truncated[i] = select(0.0f, 1.0f, ended_by_time);
  if (ended_by_fall || ended_by_time) {
    observe(i, o, true);
    let episode = u32(state[o + 5u]) + 1u;
    for (var k = 0u; k < 4u; k++) {
      let u = f32(counter_bits(p.seed, episode, 4u * i + k)) / 16777216.0f;
      state[o + k] = RESET_LOW + RESET_SPAN * u;
    }
    state[o + 4u] = 0.0f;
    state[o + 5u] = f32(episode);
  } else {
    let size = select(4u, 2u, p.masked == 1u);
    for (var k = 0u; k < size; k++) { final_observations[size * i + k] = 0.0f; }
  }
  observe(i, o, false);
}`,
  });
}

/** Encodes one step of `count` copies (see {@linkcode cartPoleStepKernel}). */
export function encodeCartPoleStep(
  ctx: KernelContext,
  buffers: {
    state: GPUBuffer;
    actions: GPUBuffer;
    observations: GPUBuffer;
    terminated: GPUBuffer;
    truncated: GPUBuffer;
    finalObservations: GPUBuffer;
  },
  count: number,
  params: CartPoleStepParams,
): void {
  if (count === 0) return;
  const b = buffers;
  ctx.dispatch(
    "cartpole_step",
    cartPoleStepKernel,
    [
      count,
      params.maskVelocity ? 1 : 0,
      params.semiImplicit ? 1 : 0,
      params.maxEpisodeSteps,
      params.seed >>> 0,
      ...Object.values(CARTPOLE_F32),
    ],
    [b.state, b.actions, b.observations, b.terminated, b.truncated, b.finalObservations],
    linearWorkgroups(ctx, count),
  );
}
