/**
 * The tuned settings per environment × algorithm that reach the published results with no flag
 * but `--env` and `--algo`: how long to train, the agent options that differ from the agent's
 * defaults, and the environment options they are tuned for. A pair without an entry trains with
 * the agent's defaults for {@linkcode DEFAULT_TRAIN_STEPS} steps.
 *
 * @module
 */

import { MINESWEEPER_REWARDS } from "../envs/minesweeper.ts";
import { POPGYM_ENVS, type PopgymEnvName } from "../envs/popgym/mod.ts";
import type { JsonObject } from "../io/json.ts";
import type { AlgoName } from "./registry.ts";
import type { EnvName } from "./registry.ts";

/** A preset: how long to train and the agent options that differ from the defaults. */
export interface TrainPreset {
  /** Environment steps to train for. */
  steps: number;
  /** Agent options (partial; the agent fills in its defaults). */
  options: JsonObject;
  /** Environment options the preset is tuned for (a board size, say); flags override them. */
  envOptions?: JsonObject;
  /** Steps between checkpoints when `--checkpoint-every` is not given (default 10 000). */
  checkpointEvery?: number;
  /** The Q-network `options` describe (DQN presets; default "mlp"). */
  network?: NetworkName;
  /**
   * The other Q-networks the preset offers, chosen with `--network`: agent options laid over
   * `options` (and the steps, where the network is tuned for another budget).
   */
  networks?: Partial<
    Record<NetworkName, { options: JsonObject; steps?: number; envOptions?: JsonObject }>
  >;
}

/** The Q-networks of DQN that `--network` names. */
export type NetworkName = "mlp" | "cellwise" | "cnn";

/** The `--network` choices. */
export const NETWORK_NAMES: readonly NetworkName[] = ["mlp", "cellwise", "cnn"];

/**
 * The preset with the network chosen: its own, or one of its `networks` laid over it.
 *
 * @returns The preset for that network, or undefined when it offers none such.
 */
export function presetWithNetwork(
  preset: TrainPreset,
  network: NetworkName,
): TrainPreset | undefined {
  if ((preset.network ?? "mlp") === network) return preset;
  const variant = preset.networks?.[network];
  if (!variant) return undefined;
  return {
    ...preset,
    steps: variant.steps ?? preset.steps,
    options: { ...preset.options, ...variant.options },
    ...(variant.envOptions ? { envOptions: { ...preset.envOptions, ...variant.envOptions } } : {}),
    network,
  };
}

/** The networks a preset offers, its own first. */
export function presetNetworks(preset: TrainPreset): NetworkName[] {
  return [preset.network ?? "mlp", ...Object.keys(preset.networks ?? {}) as NetworkName[]];
}

/**
 * DQN on "cartpole" starts from the RL Baselines3 Zoo's tuned DQN for CartPole-v1 (train in
 * bursts: 128 gradient steps every 256 environment steps, the target copied every 10 steps, ε
 * from 1 to 0.04 over 8000 steps) with a smaller network (faster on the CPU), 8-step returns, and
 * the learning rate decayed linearly to 0 at 50 000 steps: the budget it is tuned for (beyond it,
 * learning stops).
 */
const DQN_CARTPOLE: JsonObject = {
  hiddenSizes: [128, 128],
  learningRate: { start: 2.3e-3, end: 0, steps: 50_000 },
  nStep: 8,
  batchSize: 64,
  bufferSize: 100_000,
  learningStarts: 1000,
  gamma: 0.99,
  targetUpdateInterval: 10,
  trainFrequency: 256,
  gradientSteps: 128,
  epsilon: { start: 1, end: 0.04, steps: 8000 },
};

/**
 * DQN on "minesweeper" (9×9, 10 mines; actions masked to unrevealed cells) is tuned for 2 000 000
 * steps: a cellwise Q-network (one MLP of 64, 64 ReLU units shared by every cell, which sees its
 * 7×7 neighbourhood: translation invariance, where an MLP over the whole board won about 2% of
 * games; a 5×5 neighbourhood won about 31%, 7×7 over half), γ = 0 (Minesweeper DQN projects use
 * γ ≈ 0.1 since clicks are nearly independent; at 0 the target is the reward, so an update needs
 * no next-state pass and, with the cellwise network, runs on the taken cells' patches only: far
 * more updates per second), a low replay ratio (a batch of 256 every 32 steps, which learned
 * faster than 32 samples a step: fresh boards teach more than replayed ones) and the learning
 * rate decayed from 1e-3 to 1e-4 over the run. A small buffer keeps checkpoints small (each holds
 * the replay).
 */
const DQN_MINESWEEPER: JsonObject = {
  cellwise: { height: 9, width: 9, radius: 3 },
  hiddenSizes: [64, 64],
  gamma: 0,
  learningRate: { start: 1e-3, end: 1e-4, steps: 2_000_000 },
  batchSize: 256,
  bufferSize: 10_000,
  learningStarts: 1000,
  trainFrequency: 32,
  targetUpdateInterval: 500,
  epsilon: { start: 1, end: 0.02, steps: 10_000 },
};

/**
 * DQN on "minesweeper" with `--network cnn`: a fully convolutional Q-network (four 3×3 ReLU
 * convolutions of 32 filters, a receptive field of 9×9 cells around each cell, then a 1×1
 * convolution to one Q-value per cell) in place of the cellwise one. It scores whole boards in
 * every update (the cellwise network scores only the taken cells' patches), so an update costs
 * far more; batches are smaller. Each replayed transition is seen under a random rotation or
 * mirror image of the board (`symmetries`), and the replay keeps 50 000 transitions: with γ = 0
 * old transitions stay valid targets. With γ = 0 a Q-value is the expected reward of a click,
 * so the default −0.3 for a safe guess (a click with no open neighbour) made a 40%-risky informed
 * click look better than a 12%-risky guess; this preset pays a safe guess what a safe informed
 * click earns (+0.3), so the greedy click is the safest one. Seed 1 won 76.8% of 1000 greedy
 * games with this preset, against 72.6% with the default rewards and 70.5% also without the
 * symmetries and with a 10 000-transition replay (bench/RESULTS.md).
 */
const DQN_MINESWEEPER_CNN: JsonObject = {
  cellwise: null,
  convolution: {
    height: 9,
    width: 9,
    layout: "channels-first",
    kernelSize: 3,
    filters: [32, 32, 32, 32],
    pool: 1,
    perCell: true,
    symmetries: true,
  },
  hiddenSizes: [],
  learningRate: { start: 1e-3, end: 1e-4, steps: 400_000 },
  batchSize: 128,
  bufferSize: 50_000,
  trainFrequency: 16,
};

/**
 * DQN on "mnist-bandit" is the neural ε-greedy bandit of Riquelme et al. (2018): γ = 0, so the
 * target is the round's reward and the network regresses each arm's expected pay from the image;
 * ε falls from 1 to 0.02 over the first 2000 rounds; every 4 rounds one batch of 32 replayed
 * rounds. The default Q-network is a small CNN (3×3 convolutions of 8 and 16 filters, each
 * followed by 2×2 max pooling, then a Dense layer of 64); `--network mlp` is the same agent with
 * a Dense layer of 128 over the raw pixels.
 */
const DQN_MNIST_BANDIT: JsonObject = {
  convolution: {
    height: 28,
    width: 28,
    layout: "channels-last",
    kernelSize: 3,
    filters: [8, 16],
    pool: 2,
    perCell: false,
  },
  hiddenSizes: [64],
  gamma: 0,
  learningRate: 1e-3,
  batchSize: 32,
  bufferSize: 20_000,
  learningStarts: 200,
  trainFrequency: 4,
  targetUpdateInterval: 500,
  epsilon: { start: 1, end: 0.02, steps: 2000 },
};

/** DQN on "pendulum" (5 discrete torques): a small MLP updated every step, Polyak-averaged target (τ = 0.01), γ = 0.98. */
const DQN_PENDULUM: JsonObject = {
  hiddenSizes: [64, 64],
  gamma: 0.98,
  learningRate: 1e-3,
  batchSize: 128,
  bufferSize: 50_000,
  learningStarts: 1000,
  trainFrequency: 1,
  targetUpdateInterval: 1,
  tau: 0.01,
  epsilon: { start: 1, end: 0.02, steps: 10_000 },
};

/**
 * DQN on "minesweeper-memory": an MLP sees only the last click and its count, so it has no memory
 * of the board; the preset trains it as the memoryless baseline (A2C with an LSTM is the agent
 * for this task).
 */
const DQN_MINESWEEPER_MEMORY: JsonObject = {
  hiddenSizes: [64, 64],
  gamma: 0.9,
  learningRate: 5e-4,
  batchSize: 64,
  bufferSize: 50_000,
  learningStarts: 1000,
  trainFrequency: 4,
  targetUpdateInterval: 500,
  epsilon: { start: 1, end: 0.05, steps: 20_000 },
};

/**
 * DRQN on "cartpole-masked" (CartPole observing only x and θ) trains in bursts like the DQN
 * preset (32 gradient steps every 256 environment steps, the target copied after each burst),
 * with 8-step returns, a small LSTM (32 units, cheap on the CPU), a short burn-in (velocities
 * need only a few steps of memory), and the learning rate decayed linearly to 0 at 100 000
 * steps: the budget it is tuned for.
 */
const DRQN_CARTPOLE_MASKED: JsonObject = {
  cellUnits: 32,
  hiddenSizes: [64],
  learningRate: { start: 1e-3, end: 0, steps: 100_000 },
  gamma: 0.99,
  nStep: 8,
  rewardScale: 0.1,
  batchSize: 32,
  sequenceLength: 16,
  burnIn: 4,
  overlap: 0,
  storedState: true,
  bufferSize: 10_000,
  learningStarts: 1000,
  trainFrequency: 256,
  gradientSteps: 32,
  targetUpdateInterval: 256,
  epsilon: { start: 1, end: 0.05, steps: 10_000 },
};

/**
 * A2C on CartPole is tuned for 100 000 environment steps (the learning rate falls linearly to 0
 * over them), with rewards scaled by 0.01 so the critic's targets stay near 1. "cartpole-masked"
 * (velocities hidden) standardises the advantages; full-observation "cartpole" learns more
 * steadily without.
 */
const A2C_CARTPOLE: JsonObject = {
  envs: 8,
  rolloutSteps: 16,
  cellUnits: 64,
  hiddenSizes: [64],
  learningRate: { start: 2e-3, end: 0, steps: 100_000 },
  gamma: 0.99,
  gaeLambda: 0.98,
  rewardScale: 0.01,
  entropyCoef: 0.001,
  valueCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantages: false,
  normalizeObservations: true,
};

/** A2C on "cartpole-masked": see {@linkcode A2C_CARTPOLE}. */
const A2C_CARTPOLE_MASKED: JsonObject = {
  ...A2C_CARTPOLE,
  learningRate: { start: 1.5e-3, end: 0, steps: 100_000 },
  normalizeAdvantages: true,
};

/**
 * A2C on "minesweeper-memory" (POPGym's MineSweeper, medium board, with the clicked cell
 * observed) runs 3 000 000 steps (the learning rate falls to 0 over them), 16 copies with short
 * 8-step rollouts (many updates), larger LSTM and ReLU layers of 128 units, unscaled rewards
 * (they are already fractions of 1) and a small entropy bonus: at 0.01 the policy stayed uniform
 * over the 36 cells.
 */
const A2C_MINESWEEPER_MEMORY: JsonObject = {
  envs: 16,
  rolloutSteps: 8,
  cellUnits: 128,
  hiddenSizes: [128],
  learningRate: { start: 3e-3, end: 0, steps: 3_000_000 },
  gamma: 0.99,
  gaeLambda: 0.95,
  rewardScale: 1,
  entropyCoef: 0.001,
  valueCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantages: true,
  normalizeObservations: false,
};

/**
 * REINFORCE on CartPole: one episode per update, rewards scaled by 0.01; the same settings learn
 * "cartpole" and "cartpole-masked".
 */
const REINFORCE_CARTPOLE: JsonObject = {
  episodesPerUpdate: 1,
  cellUnits: 64,
  hiddenSizes: [64],
  learningRate: 1e-3,
  gamma: 0.99,
  rewardScale: 0.01,
  entropyCoef: 0,
  valueCoef: 0.5,
  maxGradNorm: 1,
  normalizeAdvantages: true,
  normalizeObservations: true,
};

/**
 * PPO on "cartpole-masked" takes the RL Zoo's RecurrentPPO settings for CartPoleNoVel (8 copies ×
 * 32 steps in one minibatch of whole sequences, 20 epochs, γ = 0.98, λ = 0.8, no entropy bonus,
 * the learning rate from 1e-3 and the clip range from 0.2 both falling linearly to 0 over the
 * 100 000 steps, an LSTM of 64 units before a 64-unit ReLU layer in the actor and in the critic)
 * with rewards scaled by 0.1. `--cell gru` swaps the LSTM for a GRU, `--cell none` for nothing (an
 * MLP). With γ = 0.99 and λ = 0.95 one seed in three of each cell ended below 475. "cartpole"
 * uses the same settings.
 */
const PPO_CARTPOLE: JsonObject = {
  envs: 8,
  rolloutSteps: 32,
  minibatches: 1,
  epochs: 20,
  cellUnits: 64,
  hiddenSizes: [64],
  learningRate: { start: 1e-3, end: 0, steps: 100_000 },
  clipRange: { start: 0.2, end: 0, steps: 100_000 },
  gamma: 0.98,
  gaeLambda: 0.8,
  entropyCoef: 0,
  rewardScale: 0.1,
};

/**
 * PPO on "pendulum" with the continuous torque: the RL Zoo's Pendulum PPO (4 copies × 1024 steps,
 * 10 epochs of minibatches of 64, γ = 0.9, λ = 0.95, no entropy bonus, learning rate 1e-3) with a
 * feed-forward 64, 64 ReLU policy (it sees the angular velocity) and rewards scaled by 0.1. The
 * Zoo explores with gSDE; here the log-std is state-independent.
 */
const PPO_PENDULUM: JsonObject = {
  cell: "none",
  envs: 4,
  rolloutSteps: 1024,
  minibatches: 64,
  epochs: 10,
  hiddenSizes: [64, 64],
  learningRate: 1e-3,
  gamma: 0.9,
  gaeLambda: 0.95,
  entropyCoef: 0,
  rewardScale: 0.1,
};

/**
 * PPO on "pendulum-masked" (the angular velocity hidden, the continuous torque): 8 copies × 256
 * steps, 4 minibatches of 2 whole copies, 10 epochs, γ = 0.9, λ = 0.95, no entropy bonus, an LSTM
 * (or `--cell gru`) of 64 units before a 64-unit ReLU layer, rewards scaled by 0.1, and the
 * learning rate falling from 1e-3 to 0 over the 150 000 steps.
 */
const PPO_PENDULUM_MASKED: JsonObject = {
  envs: 8,
  rolloutSteps: 256,
  minibatches: 4,
  epochs: 10,
  cellUnits: 64,
  hiddenSizes: [64],
  learningRate: { start: 1e-3, end: 0, steps: 150_000 },
  gamma: 0.9,
  gaeLambda: 0.95,
  entropyCoef: 0,
  rewardScale: 0.1,
};

/**
 * PPO on "recommender" (20 items, topics in 4 dimensions, a history of 8): an Embedding of the
 * history's item ids (vocabulary 21 with the empty slot, vectors of 8) beside the 8 click flags,
 * then an LSTM of 64 units and a 64-unit ReLU layer; 8 copies × 64 steps, 4 minibatches of two
 * whole copies, 4 epochs, γ = 0.99 (sessions last up to 100 steps, and a click's worth is in the
 * session it prolongs), λ = 0.95, an entropy bonus of 0.01 over the 20 items, rewards scaled by
 * 0.1, no observation normalisation (ids are not features), and the learning rate falling from
 * 1e-3 to 0 over the 300 000 steps. On seeds 0, 1 and 2 its greedy mean return over 1 000 sessions
 * is 28.1, 28.5 and 26.2 clicks, where the myopic oracle gets 16.6 (bench/RESULTS.md).
 */
const PPO_RECOMMENDER: JsonObject = {
  embedding: { vocabulary: 21, size: 8, ids: 8 },
  normalizeObservations: false,
  envs: 8,
  rolloutSteps: 64,
  minibatches: 4,
  epochs: 4,
  cellUnits: 64,
  hiddenSizes: [64],
  learningRate: { start: 1e-3, end: 0, steps: 300_000 },
  gamma: 0.99,
  gaeLambda: 0.95,
  entropyCoef: 0.01,
  rewardScale: 0.1,
};

/**
 * PPO on "minesweeper-memory" (POPGym's MineSweeper, medium board, the clicked cell observed): a
 * GRU of 256 units before a 256-unit ReLU layer (the board is remembered, never seen: 36 cells
 * to keep track of), 32 copies × 32 steps in 4 minibatches of 8 whole copies, 4 epochs, γ = 0.99,
 * λ = 0.95, no entropy bonus, unscaled rewards and raw observations, the learning rate falling
 * from 1e-3 to 0 over the 4 000 000 steps (about 46 minutes on one core). Tuned on seed 1: an
 * LSTM of 128 units with 16 × 64-step rollouts ended at −0.22 (1000 episodes); a learning rate of
 * 3e-3 did worse from the start. Over 1000 greedy episodes seeds 1 and 2 return −0.083 and
 * −0.121 (−0.158 and −0.132 with the same schedule over 3 000 000 steps; bench/RESULTS.md).
 */
const PPO_MINESWEEPER_MEMORY: JsonObject = {
  cell: "gru",
  cellUnits: 256,
  hiddenSizes: [256],
  envs: 32,
  rolloutSteps: 32,
  minibatches: 4,
  epochs: 4,
  learningRate: { start: 1e-3, end: 0, steps: 4_000_000 },
  gamma: 0.99,
  gaeLambda: 0.95,
  entropyCoef: 0,
  rewardScale: 1,
  normalizeObservations: false,
};

/** Pendulum's torque as a continuous action, for the PPO presets. */
const CONTINUOUS_TORQUE: JsonObject = { continuous: true };

/** The board of the minesweeper-memory presets. */
const MEDIUM_BOARD_OBSERVED: JsonObject = { difficulty: "medium", observeAction: true };

/** The presets, keyed `"env/algo"`. */
export const TRAIN_PRESETS: Readonly<Record<string, TrainPreset>> = {
  "cartpole/dqn": { steps: 50_000, options: DQN_CARTPOLE },
  "cartpole-masked/dqn": { steps: 100_000, options: DQN_CARTPOLE },
  "cartpole-masked/drqn": { steps: 100_000, options: DRQN_CARTPOLE_MASKED },
  // A checkpoint holds the replay (66 MB here), so it is written less often.
  "minesweeper/dqn": {
    steps: 2_000_000,
    options: DQN_MINESWEEPER,
    checkpointEvery: 100_000,
    network: "cellwise",
    networks: {
      cnn: {
        options: DQN_MINESWEEPER_CNN,
        steps: 400_000,
        // A safe guess earns what a safe informed click earns (see DQN_MINESWEEPER_CNN).
        envOptions: { rewards: { guess: MINESWEEPER_REWARDS.progress } },
      },
    },
  },
  "mnist-bandit/dqn": {
    steps: 20_000,
    options: DQN_MNIST_BANDIT,
    network: "cnn",
    networks: { mlp: { options: { convolution: null, hiddenSizes: [128] } } },
  },
  "pendulum/dqn": { steps: 30_000, options: DQN_PENDULUM },
  "minesweeper-memory/dqn": {
    steps: 100_000,
    options: DQN_MINESWEEPER_MEMORY,
    envOptions: MEDIUM_BOARD_OBSERVED,
  },
  "minesweeper-memory/a2c": {
    steps: 3_000_000,
    options: A2C_MINESWEEPER_MEMORY,
    envOptions: MEDIUM_BOARD_OBSERVED,
  },
  "minesweeper-memory/ppo": {
    steps: 4_000_000,
    options: PPO_MINESWEEPER_MEMORY,
    envOptions: MEDIUM_BOARD_OBSERVED,
  },
  "cartpole/a2c": { steps: 100_000, options: A2C_CARTPOLE },
  "cartpole-masked/a2c": { steps: 100_000, options: A2C_CARTPOLE_MASKED },
  "cartpole/ppo": { steps: 100_000, options: PPO_CARTPOLE },
  "cartpole-masked/ppo": { steps: 100_000, options: PPO_CARTPOLE },
  "pendulum/ppo": { steps: 150_000, options: PPO_PENDULUM, envOptions: CONTINUOUS_TORQUE },
  "pendulum-masked/ppo": {
    steps: 150_000,
    options: PPO_PENDULUM_MASKED,
    envOptions: CONTINUOUS_TORQUE,
  },
  "recommender/ppo": { steps: 300_000, options: PPO_RECOMMENDER },
  "cartpole/reinforce": { steps: 100_000, options: REINFORCE_CARTPOLE },
  "cartpole-masked/reinforce": { steps: 100_000, options: REINFORCE_CARTPOLE },
  "cartpole/q-learning": {
    steps: 200_000,
    options: { stepSize: 0.1, gamma: 0.99, epsilon: { start: 1, end: 0.01, steps: 100_000 } },
  },
  "cartpole/sarsa": {
    steps: 400_000,
    options: { stepSize: 0.1, gamma: 0.995, epsilon: { start: 1, end: 0.01, steps: 200_000 } },
  },
  "bandit/epsilon-greedy": { steps: 100_000, options: { epsilon: 0.1 } },
  "bandit/ucb": { steps: 100_000, options: { c: 2 } },
  "bandit/thompson": { steps: 100_000, options: {} },
  "bandit/gradient-bandit": { steps: 100_000, options: { stepSize: 0.1, baseline: true } },
};

/**
 * PPO on every POPGym environment (`repeat-previous-easy`, …, the memory benchmark's games):
 * one setting for all 33, as POPGym's baselines use one. POPGym's own baseline
 * (popgym/baselines/ppo.py) trains each run for 10 million steps with RLlib's PPO over 64
 * environments, batches of 65 536 steps in minibatches of 8192, γ = 0.99 and memory models of
 * 256 units, every environment wrapped in `PreviousAction` (the last action appended to the
 * observation). This is a CPU-sized budget of the same recipe: 300 000 steps, 16 copies × 64
 * steps (1024 a rollout) in 4 minibatches for 4 epochs, a cell of 64 units before a 64-unit ReLU
 * layer, the learning rate falling from 2e-3 to 0, γ = 0.99, λ = 0.95, an entropy bonus of 0.01,
 * unscaled rewards (POPGym's returns already lie in [−1, 1]) and raw observations (one-hots and
 * bounded positions), with the previous action observed. Tuned on the easy games with a GRU at
 * 200 000 steps: a learning rate starting at 5e-4 learned nothing on count-recall-easy (−0.93),
 * 2e-3 reached −0.53 (4e-3: −0.61), and took repeat-previous-easy to 1.0.
 */
export const POPGYM_PPO_PRESET: TrainPreset = {
  steps: 300_000,
  options: {
    envs: 16,
    rolloutSteps: 64,
    minibatches: 4,
    epochs: 4,
    cellUnits: 64,
    hiddenSizes: [64],
    learningRate: { start: 2e-3, end: 0, steps: 300_000 },
    gamma: 0.99,
    gaeLambda: 0.95,
    entropyCoef: 0.01,
    rewardScale: 1,
    normalizeObservations: false,
  },
  envOptions: { observePreviousAction: true },
};

/** The steps a run trains for when no preset applies. */
export const DEFAULT_TRAIN_STEPS = 100_000;

/**
 * The preset for an environment and algorithm: its entry in {@linkcode TRAIN_PRESETS}, else
 * {@linkcode POPGYM_PPO_PRESET} for PPO on a POPGym environment, else the defaults.
 *
 * @example
 * ```ts
 * import { presetFor } from "@rnnrl/rnnrl/run";
 * if (presetFor("cartpole", "dqn").steps !== 50_000) throw new Error("the tuned budget");
 * ```
 */
export function presetFor(env: EnvName, algo: AlgoName): TrainPreset {
  const preset = TRAIN_PRESETS[`${env}/${algo}`];
  if (preset) return preset;
  if (algo === "ppo" && POPGYM_ENVS.has(env as PopgymEnvName)) return POPGYM_PPO_PRESET;
  return { steps: DEFAULT_TRAIN_STEPS, options: {} };
}

/**
 * The environment options an environment's presets are tuned for, whichever algorithm's: the
 * pair's own preset's, else those every other preset of the environment shares (minesweeper-memory's
 * medium board, say, for an algorithm without a preset there), else none.
 *
 * @example
 * ```ts
 * import { presetEnvOptions } from "@rnnrl/rnnrl/run";
 * const board = presetEnvOptions("minesweeper-memory", "ppo");
 * if (board.difficulty !== "medium") throw new Error("the presets' board");
 * ```
 */
export function presetEnvOptions(env: EnvName, algo: AlgoName): JsonObject {
  const own = TRAIN_PRESETS[`${env}/${algo}`];
  if (own) return own.envOptions ?? {};
  const fallback = presetFor(env, algo);
  if (fallback.envOptions) return fallback.envOptions;
  const others = Object.entries(TRAIN_PRESETS)
    .filter(([key]) => key.startsWith(`${env}/`))
    .map(([, preset]) => JSON.stringify(preset.envOptions ?? {}));
  if (others.length === 0 || others.some((o) => o !== others[0])) return {};
  return JSON.parse(others[0]);
}
