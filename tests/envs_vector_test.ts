import assert from "node:assert/strict";
import { CartPole } from "../lib/envs/cartpole.ts";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { VectorEnv } from "../lib/envs/vector.ts";

Deno.test("VectorEnv seeds env i with seed + i", () => {
  const envs = new VectorEnv([0, 1, 2].map(() => new CartPole()));
  const { observations } = envs.reset({ seed: 40 });
  for (let i = 0; i < 3; i++) {
    const alone = new CartPole().reset({ seed: 40 + i }).observation;
    assert.deepEqual(observations.subarray(4 * i, 4 * i + 4), alone);
  }
});

Deno.test("VectorEnv autoresets in the same step and keeps the final observation", () => {
  // Env i is truncated after i + 2 steps; a twin of each, stepped by hand, is the reference.
  const make = (i: number) => new CartPole({ maxEpisodeSteps: i + 2 });
  const envs = new VectorEnv([0, 1, 2].map(make));
  const twins = [0, 1, 2].map(make);
  envs.reset({ seed: 7 });
  twins.forEach((twin, i) => twin.reset({ seed: 7 + i }));
  for (let t = 1; t <= 6; t++) {
    const actions = [t % 2, 1, 0];
    const out = envs.step(actions);
    for (let i = 0; i < 3; i++) {
      const step = twins[i].step(actions[i]);
      const row = out.observations.subarray(4 * i, 4 * i + 4);
      assert.equal(out.rewards[i], step.reward);
      assert.equal(out.terminated[i], step.terminated ? 1 : 0);
      assert.equal(out.truncated[i], step.truncated ? 1 : 0);
      if (step.terminated || step.truncated) {
        assert.deepEqual(out.finalObservations[i], step.observation);
        assert.deepEqual(out.finalInfos[i], step.info);
        assert.deepEqual(row, twins[i].reset().observation, "row i starts the next episode");
      } else {
        assert.equal(out.finalObservations[i], null);
        assert.equal(out.finalInfos[i], null);
        assert.deepEqual(row, step.observation);
      }
    }
    // Env 0 ends on steps 2, 4, 6; env 1 on step 3 and 6; env 2 on step 4.
    assert.deepEqual([...out.truncated], [+(t % 2 === 0), +(t % 3 === 0), +(t === 4)]);
  }
});

Deno.test("VectorEnv checks actions up front and reports action masks", () => {
  const envs = new VectorEnv([new Minesweeper({ seed: 1 }), new Minesweeper({ seed: 2 })]);
  envs.reset();
  assert.throws(() => envs.step([0]), RangeError);
  assert.throws(() => envs.step([0, 81]), RangeError);
  assert.equal(envs.actionMasks().reduce((a, b) => a + b, 0), 162, "nothing opened yet");
  envs.step([0, 80]);
  const masks = envs.actionMasks();
  assert.equal(masks[0], 0);
  assert.equal(masks[81 + 80], 0);
  assert.throws(() => new VectorEnv([]), RangeError);
  assert.throws(
    () => new VectorEnv([new CartPole(), new CartPole({ maskVelocity: true })]),
    RangeError,
  );
  assert.throws(() => new VectorEnv([new CartPole()]).step([0]), /call reset\(\) first/);
});
