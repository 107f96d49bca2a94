// DeviceCartPole on the CPU backend: its float32 dynamics against the float64 scalar CartPole
// (Gymnasium's equations) from the same states and actions, the polynomial sine and cosine against
// Math.sin and Math.cos, same-step autoreset and truncation, reset draws in [−0.05, 0.05) keyed by
// copy and episode (independent of how many copies there are), masking, and its refusals.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import { cosF32, sinF32 } from "../lib/backend/cartpole_f32.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { DeviceCartPole } from "../lib/envs/device_cartpole.ts";

const backend = createCpuBackend();

/** Steps and reads one step's result. */
async function step(envs: DeviceCartPole, actions: number[]) {
  const a = backend.tensor(actions, [actions.length]);
  const out = envs.step(a);
  const read = {
    observations: await backend.read(out.observations),
    terminated: await backend.read(out.terminated),
    truncated: await backend.read(out.truncated),
    finalObservations: await backend.read(out.finalObservations),
  };
  DeviceCartPole.dispose(backend, out);
  backend.dispose(a);
  return read;
}

Deno.test("the float32 polynomial sine and cosine are within 1.1 float32 ulp of Math's on |θ| ≤ π/4", () => {
  let worst = 0;
  for (let k = -20000; k <= 20000; k++) {
    const theta = Math.fround((k / 20000) * (Math.PI / 4));
    for (
      const [mine, exact] of [[sinF32(theta), Math.sin(theta)], [cosF32(theta), Math.cos(theta)]]
    ) {
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(exact) || 1)) - 23);
      worst = Math.max(worst, Math.abs(mine - exact) / ulp);
    }
  }
  assert.ok(worst < 1.1, `worst error ${worst} ulp`); // 1.02 measured
});

/**
 * The first episode of N copies against N float64 CartPoles started from the same (float32)
 * states. `policy` picks each side's action from that side's own state (closed loop); `gaps` are
 * one-step errors: the float64 equations stepped from the float32 state before each step.
 */
async function firstEpisodes(
  count: number,
  policy: (s: ArrayLike<number>, t: number, i: number) => number,
) {
  const envs = new DeviceCartPole(backend, count, { seed: 11 });
  backend.dispose(envs.reset());
  let state = await envs.readState();
  const reference = Array.from({ length: count }, (_, i) => {
    const env = new CartPole();
    env.reset();
    env.state = [state[6 * i], state[6 * i + 1], state[6 * i + 2], state[6 * i + 3]];
    return env;
  });
  const probe = new CartPole();
  const endF32 = new Array<number>(count).fill(-1), endF64 = new Array<number>(count).fill(-1);
  let worstGap = 0; // the largest one-step |float32 − float64| of a state variable
  for (let t = 0; t < 500 && (endF32.includes(-1) || endF64.includes(-1)); t++) {
    const actions = Array.from({ length: count }, (_, i) => policy(state.subarray(6 * i), t, i));
    const before = state;
    const out = await step(envs, actions);
    state = await envs.readState();
    for (let i = 0; i < count; i++) {
      if (endF64[i] < 0) {
        const r = reference[i].step(policy(reference[i].state, t, i));
        if (r.terminated || r.truncated) endF64[i] = t;
      }
      if (endF32[i] >= 0) continue;
      if (out.terminated[i] || out.truncated[i]) endF32[i] = t;
      else {
        probe.reset();
        probe.state = [before[6 * i], before[6 * i + 1], before[6 * i + 2], before[6 * i + 3]];
        probe.step(actions[i]);
        for (let k = 0; k < 4; k++) {
          worstGap = Math.max(worstGap, Math.abs(state[6 * i + k] - probe.state[k]));
        }
      }
    }
  }
  const same = endF32.filter((t, i) => t === endF64[i]).length;
  return { same, worstGap, endF64 };
}

Deno.test("float32 CartPole ends the same episodes as the float64 reference, each step within 1e-6", async () => {
  // Random pushes, the same on both sides: short episodes, ended by the pole falling.
  const random = await firstEpisodes(1000, (_, t, i) => counterUniform(5, t, i) < 0.5 ? 0 : 1);
  assert.ok(random.same >= 995, `${random.same} of 1000 random episodes end on the same step`);
  assert.ok(random.worstGap < 1e-6, `random play: one step differs by up to ${random.worstGap}`);
  // A balancing controller on each side's own state: long episodes, most truncated at 500 steps.
  // (Open loop the two would part: the upright pole is unstable, so any rounding difference grows.)
  const balance = (s: ArrayLike<number>) =>
    s[2] + 0.3 * s[3] + 0.01 * s[0] + 0.05 * s[1] > 0 ? 1 : 0;
  const steady = await firstEpisodes(200, balance);
  assert.ok(steady.endF64.filter((t) => t === 499).length > 100, "most balance to the limit");
  assert.ok(steady.same >= 195, `${steady.same} of 200 balanced episodes end on the same step`);
  assert.ok(steady.worstGap < 1e-6, `balanced play: one step differs by up to ${steady.worstGap}`);
});

Deno.test("DeviceCartPole autoresets with counter-based draws that depend on copy and episode only", async () => {
  const envs = new DeviceCartPole(backend, 8, { seed: 3, maxEpisodeSteps: 5 });
  const first = await backend.read(envs.reset());
  for (const v of first) assert.ok(v >= -0.05 && v < 0.05, `reset value ${v}`);
  // Pushing left and right in turn keeps every copy up for 5 steps: all truncate together.
  for (let t = 0; t < 4; t++) {
    const out = await step(envs, new Array(8).fill(t % 2));
    assert.deepEqual([...out.terminated, ...out.truncated], new Array(16).fill(0));
    assert.deepEqual([...out.finalObservations], new Array(32).fill(0));
  }
  const before = await envs.readState();
  const out = await step(envs, new Array(8).fill(0));
  assert.deepEqual([...out.truncated], new Array(8).fill(1));
  const state = await envs.readState();
  for (let i = 0; i < 8; i++) {
    assert.equal(state[6 * i + 4], 0, "steps restart");
    assert.equal(state[6 * i + 5], 1, "episode 1");
    assert.deepEqual([...out.observations.subarray(4 * i, 4 * i + 4)], [
      ...state.subarray(6 * i, 6 * i + 4),
    ]);
    assert.notDeepEqual([...out.finalObservations.subarray(4 * i, 4 * i + 4)], [
      ...before.subarray(6 * i, 6 * i + 4),
    ], "the final observation is after the step");
  }
  // Copy 2 of a batch of 3 plays the episodes copy 2 of the batch of 8 plays.
  const small = new DeviceCartPole(backend, 3, { seed: 3, maxEpisodeSteps: 5 });
  backend.dispose(small.reset());
  for (let t = 0; t < 5; t++) await step(small, [t % 2, t % 2, t === 4 ? 0 : t % 2]);
  assert.deepEqual([...(await small.readState()).subarray(12, 18)], [...state.subarray(12, 18)]);
  assert.notDeepEqual([...state.subarray(0, 4)], [...state.subarray(6, 10)], "copies differ");
  envs.destroy();
  small.destroy();
});

Deno.test("DeviceCartPole: masked observations, the same seed gives the same run, refusals", async () => {
  const run = async () => {
    const envs = new DeviceCartPole(backend, 16, { seed: 9, maskVelocity: true });
    const first = await backend.read(envs.reset());
    const full = await envs.readState();
    for (let i = 0; i < 16; i++) {
      assert.deepEqual([...first.subarray(2 * i, 2 * i + 2)], [full[6 * i], full[6 * i + 2]]);
    }
    const observed: number[] = [];
    for (let t = 0; t < 60; t++) {
      const out = await step(
        envs,
        Array.from({ length: 16 }, (_, i) => (t * 7 + i) % 3 === 0 ? 1 : 0),
      );
      observed.push(...out.observations, ...out.terminated);
    }
    return observed;
  };
  assert.deepEqual(await run(), await run());
  const envs = new DeviceCartPole(backend, 2);
  backend.dispose(envs.reset());
  await assert.rejects(() => step(envs, [1, 2]), /copy 1: action is 2, expected 0 or 1/);
  assert.throws(() => envs.step(backend.tensor([1], [1])), /got 1 actions for 2 copies/);
  assert.throws(() => new DeviceCartPole(backend, 0), /count is 0/);
  assert.throws(
    () => new DeviceCartPole(backend, 2, { integrator: "rk4" as "euler" }),
    /integrator is "rk4"/,
  );
  assert.throws(
    () => new DeviceCartPole(backend, 2, { maxEpisodeSteps: 0 }),
    /maxEpisodeSteps is 0/,
  );
});
