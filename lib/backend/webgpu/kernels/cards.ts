/**
 * Kernel `card_game_step`: many copies of POPGym's RepeatPrevious or CountRecall stepped in one
 * dispatch, one invocation per copy, with same-step autoreset. It is `stepCardGameF32` of
 * `../../cards_f32.ts` written in WGSL: the same rules, and the same Fisher–Yates shuffle from the
 * 24-bit counter draws, in integer arithmetic, so every backend deals the same shoes. The game
 * and its sizes arrive as uniforms, so one pipeline serves both games and every level. An invalid
 * action makes that copy's reward NaN (a kernel cannot throw).
 *
 * @module
 */

import {
  cardActionCount,
  type CardGameStepParams,
  cardRewardScale,
  cardShoes,
  cardStateSize,
} from "../../cards_f32.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
  WGSL_PCG,
} from "./kernel.ts";

/** Kernel `card_game_step` (see the module documentation). */
export function cardGameStepKernel(): Kernel {
  return makeKernel({
    key: "card_game_step",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: [
      ["count", "u32"],
      ["count_recall", "u32"],
      ["cards", "u32"],
      ["lag", "u32"],
      ["kinds", "u32"],
      ["kind_divisor", "u32"],
      ["seed", "u32"],
      ["state_size", "u32"],
      ["shoes", "u32"],
      ["action_count", "u32"],
      ["scale", "f32"],
    ],
    buffers: [
      ["state", "write"],
      ["actions", "read"],
      ["observations", "write"],
      ["rewards", "write"],
      ["terminated", "write"],
      ["final_observations", "write"],
    ],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_PCG}
// A runtime value: a constant expression must not evaluate to NaN.
var<private> nan_bits: u32 = 0x7fc00000u;

fn counts_in_state() -> u32 { return select(0u, p.kinds, p.count_recall == 1u); }
fn obs_size() -> u32 { return select(4u, 2u * p.kinds, p.count_recall == 1u); }
fn kind_of(card: f32) -> u32 { return (u32(card) / p.kind_divisor) % p.kinds; }

// Copy i's first deal of episode \`episode\`: identity shoes shuffled by Fisher and Yates.
fn reset(i: u32, o: u32, episode: u32) {
  state[o] = 0.0f;
  state[o + 1u] = f32(episode);
  let counts = counts_in_state();
  for (var k = 0u; k < counts; k++) { state[o + 2u + k] = 0.0f; }
  for (var shoe = 0u; shoe < p.shoes; shoe++) {
    let s = o + 2u + counts + p.cards * shoe;
    for (var j = 0u; j < p.cards; j++) { state[s + j] = f32(j); }
    for (var j = p.cards - 1u; j >= 1u; j--) {
      let bits = counter_bits(p.seed, episode, p.cards * (p.shoes * i + shoe) + j);
      let r = (bits * (j + 1u)) >> 24u;
      let swap = state[s + j];
      state[s + j] = state[s + r];
      state[s + r] = swap;
    }
  }
  if (p.count_recall == 1u) {
    let k = kind_of(state[o + 2u + p.kinds]);
    state[o + 2u + k] = state[o + 2u + k] + 1.0f;
  }
}

fn observe(i: u32, o: u32, final_row: bool) {
  let size = obs_size();
  let t = u32(state[o]);
  let shoe = o + 2u + counts_in_state();
  var hot_a = kind_of(state[shoe + t]);
  var hot_b = hot_a;
  if (p.count_recall == 1u) { hot_b = p.kinds + kind_of(state[shoe + p.cards + t]); }
  for (var k = 0u; k < size; k++) {
    let value = select(0.0f, 1.0f, k == hot_a || k == hot_b);
    if (final_row) { final_observations[size * i + k] = value; }
    else { observations[size * i + k] = value; }
  }
}

@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.count) { return; }
  let o = p.state_size * i;
  let shoe = o + 2u + counts_in_state();
  let a = actions[i];
  let valid = a >= 0.0f && a < f32(p.action_count) && a == floor(a);
  let t = u32(state[o]) + 1u;
  state[o] = f32(t);
  var reward = 0.0f;
  if (p.count_recall == 1u) {
    let answer = state[o + 2u + kind_of(state[shoe + p.cards + t - 1u])];
    let k = kind_of(state[shoe + t]);
    state[o + 2u + k] = state[o + 2u + k] + 1.0f;
    reward = select(-p.scale, p.scale, a == answer);
  } else if (t >= p.lag) {
    reward = select(-p.scale, p.scale, u32(a) == kind_of(state[shoe + t - p.lag]) && valid);
  }
  if (!valid) { reward = bitcast<f32>(nan_bits); }
  rewards[i] = reward;
  let ended = t == p.cards - 1u;
  terminated[i] = select(0.0f, 1.0f, ended);
  if (ended) {
    observe(i, o, true);
    reset(i, o, u32(state[o + 1u]) + 1u);
  } else {
    for (var k = 0u; k < obs_size(); k++) { final_observations[obs_size() * i + k] = 0.0f; }
  }
  observe(i, o, false);
}`,
  });
}

/** Encodes one step of `count` copies (see {@linkcode cardGameStepKernel}). */
export function encodeCardGameStep(
  ctx: KernelContext,
  buffers: {
    state: GPUBuffer;
    actions: GPUBuffer;
    observations: GPUBuffer;
    rewards: GPUBuffer;
    terminated: GPUBuffer;
    finalObservations: GPUBuffer;
  },
  count: number,
  params: CardGameStepParams,
): void {
  if (count === 0) return;
  const b = buffers;
  ctx.dispatch(
    "card_game_step",
    cardGameStepKernel,
    [
      count,
      params.game === "count-recall" ? 1 : 0,
      params.cards,
      params.lag,
      params.kinds,
      params.kindDivisor,
      params.seed >>> 0,
      cardStateSize(params),
      cardShoes(params),
      cardActionCount(params),
      cardRewardScale(params),
    ],
    [b.state, b.actions, b.observations, b.rewards, b.terminated, b.finalObservations],
    linearWorkgroups(ctx, count),
  );
}
