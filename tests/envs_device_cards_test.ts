// DeviceRepeatPrevious and DeviceCountRecall on the CPU backend: every step against the scalar
// POPGym games restored to the same shoes (observations, rewards, terminations, over two episodes
// of every level), the counter-keyed shuffles (permutations, independent of the number of copies,
// new each episode, the position of a card uniform by a chi-square test), perfect players'
// returns, the float64 backend, and the refusals.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import { type CpuTensor, createCpuBackend } from "../lib/backend/cpu.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { DeviceCountRecall, DeviceRepeatPrevious } from "../lib/envs/device_cards.ts";
import { CountRecall } from "../lib/envs/popgym/count_recall.ts";
import { RepeatPrevious } from "../lib/envs/popgym/repeat_previous.ts";
import { POPGYM_DIFFICULTIES, type PopgymDifficulty } from "../lib/envs/popgym/_shared.ts";
import type { JsonObject } from "../lib/io/json.ts";

const backend = createCpuBackend();
type Game = DeviceRepeatPrevious | DeviceCountRecall;
/** The copies' state on the CPU backend, read in place. */
const stateOf = (envs: Game) => (envs.state as CpuTensor).data as Float32Array;

async function step(envs: Game, actions: number[], on: Backend = backend) {
  const t = on.tensor(actions, [actions.length]);
  const out = envs.step(t);
  const read = {
    observations: await on.read(out.observations),
    rewards: await on.read(out.rewards),
    terminated: await on.read(out.terminated),
    finalObservations: await on.read(out.finalObservations),
  };
  DeviceRepeatPrevious.dispose(on, out);
  on.dispose(t);
  return read;
}

/** A scalar game dealt copy i's current shoes, read from the device state. */
function scalarTwin(envs: Game, state: Float32Array, i: number): RepeatPrevious | CountRecall {
  const row = state.subarray(envs.state.shape[1] * i, envs.state.shape[1] * (i + 1));
  const difficulty = envs.difficulty;
  const env = envs instanceof DeviceRepeatPrevious
    ? new RepeatPrevious({ difficulty })
    : new CountRecall({ difficulty });
  env.reset();
  const saved = env.getState() as JsonObject;
  const cards = envs.cards;
  if (envs instanceof DeviceRepeatPrevious) saved.game = { deck: Array.from(row.subarray(2)) };
  else {
    const shoes = row.subarray(2 + envs.kinds);
    saved.game = {
      values: Array.from(shoes.subarray(0, cards)),
      queries: Array.from(shoes.subarray(cards)),
    };
  }
  env.setState(saved);
  return env;
}

/** Copy i's observation row. */
const rowOf = (values: Float32Array, size: number, i: number) =>
  Array.from(values.subarray(size * i, size * (i + 1)));

for (const difficulty of POPGYM_DIFFICULTIES) {
  for (const make of [DeviceRepeatPrevious, DeviceCountRecall]) {
    Deno.test(`${make.name} ${difficulty} plays as the scalar game dealt the same shoes, over two episodes`, async () => {
      const count = 6;
      const envs = new make(backend, count, { seed: 11, difficulty });
      const size = envs.observationSize;
      let observations = await backend.read(envs.reset());
      let twins = Array.from({ length: count }, (_, i) => scalarTwin(envs, stateOf(envs), i));
      let scored = 0, right = 0, ends = 0;
      for (let t = 0; t < 2 * (envs.cards - 1); t++) {
        // Mostly the answer the scalar game would reward (found by trying each on a clone).
        const actions = twins.map((twin, i) => {
          if (counterUniform(3, t, i) < 0.3) {
            return Math.floor(counterUniform(4, t, i) * envs.actionCount);
          }
          for (let a = 0; a < envs.actionCount; a++) {
            const probe = twin.clone();
            probe.setState(twin.getState());
            if (probe.step(a).reward > 0) return a;
          }
          return 0;
        });
        const out = await step(envs, actions);
        const state = stateOf(envs);
        for (let i = 0; i < count; i++) {
          const expected = twins[i].step(actions[i]);
          assert.equal(out.rewards[i], Math.fround(expected.reward), `copy ${i} step ${t}`);
          assert.equal(out.terminated[i], expected.terminated ? 1 : 0);
          if (expected.reward !== 0) scored++;
          if (expected.reward > 0) right++;
          if (expected.terminated) {
            ends++;
            assert.deepEqual(
              rowOf(out.finalObservations, size, i),
              Array.from(expected.observation),
            );
            twins[i] = scalarTwin(envs, state, i);
          } else {
            assert.deepEqual(rowOf(out.observations, size, i), Array.from(expected.observation));
            assert.ok(rowOf(out.finalObservations, size, i).every((v) => v === 0));
          }
        }
        observations = out.observations;
      }
      assert.equal(ends, 2 * count);
      assert.ok(right > 0.5 * scored && right < scored, `${right} of ${scored} right`);
      assert.equal(observations.length, count * size);
      envs.destroy();
      twins = [];
    });
  }
}

Deno.test("card-game shoes are permutations, the same for copy i at any N, new each episode", async () => {
  const small = new DeviceCountRecall(backend, 3, { seed: 5, difficulty: "medium" });
  const large = new DeviceCountRecall(backend, 40, { seed: 5, difficulty: "medium" });
  backend.dispose(small.reset());
  backend.dispose(large.reset());
  const width = small.state.shape[1];
  assert.deepEqual(
    Array.from(stateOf(small)),
    Array.from(stateOf(large).subarray(0, 3 * width)),
  );
  const cards = small.cards,
    shoes = (i: number) => {
      const row = stateOf(large).subarray(width * i + 2 + large.kinds, width * (i + 1));
      return [Array.from(row.subarray(0, cards)), Array.from(row.subarray(cards))];
    };
  const sorted = Array.from({ length: cards }, (_, j) => j);
  const first = shoes(0);
  for (let i = 0; i < 40; i++) {
    for (const shoe of shoes(i)) assert.deepEqual([...shoe].sort((a, b) => a - b), sorted);
  }
  assert.notDeepEqual(first[0], first[1], "the value and query shoes differ");
  assert.notDeepEqual(shoes(0)[0], shoes(1)[0], "copies differ");
  for (let t = 0; t < cards - 1; t++) await step(large, new Array(40).fill(0));
  assert.equal(stateOf(large)[1], 1, "episode 1 after the shoe ran out");
  assert.notDeepEqual(shoes(0)[0], first[0], "a new shuffle for the new episode");
  small.destroy();
  large.destroy();
});

Deno.test("the position of a card in the shuffled shoe is uniform (chi-square, 51 degrees)", () => {
  const count = 5200;
  const envs = new DeviceRepeatPrevious(backend, count, { seed: 2 });
  backend.dispose(envs.reset());
  const state = stateOf(envs), width = envs.state.shape[1];
  for (const card of [0, 17, 51]) {
    const at = new Array(52).fill(0);
    for (let i = 0; i < count; i++) {
      at[state.subarray(width * i + 2, width * (i + 1)).indexOf(card)]++;
    }
    const expected = count / 52;
    const chi2 = at.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // The 0.999 quantile of chi-square with 51 degrees of freedom is 86.66.
    assert.ok(chi2 < 86.66, `card ${card}: chi-square ${chi2.toFixed(1)}`);
  }
  envs.destroy();
});

for (const precision of ["float32", "float64"] as const) {
  Deno.test(`perfect players return 1 per episode on every level (${precision} backend)`, async () => {
    const on = createCpuBackend({ precision });
    for (const difficulty of ["easy", "hard"] as PopgymDifficulty[]) {
      const repeat = new DeviceRepeatPrevious(on, 3, { seed: 9, difficulty });
      const width = repeat.state.shape[1];
      on.dispose(repeat.reset());
      const returns = [0, 0, 0];
      for (let t = 1; t <= repeat.cards - 1; t++) {
        const data = await repeat.readState();
        const suits = [0, 1, 2].map((i) =>
          t >= repeat.k ? data[width * i + 2 + t - repeat.k] % 4 : 0
        );
        const out = await step(repeat, suits, on);
        out.rewards.forEach((r, i) => returns[i] += r);
      }
      for (const r of returns) assert.ok(Math.abs(r - 1) < 1e-4, `RepeatPrevious return ${r}`);
      repeat.destroy();

      const count = new DeviceCountRecall(on, 3, { seed: 9, difficulty });
      const cw = count.state.shape[1], kinds = count.kinds;
      const kindOf = difficulty === "hard"
        ? (card: number) => Math.floor(card / 4) % 13
        : (card: number) => card % kinds;
      on.dispose(count.reset());
      const totals = [0, 0, 0];
      for (let t = 1; t <= count.cards - 1; t++) {
        const data = await count.readState();
        const answers = [0, 1, 2].map((i) => {
          const query = kindOf(data[cw * i + 2 + kinds + count.cards + t - 1]);
          return data[cw * i + 2 + query];
        });
        const out = await step(count, answers, on);
        out.rewards.forEach((r, i) => totals[i] += r);
      }
      for (const r of totals) assert.ok(Math.abs(r - 1) < 1e-4, `CountRecall return ${r}`);
      count.destroy();
    }
  });
}

Deno.test("the card games refuse bad levels, counts and actions", () => {
  assert.throws(
    () => new DeviceRepeatPrevious(backend, 2, { difficulty: "nightmare" as PopgymDifficulty }),
    /difficulty is "nightmare"/,
  );
  assert.throws(() => new DeviceCountRecall(backend, 0), /count is 0/);
  const envs = new DeviceRepeatPrevious(backend, 2);
  backend.dispose(envs.reset());
  assert.throws(
    () => envs.step(backend.tensor([0, 4], [2])),
    /copy 1: action is 4, expected an integer in 0..3/,
  );
  assert.throws(() => envs.step(backend.tensor([0], [1])), /got 1 actions for 2 copies/);
  const counting = new DeviceCountRecall(backend, 1);
  backend.dispose(counting.reset());
  assert.equal(counting.actionCount, 27);
  assert.throws(() => counting.step(backend.tensor([0.5], [1])), /action is 0.5/);
});
