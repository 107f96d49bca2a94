// The MNIST digits the `mnist` package ships and the MNIST bandit over them: the dataset's size,
// classes and pixel range; one round per episode, paying 1 for the digit's class and reporting
// the regret; seeded draws; snapshots; clear errors. And DQN with a convolutional Q-network on
// it: a few thousand rounds take it far above uniform random.
import assert from "node:assert/strict";
import { MnistBandit } from "../lib/envs/mnist_bandit.ts";
import { loadedMnistDigits, MNIST_PIXELS } from "../lib/envs/mnist_data.ts";
import { loadMnistDigits } from "../lib/run/mnist_digits.ts";
import { DQN } from "../lib/rl/dqn.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { randomPolicy } from "../lib/rl/baselines.ts";
import { presetFor } from "../lib/run/presets.ts";

const digits = await loadMnistDigits();

Deno.test("the mnist package's 10 000 digits load once, with their classes and pixels in [0, 1]", async () => {
  assert.equal(digits.count, 10_000);
  assert.equal(digits.images.length, 10_000 * MNIST_PIXELS);
  assert.equal(await loadMnistDigits(), digits, "loaded once");
  assert.equal(loadedMnistDigits(), digits);
  // Images per class, as the package's ten files hold them.
  const perClass = new Array(10).fill(0);
  for (const label of digits.labels) perClass[label]++;
  assert.deepEqual(perClass, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  let low = Infinity, high = -Infinity;
  for (const v of digits.images) [low, high] = [Math.min(low, v), Math.max(high, v)];
  assert.deepEqual([low, high], [0, 1]);
  // Digits differ: the mean pixel of a 1 is well below that of a 0 (fewer strokes lit).
  const meanPixel = (label: number) => {
    let sum = 0, n = 0;
    for (let i = 0; i < digits.count; i++) {
      if (digits.labels[i] !== label) continue;
      for (let p = 0; p < MNIST_PIXELS; p++) sum += digits.images[i * MNIST_PIXELS + p];
      n++;
    }
    return sum / n / MNIST_PIXELS;
  };
  assert.ok(meanPixel(1) < 0.7 * meanPixel(0), `${meanPixel(1)} vs ${meanPixel(0)}`);
});

Deno.test("MnistBandit: one round per episode, 1 for the digit's class, regret 1 − reward", () => {
  const env = new MnistBandit({ seed: 3 });
  assert.deepEqual([env.observationSize, env.actionCount], [784, 10]);
  const { observation, info } = env.reset();
  assert.equal(observation.length, 784);
  assert.deepEqual({ optimal: info.optimal, regret: info.regret }, { optimal: false, regret: 0 });
  const right = env.step(info.label);
  assert.deepEqual(
    [right.reward, right.terminated, right.truncated, right.info.regret, right.info.optimal],
    [1, true, false, 0, true],
  );
  assert.throws(() => env.step(0), /^Error: Cannot step MnistBandit: the round has ended/);
  const next = env.reset();
  const wrong = env.step((next.info.label + 1) % 10);
  assert.deepEqual([wrong.reward, wrong.info.regret, wrong.info.optimal], [0, 1, false]);
  env.reset();
  for (const bad of [-1, 10, 2.5]) {
    assert.throws(() => env.step(bad), /^RangeError: Cannot step MnistBandit: action is/);
  }
});

Deno.test("MnistBandit: the seed fixes the digits shown, and a snapshot continues the stream", () => {
  const labels = (env: MnistBandit, n: number) =>
    Array.from({ length: n }, () => env.reset().info.label);
  const a = new MnistBandit({ seed: 7 }), b = new MnistBandit({ seed: 7 });
  assert.deepEqual(labels(a, 50), labels(b, 50));
  const seen = labels(new MnistBandit({ seed: 8 }), 500);
  assert.equal(new Set(seen).size, 10, "every class shows up in 500 rounds");
  const saved = a.getState();
  const after = labels(a, 20);
  const restored = new MnistBandit({ seed: 0 });
  restored.setState(JSON.parse(JSON.stringify(saved)));
  assert.deepEqual(labels(restored, 20), after);
  assert.throws(() => restored.setState({ index: -1 }), /saved state is malformed/);
  const copy = a.clone();
  assert.deepEqual(copy.reset({ seed: 4 }).observation, a.reset({ seed: 4 }).observation);
});

Deno.test("DQN with the preset's CNN learns the MNIST bandit: 2500 rounds, far above random", async () => {
  const env = new MnistBandit({ seed: 1 });
  const agent = new DQN(env, {
    ...presetFor("mnist-bandit", "dqn").options as Record<string, never>,
    seed: 2,
  });
  assert.deepEqual(agent.online.model.config.layers.map((l) => l.type), [
    "conv2d",
    "maxpool2d",
    "conv2d",
    "maxpool2d",
    "dense",
    "dense",
  ]);
  let regret = 0;
  await agent.learn(env, {
    steps: 2500,
    onEpisode: (e) => void (regret += e.regret ?? NaN),
  });
  assert.ok(regret < 0.9 * 2500, `training regret ${regret}`);
  const episodes = 300, seed = 99;
  const learned = await evaluate(new MnistBandit(), agent, { episodes, seed });
  const randomEnv = new MnistBandit();
  const random = await evaluate(randomEnv, randomPolicy(randomEnv, { seed: 5 }), {
    episodes,
    seed,
  });
  assert.ok(random.meanReturn < 0.2, `random ${random.meanReturn}`);
  assert.ok(learned.meanReturn > 0.6, `learned ${learned.meanReturn}`);
});
