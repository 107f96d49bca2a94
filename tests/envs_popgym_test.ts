import assert from "node:assert/strict";
import { CartPole } from "../lib/envs/cartpole.ts";
import type { Env, StepResult } from "../lib/envs/env.ts";
import {
  Autoencode,
  Battleship,
  Concentration,
  CountRecall,
  HigherLower,
  MultiarmedBandit,
  NoisyStatelessCartPole,
  POPGYM_ENVS,
  type PopgymEnvName,
  PopgymMineSweeper,
  RepeatFirst,
  RepeatPrevious,
  StatelessCartPole,
} from "../lib/envs/popgym/mod.ts";
import type { JsonObject, JsonValue } from "../lib/io/json.ts";
import { Rng } from "../lib/io/rng.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

type Policy = (observation: Float32Array, t: number) => number;

interface Episode {
  observations: Float32Array[];
  actions: number[];
  rewards: number[];
  last: StepResult<unknown>;
  total: number;
}

/** Plays one episode from a reset (reseeded when `seed` is given). */
function play(env: Env<unknown>, policy: Policy, seed?: number): Episode {
  return playFrom(env, env.reset(seed === undefined ? {} : { seed }).observation, policy);
}

/** Plays the rest of an episode that has just been reset and shown `observation`. */
function playFrom(env: Env<unknown>, observation: Float32Array, policy: Policy): Episode {
  const observations = [observation];
  const actions: number[] = [];
  const rewards: number[] = [];
  for (let t = 1;; t++) {
    const action = policy(observation, t);
    const step = env.step(action);
    actions.push(action);
    rewards.push(step.reward);
    observations.push(step.observation);
    observation = step.observation;
    if (step.terminated || step.truncated) {
      return { observations, actions, rewards, last: step, total: sum(rewards) };
    }
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mean(values: number[]): number {
  return sum(values) / values.length;
}

function randomPolicy(env: Env<unknown>, rng: Rng): Policy {
  return () => rng.int(env.actionCount);
}

/** The index of the 1 in `observation[from .. from + size)`, checking it is a one-hot. */
function hot(observation: Float32Array, from = 0, size = observation.length - from): number {
  const part = observation.subarray(from, from + size);
  assert.equal(part.filter((v) => v === 1).length, 1, `one-hot at ${from}: ${[...part]}`);
  assert.equal(part.filter((v) => v === 0).length, size - 1);
  return part.indexOf(1);
}

/** The standard normal distribution function (Abramowitz and Stegun 7.1.26, error < 1.5e-7). */
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 +
                t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

function close(actual: number, expected: number, tolerance = 1e-9, what = ""): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} is not within ${tolerance} of ${expected}`,
  );
}

function make<T extends Env<unknown>>(name: string, options = {}): T {
  const factory = POPGYM_ENVS.get(name as PopgymEnvName);
  assert.ok(factory, `${name} is registered`);
  return factory(options) as T;
}

// ---------------------------------------------------------------------------------------------
// The registry and what every environment promises

/**
 * Per name: the game observation's length, the action count, the previous-action one-hot sizes,
 * and the episode length: a number when every episode lasts exactly that long, or `[max]` when
 * an episode can end earlier.
 */
const EXPECTED: Record<string, [number, number, number[], number | [number]]> = {
  "repeat-previous-easy": [4, 4, [4], 51],
  "repeat-previous-medium": [4, 4, [4], 103],
  "repeat-previous-hard": [4, 4, [4], 155],
  "repeat-first-easy": [4, 4, [4], 51],
  "repeat-first-medium": [4, 4, [4], 415],
  "repeat-first-hard": [4, 4, [4], 831],
  "count-recall-easy": [4, 27, [27], 51],
  "count-recall-medium": [8, 27, [27], 103],
  "count-recall-hard": [26, 17, [17], 207],
  "autoencode-easy": [6, 4, [4], 103],
  "autoencode-medium": [6, 4, [4], 207],
  "autoencode-hard": [6, 4, [4], 311],
  "stateless-cartpole-easy": [2, 2, [2], [200]],
  "stateless-cartpole-medium": [2, 2, [2], [400]],
  "stateless-cartpole-hard": [2, 2, [2], [600]],
  "noisy-stateless-cartpole-easy": [2, 2, [2], [200]],
  "noisy-stateless-cartpole-medium": [2, 2, [2], [200]],
  "noisy-stateless-cartpole-hard": [2, 2, [2], [200]],
  "higher-lower-easy": [13, 2, [2], 51],
  "higher-lower-medium": [13, 2, [2], 103],
  "higher-lower-hard": [13, 2, [2], 155],
  "multiarmed-bandit-easy": [2, 10, [10], 200],
  "multiarmed-bandit-medium": [2, 20, [20], 400],
  "multiarmed-bandit-hard": [2, 30, [30], 600],
  "battleship-easy": [2, 64, [8, 8], [64]],
  "battleship-medium": [2, 100, [10, 10], [100]],
  "battleship-hard": [2, 144, [12, 12], [144]],
  "concentration-easy": [52 * 3, 52, [52], [104]],
  "concentration-medium": [104 * 3, 104, [104], [208]],
  "concentration-hard": [52 * 14, 52, [52], [104]],
  "minesweeper-easy": [3, 16, [4, 4], [14]],
  "minesweeper-medium": [7, 36, [6, 6], [30]],
  "minesweeper-hard": [10, 64, [8, 8], [54]],
};

Deno.test("POPGYM_ENVS registers every game at every difficulty under POPGym's names", () => {
  assert.deepEqual([...POPGYM_ENVS.keys()].sort(), Object.keys(EXPECTED).sort());
  for (const [name, make] of POPGYM_ENVS) {
    const env = make();
    assert.equal(env.id, name);
    assert.equal(typeof env.actionMask, "undefined", `${name}: POPGym restricts no action`);
  }
});

for (const name of Object.keys(EXPECTED)) {
  const [gameSize, actionCount, factors, length] = EXPECTED[name];

  Deno.test(`${name} keeps its observation length and action count, with and without the previous action`, () => {
    for (const observePreviousAction of [false, true]) {
      const env = make(name, { seed: 1, observePreviousAction });
      const extra = observePreviousAction ? sum(factors) : 0;
      assert.equal(env.observationSize, gameSize + extra);
      assert.equal(env.actionCount, actionCount);
      const rng = new Rng(2);
      for (let e = 0; e < 3; e++) {
        const episode = play(env, randomPolicy(env, rng));
        for (const [t, observation] of episode.observations.entries()) {
          assert.equal(observation.length, env.observationSize);
          if (!observePreviousAction) continue;
          // The tail: a one-hot per factor of the previous action (0 after reset), row-major.
          let action = t === 0 ? 0 : episode.actions[t - 1];
          let offset = gameSize + extra;
          for (let f = factors.length - 1; f >= 0; f--) {
            offset -= factors[f];
            assert.equal(hot(observation, offset, factors[f]), action % factors[f]);
            action = Math.floor(action / factors[f]);
          }
        }
        assert.equal(env.observationSize, gameSize + extra);
        assert.equal(env.actionCount, actionCount);
      }
    }
  });

  Deno.test(`${name} ends its episodes when POPGym's rules say`, () => {
    const env = make(name, { seed: 3 });
    const rng = new Rng(4);
    for (let e = 0; e < 20; e++) {
      const { rewards, last } = play(env, randomPolicy(env, rng));
      if (typeof length === "number") {
        assert.equal(rewards.length, length);
      } else {
        assert.ok(rewards.length <= length[0], `${rewards.length} steps`);
        if (rewards.length < length[0]) assert.ok(last.terminated, "only the limit truncates");
        if (last.truncated) assert.equal(rewards.length, length[0]);
      }
      assert.throws(() => env.step(0), /episode has ended/);
    }
  });

  Deno.test(`${name} repeats an episode exactly from the same seed and actions`, () => {
    const a = make(name, { seed: 5 });
    const b = make(name);
    const ra = new Rng(6);
    const rb = new Rng(6);
    for (let e = 0; e < 3; e++) {
      const x = play(a, randomPolicy(a, ra), e === 0 ? 5 : undefined);
      const y = play(b, randomPolicy(b, rb), e === 0 ? 5 : undefined);
      assert.deepEqual(y.actions, x.actions);
      assert.deepEqual(y.rewards, x.rewards);
      assert.deepEqual(y.observations, x.observations);
      assert.deepEqual(y.last, x.last);
    }
    const other = play(make(name, { seed: 7 }), randomPolicy(a, new Rng(6)), 7);
    const again = play(make(name, { seed: 5 }), randomPolicy(a, new Rng(6)), 5);
    assert.notDeepEqual(other.observations.concat(), again.observations.concat(), "seeds differ");
  });

  Deno.test(`${name} continues identically from a clone given its snapshot`, () => {
    const env = make(name, { seed: 8, observePreviousAction: true });
    const rng = new Rng(9);
    env.reset();
    let ended = false;
    for (let t = 0; t < 7 && !ended; t++) {
      const step = env.step(rng.int(env.actionCount));
      ended = step.terminated || step.truncated;
    }
    const saved = JSON.parse(JSON.stringify(env.getState!())) as JsonValue;
    const copies = [env.clone!(), make(name, { observePreviousAction: true })];
    for (const copy of copies) {
      assert.equal(copy.id, env.id);
      assert.equal(copy.observationSize, env.observationSize);
      copy.setState!(saved);
      assert.deepEqual(copy.getState!(), env.getState!());
    }
    const [c, d] = copies;
    // The rest of this episode and the whole of the next, step by step.
    for (let episode = 0; episode < 2; episode++) {
      if (episode === 1 || ended) {
        const [x, y, z] = [env.reset(), c.reset(), d.reset()];
        assert.deepEqual(y, x);
        assert.deepEqual(z, x);
      }
      for (;;) {
        const action = rng.int(env.actionCount);
        const [x, y, z] = [env.step(action), c.step(action), d.step(action)];
        assert.deepEqual(y, x);
        assert.deepEqual(z, x);
        if (x.terminated || x.truncated) break;
      }
    }
    // A clone has its own RNG: reseeded alike, it plays alike; stepping one leaves the other.
    const e = env.clone!();
    assert.deepEqual(e.reset({ seed: 10 }), env.reset({ seed: 10 }));
    const before = env.getState!();
    e.step(0);
    assert.deepEqual(env.getState!(), before);
  });

  Deno.test(`${name} returns within [−1, 1] under a random policy`, () => {
    const env = make(name, { seed: 11 });
    const rng = new Rng(12);
    const episodes = length === 831 || length === 415 ? 60 : 150;
    for (let e = 0; e < episodes; e++) {
      const { total } = play(env, randomPolicy(env, rng));
      assert.ok(total >= -1 - 1e-9 && total <= 1 + 1e-9, `episode ${e} returned ${total}`);
    }
  });

  Deno.test(`${name} rejects bad actions and malformed snapshots`, () => {
    const env = make(name, { seed: 13 });
    assert.throws(() => env.step(0), /call reset\(\) before the first step/);
    env.reset();
    for (const action of [-1, actionCount, 0.5, NaN, Infinity]) {
      assert.throws(() => env.step(action), RangeError);
    }
    env.step(0);
    const before = env.getState!() as JsonObject;
    const game = before.game as Record<string, JsonValue>;
    const broken: JsonValue[] = [
      null,
      42,
      [],
      {},
      { ...before, id: "cartpole" },
      { ...before, elapsedSteps: -1 },
      { ...before, elapsedSteps: 1e9 },
      { ...before, started: "yes" },
      { ...before, rng: { words: [0, 0, 0, 0], spareNormal: null } },
      { ...before, rng: { words: [1, 2, 3], spareNormal: null } },
      // A sound RNG with a broken game: neither may be taken.
      ...Object.keys(game).map((key) => ({
        ...before,
        rng: { words: new Rng(99).getState().words, spareNormal: null },
        game: { ...game, [key]: null },
      })),
      { ...before, game: null },
      ...Object.keys(game).map((key) => ({ ...before, game: { ...game, [key]: null } })),
      ...Object.keys(game).map((key) => ({ ...before, game: { ...game, [key]: [7, 7, 7] } })),
    ];
    for (const saved of broken) {
      assert.throws(() => env.setState!(saved), TypeError, JSON.stringify(saved).slice(0, 80));
      assert.deepEqual(env.getState!(), before, "a failed restore changes nothing");
    }
  });
}

Deno.test("POPGym environments reject an unknown difficulty with a RangeError", () => {
  for (
    const Game of [
      RepeatPrevious,
      RepeatFirst,
      CountRecall,
      Autoencode,
      StatelessCartPole,
      NoisyStatelessCartPole,
      HigherLower,
      MultiarmedBandit,
      Battleship,
      Concentration,
      PopgymMineSweeper,
    ]
  ) {
    assert.throws(() => new Game({ difficulty: "expert" as "easy" }), RangeError);
    assert.equal(new Game().difficulty, "easy");
  }
});

// ---------------------------------------------------------------------------------------------
// RepeatPrevious

Deno.test("RepeatPrevious pays a perfect memory of card t − k + 1 exactly 1", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new RepeatPrevious({ difficulty, seed: 14 });
    const { k, cards } = env;
    for (const lag of [k - 1, k - 2, k]) {
      // seen[j] is the suit of card j + 1; step t answers card t − lag.
      const seen: number[] = [];
      const episode = play(env, (observation, t) => {
        seen.push(hot(observation));
        return t - lag - 1 >= 0 ? seen[t - lag - 1] : 0;
      }, 15);
      if (lag === k - 1) {
        close(episode.total, 1, 1e-9, difficulty);
        assert.deepEqual(episode.rewards.slice(0, k - 1), new Array(k - 1).fill(0));
        assert.ok(episode.rewards.slice(k - 1).every((r) => r === 1 / (cards - k)));
      } else {
        assert.ok(episode.total < 0.5, `a lag of ${lag} is not the rule: ${episode.total}`);
      }
    }
  }
});

Deno.test("RepeatPrevious gives a constant answer its share of the target cards", () => {
  const env = new RepeatPrevious({ difficulty: "easy", seed: 16 });
  const totals: number[] = [];
  for (let e = 0; e < 300; e++) {
    const episode = play(env, () => 2);
    const suits = episode.observations.map((o) => hot(o));
    const targets = suits.slice(0, 52 - 4); // cards 1..N − k are asked for
    const right = targets.filter((s) => s === 2).length;
    close(episode.total, (2 * right - targets.length) / targets.length, 1e-9);
    assert.equal(episode.last.terminated, true);
    totals.push(episode.total);
  }
  close(mean(totals), -0.5, 0.05, "mean");
});

// ---------------------------------------------------------------------------------------------
// RepeatFirst

Deno.test("RepeatFirst pays remembering the first suit 1 and a constant suit ±1", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new RepeatFirst({ difficulty, seed: 17 });
    let first = -1;
    const perfect = play(env, (observation, t) => {
      if (t === 1) first = hot(observation);
      return first;
    });
    close(perfect.total, 1, 1e-9, difficulty);
    assert.equal(perfect.rewards.length, env.cards - 1);
    // Every shoe holds N/4 of each suit: all N cards are shown once.
    const counts = [0, 0, 0, 0];
    for (const o of perfect.observations) counts[hot(o)]++;
    assert.deepEqual(counts, new Array(4).fill(env.cards / 4));
  }
  const env = new RepeatFirst({ seed: 18 });
  const totals: number[] = [];
  for (let e = 0; e < 400; e++) {
    const episode = play(env, () => 1);
    const first = hot(episode.observations[0]);
    close(episode.total, first === 1 ? 1 : -1, 1e-9);
    totals.push(episode.total);
  }
  close(mean(totals), -0.5, 0.15, "mean");
});

// ---------------------------------------------------------------------------------------------
// CountRecall

/**
 * A CountRecall player that counts the value cards and answers off by `error` (kept in 0..max);
 * with `current` false it leaves out the card on show.
 */
function counter(env: CountRecall, error: number, current = true): Policy {
  const { kinds, maxCount } = env;
  const counts = new Array(kinds).fill(0);
  let previous = -1;
  return (observation) => {
    const value = hot(observation, 0, kinds);
    const query = hot(observation, kinds, kinds);
    if (current) {
      counts[value]++;
    } else {
      if (previous >= 0) counts[previous]++;
      previous = value;
    }
    const answer = counts[query] + error;
    return answer > maxCount ? counts[query] - error : answer;
  };
}

Deno.test("CountRecall pays exact counts 1, counts off by one −1, and counts the card on show", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new CountRecall({ difficulty, seed: 19 });
    const perfect = play(env, counter(env, 0));
    close(perfect.total, 1, 1e-9, difficulty);
    assert.ok(perfect.rewards.every((r) => r === 1 / (env.cards - 1)));
    close(play(env, counter(env, 1)).total, -1, 1e-9);
    // Leaving out the card on show is wrong exactly where it is of the asked kind.
    const stale = play(env, counter(env, 0, false));
    const own = stale.observations.slice(0, -1).filter((o) =>
      hot(o, 0, env.kinds) === hot(o, env.kinds, env.kinds)
    ).length;
    assert.ok(own > 0);
    close(stale.total, 1 - 2 * own / (env.cards - 1), 1e-9, "stale counts");
    // Both shoes are whole shoes: each kind is dealt C times as value and as query.
    const values = new Array(env.kinds).fill(0);
    const queries = new Array(env.kinds).fill(0);
    for (const o of perfect.observations) {
      values[hot(o, 0, env.kinds)]++;
      queries[hot(o, env.kinds, env.kinds)]++;
    }
    assert.deepEqual(values, new Array(env.kinds).fill(env.maxCount));
    assert.deepEqual(queries, new Array(env.kinds).fill(env.maxCount));
  }
});

Deno.test("CountRecall shuffles its value and query shoes independently", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new CountRecall({ difficulty, seed: 36 });
    let same = 0;
    let pairs = 0;
    for (let e = 0; e < 60; e++) {
      for (const o of play(env, () => 0).observations) {
        pairs++;
        if (hot(o, 0, env.kinds) === hot(o, env.kinds, env.kinds)) same++;
      }
    }
    // Independent shoes: a pair's two kinds agree with probability 1/V.
    const p = 1 / env.kinds;
    close(same / pairs, p, 5 * Math.sqrt(p * (1 - p) / pairs), difficulty);
  }
});

Deno.test("CountRecall makes the full count C an action, and rewards it (POPGym issue #40)", () => {
  const env = new CountRecall({ difficulty: "hard", seed: 20 });
  assert.equal(env.actionCount, env.maxCount + 1);
  let found = 0;
  for (let e = 0; e < 200 && found === 0; e++) {
    const policy = counter(env, 0);
    const episode = play(env, (observation, t) => {
      const answer = policy(observation, t);
      if (answer === env.maxCount) found++;
      return answer;
    });
    close(episode.total, 1, 1e-9);
  }
  assert.ok(found > 0, "some episode asks for a kind after all of its cards are out");
});

// ---------------------------------------------------------------------------------------------
// Autoencode

Deno.test("Autoencode shows the shoe, then pays reciting it backwards 1 and forwards less", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new Autoencode({ difficulty, seed: 21 });
    const n = env.cards;
    const reciter = (backwards: boolean): Policy => {
      const seen: number[] = [];
      let next = 0;
      return (observation, t) => {
        const watching = hot(observation, 0, 2) === 1;
        assert.equal(watching, t < n, `the play flag comes with the last card, at t = ${t}`);
        if (t <= n) seen.push(hot(observation, 2, 4));
        if (t < n) return 3;
        return backwards ? seen[n - 1 - (t - n)] : seen[next++];
      };
    };
    const perfect = play(env, reciter(true));
    close(perfect.total, 1, 1e-9, difficulty);
    assert.equal(perfect.rewards.length, 2 * n - 1);
    assert.deepEqual(perfect.rewards.slice(0, n - 1), new Array(n - 1).fill(0));
    // While playing, the observation is the play flag and POPGym's placeholder suit 0.
    for (const o of perfect.observations.slice(n)) assert.deepEqual([...o], [1, 0, 1, 0, 0, 0]);
    assert.ok(play(env, reciter(false)).total < 0.5, "forwards is not the rule");
    close(play(env, () => 1).total, -0.5, 1e-9, "a constant suit is right N/4 times");
  }
});

// ---------------------------------------------------------------------------------------------
// StatelessCartPole and NoisyStatelessCartPole

Deno.test("StatelessCartPole is Gymnasium's CartPole seen as [x, θ], paying 1/L a step", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new StatelessCartPole({ difficulty, seed: 22 });
    const L = env.maxEpisodeSteps;
    assert.equal(L, { easy: 200, medium: 400, hard: 600 }[difficulty]);
    const { observation } = env.reset();
    const reference = new CartPole({ maskVelocity: true, maxEpisodeSteps: 10_000 });
    reference.reset();
    reference.state = env.state;
    assert.deepEqual(observation, reference.observe());
    const rng = new Rng(23);
    for (let t = 1;; t++) {
      const action = rng.int(2);
      const step = env.step(action);
      const expected = reference.step(action);
      assert.deepEqual(step.observation, expected.observation);
      assert.equal(step.terminated, expected.terminated);
      assert.equal(step.reward, 1 / L);
      if (step.terminated || step.truncated) break;
    }
    // An oracle that sees the velocities balances the pole until the time limit.
    const balanced = play(env, () => {
      const [, , theta, thetaDot] = env.state;
      return theta + 0.5 * thetaDot > 0 ? 1 : 0;
    });
    assert.deepEqual([balanced.rewards.length, balanced.last.truncated], [L, true]);
    close(balanced.total, 1, 1e-9);
    const pushed = play(env, () => 1);
    assert.ok(pushed.last.terminated && pushed.rewards.length < 30);
    close(pushed.total, pushed.rewards.length / L, 1e-12, "a fall costs nothing more");
  }
});

Deno.test("NoisyStatelessCartPole adds N(0, σ²) to x and θ, clipped to POPGym's bounds", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new NoisyStatelessCartPole({ difficulty, seed: 24 });
    const sigma = { easy: 0.1, medium: 0.2, hard: 0.3 }[difficulty];
    assert.deepEqual([env.noiseSigma, env.maxEpisodeSteps], [sigma, 200]);
    const xErrors: number[] = [];
    const thetaErrors: number[] = [];
    let clipped = 0;
    const bound = Math.fround(2 * 12 * 2 * Math.PI / 360); // ±24°, twice the threshold
    for (let e = 0; e < 40; e++) {
      let o = env.reset().observation;
      for (;;) {
        const [x, , theta] = env.state;
        xErrors.push(o[0] - x);
        thetaErrors.push(o[1] - theta);
        assert.ok(Math.abs(o[0]) <= 4.8 && Math.abs(o[1]) <= bound);
        if (Math.abs(o[1]) === bound) clipped++;
        const [, , th, thDot] = env.state;
        const step = env.step(th + 0.5 * thDot > 0 ? 1 : 0);
        assert.equal(step.reward, 1 / 200);
        o = step.observation;
        if (step.terminated || step.truncated) break;
      }
    }
    // x stays far inside ±4.8, so its noise is never clipped; θ's is, at ±0.419 rad.
    const m = mean(xErrors);
    const sd = Math.sqrt(mean(xErrors.map((v) => (v - m) ** 2)));
    close(m, 0, 0.01, "mean x noise");
    close(sd, sigma, 0.05 * sigma, "x noise sd");
    close(mean(thetaErrors), 0, 0.01, "mean θ noise");
    const tail = 2 * (1 - normalCdf(0.4189 / sigma)); // θ is near 0 while balanced
    close(clipped / thetaErrors.length, tail, 0.02 + tail / 2, "clipped θ");
  }
});

// ---------------------------------------------------------------------------------------------
// HigherLower

Deno.test("HigherLower scores each guess against the next card's rank", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new HigherLower({ difficulty, seed: 25 });
    const n = env.cards;
    const rng = new Rng(26);
    const episode = play(env, () => rng.int(2));
    const ranks = episode.observations.map((o) => hot(o));
    episode.rewards.forEach((reward, i) => {
      const [shown, next] = [ranks[i], ranks[i + 1]];
      const higher = episode.actions[i] === 0;
      const expected = next === shown ? 0 : (next > shown) === higher ? 1 / n : -1 / n;
      assert.equal(reward, expected, `step ${i + 1}: ${shown} then ${next}`);
    });
    // The whole shoe is shown: each rank 4 · decks times.
    const counts = new Array(13).fill(0);
    for (const r of ranks) counts[r]++;
    assert.deepEqual(counts, new Array(13).fill(n / 13));
  }
});

Deno.test("HigherLower returns 0 for a constant guess and 84/169 for guessing by the seven", () => {
  for (const difficulty of ["easy", "hard"] as const) {
    const env = new HigherLower({ difficulty, seed: 27 });
    const constant: number[] = [];
    const threshold: number[] = [];
    for (let e = 0; e < 400; e++) {
      constant.push(play(env, () => 0).total);
      threshold.push(play(env, (o) => hot(o) < 6 ? 0 : 1).total);
    }
    close(mean(constant), 0, 0.03, `${difficulty} constant`);
    close(mean(threshold), 84 / 169, 0.03, `${difficulty} threshold`);
  }
});

// ---------------------------------------------------------------------------------------------
// MultiarmedBandit

Deno.test("MultiarmedBandit pays each arm with its probability, ±1/L a pull", () => {
  const env = new MultiarmedBandit({ difficulty: "medium", seed: 28 });
  const L = 400;
  const pulls = new Array(20).fill(0);
  const paid = new Array(20).fill(0);
  let expected = 0;
  for (let e = 0; e < 50; e++) {
    const episode = play(env, (_, t) => (t - 1) % 20);
    const p = env.payoutProbabilities();
    assert.ok(p.every((q) => q >= 0 && q < 1));
    assert.deepEqual([episode.rewards.length, episode.last.truncated], [L, true]);
    assert.equal(episode.last.terminated, false);
    assert.equal(hot(episode.observations[0]), 0, "the reset shows a failed pull");
    episode.rewards.forEach((reward, i) => {
      const win = hot(episode.observations[i + 1]) === 1;
      assert.equal(reward, win ? 1 / L : -1 / L);
      pulls[episode.actions[i]]++;
      paid[episode.actions[i]] += win ? 1 : 0;
      expected += p[episode.actions[i]];
    });
  }
  // Over 20 000 pulls, the payouts match the probabilities drawn (sd ≈ 70).
  close(sum(paid), expected, 300, "payouts");
});

Deno.test("MultiarmedBandit returns (n − 1)/(n + 1) for the best arm and 0 for a fixed one", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new MultiarmedBandit({ difficulty, seed: 29 });
    const n = env.arms;
    const best: number[] = [];
    const fixed: number[] = [];
    for (let e = 0; e < 300; e++) {
      env.reset();
      const p = env.payoutProbabilities();
      const arm = p.indexOf(Math.max(...p));
      let total = 0;
      for (let t = 0; t < env.maxEpisodeSteps; t++) total += env.step(arm).reward;
      best.push(total);
      fixed.push(play(env, () => 0).total);
    }
    close(mean(best), (n - 1) / (n + 1), 0.04, `${difficulty} best`);
    close(mean(fixed), 0, 0.15, `${difficulty} fixed`);
  }
});

// ---------------------------------------------------------------------------------------------
// Battleship

Deno.test("Battleship places ships of 2, 3, 3 and 4 cells in straight lines, apart or touching", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new Battleship({ difficulty, seed: 30 });
    const b = env.board;
    let vertical = 0;
    let touching = 0;
    const boards = 1000;
    for (let e = 0; e < boards; e++) {
      env.reset();
      const ships = env.ships();
      assert.deepEqual(ships.map((s) => s.length), [2, 3, 3, 4]);
      const cells = new Set(ships.flat());
      assert.equal(cells.size, 12, "ships do not overlap");
      for (const ship of ships) {
        const rows = ship.map((c) => Math.floor(c / b));
        const columns = ship.map((c) => c % b);
        const across = rows.every((r) => r === rows[0]);
        const down = columns.every((c) => c === columns[0]);
        assert.ok(across !== down, `a line: ${ship}`);
        const along = (across ? columns : rows).sort((x, y) => x - y);
        along.forEach((v, i) => assert.equal(v, along[0] + i));
        if (ship === ships[0] && down) vertical++;
      }
      // Ships touch when a cell of one is next to (8-neighbourhood) a cell of another.
      const owner = new Map(ships.flatMap((s, k) => s.map((c) => [c, k] as const)));
      const touches = ships.some((s, k) =>
        s.some((c) =>
          [-1, 0, 1].some((dr) =>
            [-1, 0, 1].some((dc) => {
              const r = Math.floor(c / b) + dr;
              const col = (c % b) + dc;
              const o = r >= 0 && r < b && col >= 0 && col < b ? owner.get(r * b + col) : undefined;
              return o !== undefined && o !== k;
            })
          )
        )
      );
      if (touches) touching++;
    }
    close(vertical / boards, 0.5, 0.06, "vertical first ships");
    assert.ok(touching > boards / 20, `ships may touch: ${touching} of ${boards}`);
  }
});

Deno.test("Battleship pays 1/12 a new hit and −1/(B² − 12) a miss or a repeat", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new Battleship({ difficulty, seed: 31 });
    const b2 = env.board * env.board;
    env.reset();
    const ships = env.ships();
    // An oracle sinks the fleet in 12 shots.
    let total = 0;
    let last!: StepResult<{ won: boolean }>;
    for (const cell of ships.flat()) {
      last = env.step(cell);
      total += last.reward;
      assert.equal(last.reward, 1 / 12);
      assert.equal(hot(last.observation), 1);
    }
    close(total, 1, 1e-9);
    assert.deepEqual([last.terminated, last.truncated, last.info.won], [true, false, true]);
    // A sweep in row-major order ends at the last ship cell.
    const sweep = play(env, (_, t) => t - 1);
    const end = Math.max(...env.ships().flat());
    close(sweep.total, 1 - (end + 1 - 12) / (b2 - 12), 1e-9, "sweep");
    assert.equal(sweep.rewards.length, end + 1);
    // Shooting one ship cell again and again: one hit, then misses, for all B² steps.
    let shown = env.reset().observation;
    const cell = env.ships()[0][0];
    const again = playFrom(env, shown, () => cell);
    assert.deepEqual([again.rewards.length, again.last.truncated], [b2, true]);
    close(again.total, 1 / 12 - (b2 - 1) / (b2 - 12), 1e-9);
    assert.ok(again.observations.slice(2).every((o) => hot(o) === 0), "a repeat is a miss");
    // Shooting water all game: POPGym's scale goes below −1 here (−B²/(B² − 12)).
    shown = env.reset().observation;
    const fleet = new Set(env.ships().flat());
    const water = [...Array(b2).keys()].find((c) => !fleet.has(c))!;
    close(playFrom(env, shown, () => water).total, -b2 / (b2 - 12), 1e-9, "all misses");
  }
});

// ---------------------------------------------------------------------------------------------
// Concentration

Deno.test("Concentration deals N/V cards of each value and an oracle matches them all for 1", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new Concentration({ difficulty, seed: 32 });
    const { cards, values } = env;
    assert.equal(env.maxEpisodeSteps, Math.ceil(2 * cards - cards / (2 * cards - 1)));
    const { observation } = env.reset();
    for (let i = 0; i < cards; i++) {
      assert.equal(hot(observation, i * (values + 1), values + 1), values);
    }
    const layout = env.cardValues();
    const counts = new Array(values).fill(0);
    for (const v of layout) counts[v]++;
    assert.deepEqual(counts, new Array(values).fill(cards / values));
    const order = [...layout.keys()].sort((a, b) => layout[a] - layout[b] || a - b);
    let total = 0;
    let last!: StepResult<{ won: boolean }>;
    order.forEach((place, i) => {
      last = env.step(place);
      total += last.reward;
      assert.equal(last.reward, i % 2 === 0 ? 0 : 2 / cards);
      // Every card turned so far shows its value.
      for (const p of order.slice(0, i + 1)) {
        assert.equal(hot(last.observation, p * (values + 1), values + 1), layout[p]);
      }
    });
    close(total, 1, 1e-9, difficulty);
    assert.deepEqual([last.terminated, last.truncated, last.info.won], [true, false, true]);
    assert.equal(env.elapsedSteps, cards);
  }
});

Deno.test("Battleship, Concentration and PopgymMineSweeper restored mid-game still end in a win", () => {
  const games: [Env<unknown>, (env: Env<unknown>) => number[]][] = [
    [new Battleship({ seed: 37 }), (env) => (env as Battleship).ships().flat()],
    [new Concentration({ seed: 38 }), (env) => {
      const v = (env as Concentration).cardValues();
      return [...v.keys()].sort((a, b) => v[a] - v[b] || a - b);
    }],
    [new PopgymMineSweeper({ difficulty: "medium", seed: 39 }), (env) => {
      const mines = (env as PopgymMineSweeper).mineLayout();
      return [...mines.keys()].filter((i) => mines[i] === 0);
    }],
  ];
  for (const [env, oracle] of games) {
    env.reset();
    const moves = oracle(env);
    const half = 2 * Math.floor(moves.length / 4);
    for (const move of moves.slice(0, half)) env.step(move);
    const copy = env.clone!();
    copy.setState!(JSON.parse(JSON.stringify(env.getState!())));
    let total = 0;
    let last!: StepResult<unknown>;
    for (const move of moves.slice(half)) {
      last = copy.step(move);
      assert.deepEqual(last, env.step(move), "the copy plays as the original");
      total += last.reward;
    }
    assert.deepEqual([last.terminated, (last.info as { won: boolean }).won], [true, true], env.id);
    assert.ok(total > 0.4, `${env.id}: ${total}`);
  }
});

Deno.test("Concentration penalises a failed turn −2/L and a face-up card −1/L per card turned", () => {
  const env = new Concentration({ difficulty: "hard", seed: 33 }); // ranks: 13 values, L = 104
  const L = env.maxEpisodeSteps;
  env.reset();
  const v = env.cardValues();
  const width = 14;
  const [a, b] = [...v.keys()].filter((i) => v[i] === v[0]).slice(0, 2); // a matching pair
  const c = v.findIndex((x) => x !== v[0]); // a card that does not match a
  const shows = (o: Float32Array, place: number) => hot(o, place * width, width) !== 13;
  // A mismatch: the second card shows on its step, both are face down after.
  assert.equal(env.step(a).reward, 0);
  let step = env.step(c);
  assert.equal(step.reward, -2 / L);
  assert.ok(shows(step.observation, a) && shows(step.observation, c));
  step = env.step(b);
  assert.equal(step.reward, 0);
  assert.ok(
    !shows(step.observation, a) && !shows(step.observation, c) && shows(step.observation, b),
  );
  // The same place twice is not a match.
  assert.equal(env.step(b).reward, -2 / L);
  // A match stays up; turning it again costs −1/L first in a turn and −2/L second.
  assert.equal(env.step(a).reward, 0);
  assert.equal(env.step(b).reward, 1 / 26);
  step = env.step(a);
  assert.equal(step.reward, -1 / L);
  assert.equal(env.step(c).reward, 0);
  step = env.step(b);
  assert.equal(step.reward, -2 / L);
  assert.ok(!shows(env.step(a).observation, c), "the turn with a face-up card ended");
  // Turning one place forever: every turn fails, and the return is exactly −1 at the limit.
  const stuck = play(env, () => 0);
  assert.deepEqual([stuck.rewards.length, stuck.last.truncated], [L, true]);
  close(stuck.total, -1, 1e-9);
});

// ---------------------------------------------------------------------------------------------
// MineSweeper

/** The mines in each cell's 3 × 3 block, the cell included, counted directly. */
function blockCounts(mine: Uint8Array, side: number): number[] {
  return [...mine.keys()].map((i) => {
    const [r, c] = [Math.floor(i / side), i % side];
    let k = 0;
    for (let rr = r - 1; rr <= r + 1; rr++) {
      for (let cc = c - 1; cc <= c + 1; cc++) {
        if (rr >= 0 && rr < side && cc >= 0 && cc < side) k += mine[rr * side + cc];
      }
    }
    return k;
  });
}

Deno.test("PopgymMineSweeper places its mines uniformly and shows each click's block count", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new PopgymMineSweeper({ difficulty, seed: 34 });
    const { width, mines } = env;
    const cells = width * width;
    const hits = new Array(cells).fill(0);
    const boards = 3000;
    for (let e = 0; e < boards; e++) {
      const { observation } = env.reset();
      assert.equal(hot(observation), 0, "the reset shows a count of 0");
      const layout = env.mineLayout();
      assert.equal(layout.reduce((a, x) => a + x, 0), mines);
      layout.forEach((m, i) => hits[i] += m);
      if (e < 50) {
        const counts = blockCounts(layout, width);
        const cell = e % cells;
        const step = env.step(cell);
        assert.equal(hot(step.observation), counts[cell]);
      }
    }
    const p = mines / cells;
    const sd = Math.sqrt(p * (1 - p) / boards);
    for (const h of hits) close(h / boards, p, 5 * sd, `${difficulty} mine frequency`);
  }
});

Deno.test("PopgymMineSweeper pays +1/L, −0.5/(L − 2) a repeat and −0.5 − 1/L a mine", () => {
  for (const difficulty of ["easy", "medium", "hard"] as const) {
    const env = new PopgymMineSweeper({ difficulty, seed: 35 });
    const L = env.maxEpisodeSteps;
    env.reset();
    const layout = env.mineLayout();
    const safe = [...layout.keys()].filter((i) => layout[i] === 0);
    const mine = layout.indexOf(1);
    // The oracle clicks every safe cell once: L steps, return 1, won on the last.
    let total = 0;
    safe.forEach((cell, i) => {
      const step = env.step(cell);
      total += step.reward;
      assert.equal(step.reward, 1 / L);
      assert.deepEqual(
        [step.terminated, step.truncated, step.info.won],
        [i === L - 1, false, i === L - 1],
      );
    });
    close(total, 1, 1e-9);
    // The worst game: one safe cell, L − 2 repeats and a mine returns −1.
    env.reset();
    const worst = play(
      env,
      (_, t) => t < L ? env.mineLayout().indexOf(0) : env.mineLayout().indexOf(1),
    );
    assert.deepEqual(worst.rewards.slice(0, 2), [1 / L, -0.5 / (L - 2)]);
    assert.equal(worst.rewards.at(-1), -0.5 - 1 / L);
    assert.deepEqual([
      worst.rewards.length,
      worst.last.terminated,
      (worst.last.info as { won: boolean }).won,
    ], [
      L,
      true,
      false,
    ]);
    close(worst.total, -1, 1e-9);
    // Repeating one safe cell is truncated after exactly L steps (POPGym's pull request #38).
    const shown = env.reset().observation;
    const cell = env.mineLayout().indexOf(0);
    const stuck = playFrom(env, shown, () => cell);
    assert.deepEqual([stuck.rewards.length, stuck.last.truncated, stuck.last.terminated], [
      L,
      true,
      false,
    ]);
    close(stuck.total, 1 / L - (L - 1) * 0.5 / (L - 2), 1e-9);
    // A mine shows its block count, itself included.
    env.reset();
    const m = env.mineLayout().indexOf(1);
    const boom = env.step(m);
    assert.equal(hot(boom.observation), blockCounts(env.mineLayout(), env.width)[m]);
    assert.ok(hot(boom.observation) >= 1);
    assert.deepEqual([boom.reward, boom.terminated], [-0.5 - 1 / L, true]);
    assert.ok(mine >= 0);
  }
});
