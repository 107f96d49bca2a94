/**
 * Kernel `pendulum_step`: many copies of Pendulum stepped in one dispatch, one invocation per
 * copy, with same-step autoreset at the time limit. It is `stepPendulumF32` of
 * `../../pendulum_f32.ts` in WGSL: the same float32 operations in the same order, the folded
 * polynomial sine and cosine, and the counter-based reset draws. As in the CartPole kernel the
 * physical constants arrive as uniforms, so that no compiler turns a division or a product with
 * a known constant into something else. A torque that is not finite makes that copy's state NaN.
 *
 * @module
 */

import {
  PENDULUM_COS_COEFFICIENTS,
  PENDULUM_F32,
  PENDULUM_SIN_COEFFICIENTS,
  PENDULUM_STATE_SIZE,
  type PendulumStepParams,
} from "../../pendulum_f32.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
  WGSL_PCG,
} from "./kernel.ts";
import { wgslHorner } from "./cartpole.ts";

/** Kernel `pendulum_step` (see the module documentation). */
export function pendulumStepKernel(): Kernel {
  const names = Object.keys(PENDULUM_F32);
  const constants = names.map((name) => `  let ${name} = p.${name};`).join("\n");
  return makeKernel({
    key: "pendulum_step",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [
      ["count", "u32"],
      ["masked", "u32"],
      ["max_steps", "u32"],
      ["seed", "u32"],
      ...names.map((name) => [name, "f32"] as const),
    ],
    buffers: [
      ["state", "write"],
      ["torques", "read"],
      ["observations", "write"],
      ["rewards", "write"],
      ["truncated", "write"],
      ["final_observations", "write"],
    ],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_PCG}
const STATE: u32 = ${PENDULUM_STATE_SIZE}u;
${wgslHorner("sin_series", PENDULUM_SIN_COEFFICIENTS)}
${wgslHorner("cos_series", PENDULUM_COS_COEFFICIENTS)}

fn cos_sin(theta: f32) -> vec2<f32> {
  var a = abs(theta);
  var cos_sign = 1.0f;
  if (a > p.HALF_PI) {
    a = p.PI - a;
    cos_sign = -1.0f;
  }
  let a2 = a * a;
  let s = a + (a * a2) * sin_series(a2);
  let c = 1.0f + a2 * cos_series(a2);
  return vec2<f32>(cos_sign * c, select(s, -s, theta < 0.0f));
}

fn observe(i: u32, o: u32, final_row: bool) {
  let size = select(3u, 2u, p.masked == 1u);
  let cs = cos_sin(state[o]);
  let values = array<f32, 3>(cs.x, cs.y, state[o + 1u]);
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
  let theta = state[o];
  let theta_dot = state[o + 1u];
  let u = min(MAX_TORQUE, max(-MAX_TORQUE, torques[i]));
  let costs = (theta * theta + SPEED_COST * (theta_dot * theta_dot)) + TORQUE_COST * (u * u);
  let sin_t = cos_sin(theta).y;
  let acceleration = GRAVITY_TERM * sin_t + TORQUE_TERM * u;
  let new_theta_dot = min(MAX_SPEED, max(-MAX_SPEED, theta_dot + acceleration * DT));
  var new_theta = theta + new_theta_dot * DT;
  if (new_theta > PI) { new_theta = new_theta - TWO_PI; }
  else if (new_theta < -PI) { new_theta = new_theta + TWO_PI; }
  state[o] = new_theta;
  state[o + 1u] = new_theta_dot;
  let elapsed = state[o + 2u] + 1.0f;
  state[o + 2u] = elapsed;
  rewards[i] = -costs;
  let ended = elapsed >= f32(p.max_steps);
  truncated[i] = select(0.0f, 1.0f, ended);
  if (ended) {
    observe(i, o, true);
    let episode = u32(state[o + 3u]) + 1u;
    let u0 = f32(counter_bits(p.seed, episode, 2u * i)) / 16777216.0f;
    let u1 = f32(counter_bits(p.seed, episode, 2u * i + 1u)) / 16777216.0f;
    state[o] = -PI + TWO_PI * u0;
    state[o + 1u] = -1.0f + 2.0f * u1;
    state[o + 2u] = 0.0f;
    state[o + 3u] = f32(episode);
  } else {
    let size = select(3u, 2u, p.masked == 1u);
    for (var k = 0u; k < size; k++) { final_observations[size * i + k] = 0.0f; }
  }
  observe(i, o, false);
}`,
  });
}

/** Encodes one step of `count` copies (see {@linkcode pendulumStepKernel}). */
export function encodePendulumStep(
  ctx: KernelContext,
  buffers: {
    state: GPUBuffer;
    torques: GPUBuffer;
    observations: GPUBuffer;
    rewards: GPUBuffer;
    truncated: GPUBuffer;
    finalObservations: GPUBuffer;
  },
  count: number,
  params: PendulumStepParams,
): void {
  if (count === 0) return;
  const b = buffers;
  ctx.dispatch(
    "pendulum_step",
    pendulumStepKernel,
    [
      count,
      params.maskVelocity ? 1 : 0,
      params.maxEpisodeSteps,
      params.seed >>> 0,
      ...Object.values(PENDULUM_F32),
    ],
    [b.state, b.torques, b.observations, b.rewards, b.truncated, b.finalObservations],
    linearWorkgroups(ctx, count),
  );
}
