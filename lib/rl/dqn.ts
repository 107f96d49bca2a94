/**
 * Deep Q-learning (Mnih et al., 2015) with an MLP Q-network, or for board games a cellwise one
 * (one shared MLP scores every cell from its neighbourhood, {@linkcode Cellwise}): uniform replay,
 * a target network (hard copies every N steps, or Polyak averaging), double DQN (van Hasselt et
 * al., 2016), an optional dueling head (Wang et al., 2016), n-step returns, the Huber loss,
 * gradient clipping and a linear ε schedule (or Boltzmann exploration, `exploration: "boltzmann"`:
 * actions drawn from the softmax of Q / τ, τ a constant or a ramp). The loop is the off-policy chassis's
 * ({@linkcode OffPolicyAgent}); this file is the options, the network, what is stored, and one
 * update (`train`). The LSTM Q-network trained on sequences is {@linkcode DRQN}.
 *
 * Action masks: where the environment offers `actionMask()` (Minesweeper's unrevealed cells), the
 * agent acts only among the valid actions (ε-exploration draws uniformly among them, the greedy
 * choice is the argmax over them) and the TD target's max runs over the next state's valid
 * actions only; the replay keeps each transition's next-state mask for that.
 *
 * @example
 * ```ts
 * import { CartPole, DQN } from "@rnnrl/rnnrl";
 * const env = new CartPole();
 * const agent = new DQN(env, { hiddenSizes: [16], learningStarts: 50, bufferSize: 500, seed: 1 });
 * await agent.learn(env, { steps: 200 });
 * const { meanReturn } = await agent.evaluate(env, { episodes: 2, seed: 7 });
 * if (!(meanReturn >= 8)) throw new Error("CartPole episodes last at least 8 steps");
 * ```
 *
 * @module
 */

import { type Backend, checkPatchOptions, type Tensor } from "../backend/backend.ts";
import type { EnvSpec, StepResult } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Cellwise } from "../nn/cellwise.ts";
import { Conv2D, MaxPool2D } from "../nn/conv2d.ts";
import type { Layer } from "../nn/layer.ts";
import { Dense } from "../nn/dense.ts";
import { clipGradients } from "../nn/optimizers.ts";
import { Sequential } from "../nn/sequential.ts";
import { resolveOptions } from "./_options.ts";
import { embeddingLayers } from "./actor_critic.ts";
import { BOLTZMANN_DEFAULTS } from "./boltzmann.ts";
import type { AgentPolicyState } from "./agent.ts";
import {
  checkQLearningOptions,
  OffPolicyAgent,
  type QLearningOptions,
  type QUpdateStats,
} from "./off_policy.ts";
import type { ActOptions, PolicyStep } from "./policy.ts";
import { applyRandomSymmetries, boardSymmetries } from "./board_symmetry.ts";
import { maskedArgmax } from "./policy.ts";
import { maskedEpsilonGreedy, maskPenalty, QNetwork } from "./q_network.ts";
import { NStepAccumulator, type ReplayBatch, ReplayBuffer } from "./replay.ts";
import { learningRateAt, setLearningRate } from "./schedules.ts";
import { type AgentState, findArray, type NamedArrays } from "./state.ts";

/** Options of {@linkcode DQN}: every hyperparameter, with its default. */
export interface DqnOptions extends QLearningOptions {
  /**
   * Score every cell of a board with one shared MLP over its `(2·radius + 1)²` neighbourhood
   * ({@linkcode Cellwise}; actions must be the board's cells), or null for a plain MLP.
   */
  cellwise: { height: number; width: number; radius: number } | null;
  /**
   * A convolutional Q-network over an image observation ({@linkcode DqnConvolution}), or null.
   * With it, `hiddenSizes` are the Dense layers after the convolutions (none when `perCell`).
   */
  convolution: DqnConvolution | null;
}

/**
 * The convolutions of a DQN's Q-network: ReLU {@linkcode Conv2D} layers of `kernelSize` ("same"
 * padding), one per entry of `filters`, the first reading the observation as an image, each
 * followed by a `pool`×`pool` max pooling when `pool` > 1.
 */
export interface DqnConvolution {
  /** Rows of the observed image. */
  height: number;
  /** Columns of the observed image. */
  width: number;
  /** The observation's layout (Minesweeper's one-hot board is channels-first). */
  layout: "channels-first" | "channels-last";
  /** The kernel side (odd). */
  kernelSize: number;
  /** Filters of each convolution. */
  filters: number[];
  /** The max-pooling window after each convolution; 1 for none. */
  pool: number;
  /**
   * True for a fully convolutional network scoring every pixel, a board's cell, with a last 1×1
   * convolution (actions must be the cells; no pooling); false for Dense layers after the
   * convolutions.
   */
  perCell: boolean;
  /**
   * Train a per-cell network on each replayed transition moved by a random symmetry of the board
   * (rotations and mirror images: eight for a square board, four otherwise), for games that play
   * the same from every side, such as Minesweeper (default false).
   */
  symmetries?: boolean;
}

/** The defaults: CleanRL's and SB3's DQN where they agree, sized for small control tasks. */
export const DQN_DEFAULTS: Readonly<DqnOptions> = Object.freeze({
  hiddenSizes: [120, 84],
  embedding: null,
  cellwise: null,
  convolution: null,
  dueling: false,
  learningRate: 2.5e-4,
  gamma: 0.99,
  nStep: 1,
  batchSize: 128,
  bufferSize: 10_000,
  learningStarts: 10_000,
  trainFrequency: 10,
  gradientSteps: 1,
  targetUpdateInterval: 500,
  tau: 1,
  doubleDqn: true,
  epsilon: { start: 1, end: 0.05, steps: 25_000 },
  ...BOLTZMANN_DEFAULTS,
  huberDelta: 1,
  maxGradNorm: 10,
  logInterval: 100,
  seed: 0,
});

/**
 * Resolves options against the defaults and checks every field.
 *
 * @throws {TypeError} For an option DQN does not have (naming the nearest one) or a wrong type.
 * @throws {RangeError} For a value out of range.
 */
export function resolveDqnOptions(options: Partial<DqnOptions> = {}): DqnOptions {
  const o = resolveOptions("DQN", DQN_DEFAULTS, options);
  checkQLearningOptions(o);
  if (o.cellwise != null) {
    checkPatchOptions(o.cellwise, "use cellwise");
    const { height, width, radius } = o.cellwise;
    o.cellwise = { height, width, radius };
    if (o.dueling) {
      throw new RangeError(
        "Cannot use dueling with cellwise: a per-cell network has no state-value head",
      );
    }
    if (o.embedding) {
      throw new RangeError("Cannot use embedding with cellwise: a board's cells are not ids");
    }
  } else o.cellwise = null;
  if (o.convolution != null) {
    o.convolution = checkConvolution(o.convolution);
    for (
      const [other, set] of [["cellwise", o.cellwise], ["dueling", o.dueling], [
        "embedding",
        o.embedding,
      ]]
    ) {
      if (set) {
        throw new RangeError(`Cannot use ${other} with convolution: choose one Q-network`);
      }
    }
  } else o.convolution = null;
  return o;
}

/** Checks a {@linkcode DqnConvolution} and returns it with its fields alone. */
function checkConvolution(c: DqnConvolution): DqnConvolution {
  const what = "use convolution";
  const { height, width, kernelSize, filters, pool, perCell, layout } = c;
  const symmetries = c.symmetries ?? false;
  for (
    const [name, value] of [["height", height], ["width", width], ["kernelSize", kernelSize], [
      "pool",
      pool,
    ]] as const
  ) {
    if (!(Number.isSafeInteger(value) && value >= 1)) {
      throw new RangeError(`Cannot ${what}: ${name} is ${value}, expected an integer >= 1`);
    }
  }
  if (kernelSize % 2 === 0) {
    throw new RangeError(
      `Cannot ${what}: kernelSize must be odd ("same" padding), got ${kernelSize}`,
    );
  }
  if (
    !Array.isArray(filters) || filters.length === 0 ||
    !filters.every((f) => Number.isSafeInteger(f) && f >= 1)
  ) {
    throw new RangeError(
      `Cannot ${what}: filters must be positive integers, got ${JSON.stringify(filters)}`,
    );
  }
  if (layout !== "channels-first" && layout !== "channels-last") {
    throw new RangeError(
      `Cannot ${what}: layout must be "channels-first" or "channels-last", got ${layout}`,
    );
  }
  if (typeof perCell !== "boolean") {
    throw new RangeError(`Cannot ${what}: perCell must be true or false, got ${perCell}`);
  }
  if (perCell && pool !== 1) {
    throw new RangeError(
      `Cannot ${what}: a per-cell network keeps the board's size (pool must be 1)`,
    );
  }
  if (typeof symmetries !== "boolean") {
    throw new RangeError(`Cannot ${what}: symmetries must be true or false, got ${symmetries}`);
  }
  if (symmetries && !perCell) {
    throw new RangeError(
      `Cannot ${what}: symmetries move a board's cells, so they need a per-cell network (perCell)`,
    );
  }
  return { height, width, layout, kernelSize, filters: [...filters], pool, perCell, symmetries };
}

/**
 * A convolutional Q-network: the convolutions (and poolings), then either a 1×1 convolution to
 * one value per cell, whose channels-last output is the cells in row-major order (`perCell`),
 * or the hidden Dense layers and one output per action. ReLU convolutions of the given filters (the first
 * reading the channels-first observation), then a 1×1 convolution to one value per cell, whose
 * channels-last output is the cells in row-major order: the actions.
 */
function convolutionalQLayers(
  c: DqnConvolution,
  hiddenSizes: readonly number[],
  actions: number,
): Layer[] {
  const layers: Layer[] = [];
  c.filters.forEach((filters, i) => {
    const first = i === 0 ? { height: c.height, width: c.width, inputLayout: c.layout } : {};
    layers.push(new Conv2D({ filters, kernelSize: c.kernelSize, activation: "relu", ...first }));
    if (c.pool > 1) layers.push(new MaxPool2D({ size: c.pool }));
  });
  if (c.perCell) return [...layers, new Conv2D({ filters: 1, kernelSize: 1 })];
  return [
    ...layers,
    ...hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
    new Dense({ units: actions }),
  ];
}

/**
 * DQN over any environment with a flat float observation and discrete actions.
 *
 * @example
 * ```ts
 * import { DQN } from "@rnnrl/rnnrl";
 * const agent = new DQN({ observationSize: 4, actionCount: 2 }, { hiddenSizes: [32], seed: 3 });
 * const { action } = await agent.act(Float32Array.of(0, 0, 0.01, 0), undefined);
 * if (action !== 0 && action !== 1) throw new Error("one of two actions");
 * ```
 */
export class DQN extends OffPolicyAgent<DqnOptions> {
  /** The defaults, which fill in options that a state saved before they existed lacks. */
  protected override optionDefaults(): object {
    return DQN_DEFAULTS;
  }

  /** DQN's networks carry no state. */
  readonly recurrent: boolean = false;
  /** The network that is trained. */
  readonly online: QNetwork;
  /** The slowly updated copy that values the next states. */
  readonly target: QNetwork;
  /** The replay buffer. */
  readonly replay: ReplayBuffer;
  #nStep: NStepAccumulator;
  #nextMasks: Uint8Array | null = null; // [capacity, A]: the next state's mask per replay slot
  #symmetries: Int32Array[] | null = null; // the board's cell permutations, with `symmetries`

  /** Builds the networks and the replay buffer for an environment's sizes. */
  constructor(env: EnvSpec, options: Partial<DqnOptions> = {}, backend?: Backend) {
    super("dqn", "DQN", env, resolveDqnOptions(options), backend);
    const o = this.options, A = this.spec.actionCount;
    const board = o.cellwise, conv = o.convolution;
    const cells = conv?.perCell ? conv : null;
    for (const [kind, b] of [["cellwise", board], ["per-cell convolutional", cells]] as const) {
      if (b && b.height * b.width !== A) {
        throw new RangeError(
          `Cannot build a ${kind} Q-network: a ${b.height}×${b.width} board has ${
            b.height * b.width
          } cells, but the environment has ${A} actions`,
        );
      }
    }
    if (conv?.symmetries) this.#symmetries = boardSymmetries(conv.height, conv.width);
    const layers = (): Layer[] => {
      if (board) return [new Cellwise({ ...board, hidden: o.hiddenSizes, activation: "relu" })];
      if (conv) return convolutionalQLayers(conv, o.hiddenSizes, A);
      return [
        ...embeddingLayers(o.embedding),
        ...o.hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
        new Dense({ units: A + (o.dueling ? 1 : 0) }),
      ];
    };
    const build = () =>
      new QNetwork(
        new Sequential(this.backend, {
          inputSize: this.spec.observationSize,
          layers: layers(),
          seed: this.networkSeed,
        }),
        A,
        o.dueling,
      );
    this.online = build();
    this.target = build();
    this.target.model.copyParametersFrom(this.online.model);
    this.replay = new ReplayBuffer({
      capacity: o.bufferSize,
      observationSize: this.spec.observationSize,
    });
    this.#nStep = new NStepAccumulator({
      n: o.nStep,
      gamma: o.gamma,
      observationSize: this.spec.observationSize,
    });
  }

  /** DQN has no recurrent state. */
  initialState(): undefined {
    return undefined;
  }

  /** Nothing to release. */
  disposeState(_state: AgentPolicyState): void {}

  /**
   * The greedy action (the largest Q among the valid actions); with `deterministic: false`,
   * ε-greedy at the schedule's final ε, or with Boltzmann exploration a draw from the softmax of
   * Q / τ at the final temperature.
   */
  async act(
    observation: Float32Array,
    _state: AgentPolicyState,
    options: ActOptions = {},
  ): Promise<PolicyStep<undefined>> {
    const mask = options.mask;
    if (this.samplesBoltzmann(options)) {
      return {
        action: this.sampledBoltzmann(await this.qValues(observation), options),
        state: undefined,
      };
    }
    const explored = this.sampledExploration(options);
    if (explored !== undefined) return { action: explored, state: undefined };
    const action = mask
      ? maskedArgmax(await this.qValues(observation), mask)
      : await this.#chooseAction(observation, 0, 0);
    return { action, state: undefined };
  }

  /** The Q-values of one observation, `[A]`. */
  async qValues(observation: Float32Array): Promise<Float32Array> {
    const x = this.#input(observation);
    const { q } = this.online.forward(x);
    const values = await this.backend.read(q);
    this.backend.dispose(x);
    this.backend.dispose(q);
    return values;
  }

  /** ε-greedy (or Boltzmann) with the counter-based draws of the current step. */
  protected async explore(
    observation: Float32Array,
    epsilon: number,
    mask: Uint8Array | undefined,
  ): Promise<number> {
    if (this.options.exploration === "boltzmann") {
      return this.boltzmannExplore(await this.qValues(observation), mask);
    }
    if (!mask) return await this.#chooseAction(observation, epsilon, this.stepCount);
    return await maskedEpsilonGreedy(
      () => this.qValues(observation),
      mask,
      epsilon,
      this.explorationSeed,
      this.stepCount,
    );
  }

  /** Folds the step into n-step transitions and stores those it completes. */
  protected store(
    observation: Float32Array,
    action: number,
    result: StepResult<unknown>,
    _mask: Uint8Array | undefined,
    nextMask: Uint8Array | undefined,
  ): void {
    const completed = this.#nStep.push({
      observation,
      action,
      reward: result.reward,
      nextObservation: result.observation, // the true final observation when truncated
      terminated: result.terminated,
      truncated: result.truncated,
    });
    const A = this.spec.actionCount;
    for (const t of completed) {
      const slot = this.replay.position;
      this.replay.add(t);
      if (!nextMask && !this.#nextMasks) continue;
      this.#nextMasks ??= new Uint8Array(this.replay.capacity * A).fill(1);
      if (nextMask) this.#nextMasks.set(nextMask, slot * A);
      else this.#nextMasks.fill(1, slot * A, (slot + 1) * A);
    }
  }

  /** An abandoned episode's returns stay unfinished. */
  protected startEpisode(abandoned: boolean): void {
    if (abandoned) this.#nStep.clear();
  }

  /** True once the replay holds a transition. */
  protected canTrain(): boolean {
    return this.replay.size > 0;
  }

  /**
   * One gradient step on a uniformly sampled batch: the (double) DQN target
   * `r + γ(1 − terminated)·Q⁻(s', argmax_a Q(s', a))`, the Huber loss on Q(s, a), clipping, Adam.
   * Returns the loss and mean Q(s, a) when `read` is true (a device-to-host read). With a cellwise
   * network the training pass scores only the taken cells (their patches), the same gradient as
   * scoring whole boards at `1/(H·W)` of the cost.
   */
  protected async train(read: boolean): Promise<QUpdateStats | null> {
    const o = this.options, backend = this.backend;
    setLearningRate(this.optimizer, learningRateAt(o.learningRate, this.stepCount));
    const batch = this.replay.sample(o.batchSize, this.rng);
    const B = o.batchSize, D = this.spec.observationSize, A = this.spec.actionCount;
    const nextMasks = this.#nextMasks ? this.#batchMasks(batch) : undefined;
    if (this.#symmetries) {
      applyRandomSymmetries(batch, nextMasks, o.convolution!, this.#symmetries, this.rng);
    }
    // Targets first: an inference pass would drop the cache of a training pass.
    const targets = this.targets(batch, nextMasks);
    const temporaries: Tensor[] = [targets];
    let qTaken: Tensor, loss: Tensor;
    const cellwise = this.online.model.layers[0];
    if (cellwise instanceof Cellwise) {
      // The loss involves Q(s, a) of the taken cell only, a function of that cell's patch: the
      // shared layers run on the B taken patches instead of all B·H·W cells (the same gradient).
      const patches = backend.tensor(cellwise.patchesAt(batch.observations, batch.actions), [
        B,
        cellwise.patchSize,
      ]);
      const q = cellwise.forwardPatches(patches, { training: true });
      qTaken = backend.reshape(q, [B]);
      const huber = backend.huberLoss(qTaken, targets, o.huberDelta);
      loss = huber.loss;
      const dq = backend.reshape(huber.grad, [B, 1]);
      temporaries.push(patches, q, huber.grad, dq, cellwise.backwardPatches(dq));
    } else {
      const observations = backend.tensor(batch.observations, [B, D]);
      const actions = backend.tensor(batch.actions, [B]);
      const q = this.online.forward(observations, { training: true }).q;
      qTaken = backend.gatherRows(q, actions);
      const huber = backend.huberLoss(qTaken, targets, o.huberDelta);
      loss = huber.loss;
      const dQ = backend.scatterRows(huber.grad, actions, A);
      this.online.backward(dQ, [B, this.online.model.outputSize]);
      temporaries.push(observations, actions, q, huber.grad, dQ);
    }
    backend.dispose(clipGradients(this.online.model, o.maxGradNorm));
    this.optimizer.step(this.online.model);
    this.online.model.clearCache();

    let stats: QUpdateStats | null = null;
    if (read) {
      const values = await backend.read(qTaken);
      stats = {
        loss: (await backend.read(loss))[0],
        qMean: values.reduce((a, b) => a + b, 0) / values.length,
      };
    }
    for (const t of [...temporaries, qTaken, loss]) backend.dispose(t);
    return stats;
  }

  /**
   * The TD targets of a batch, `[B]`: `r + γᵏ·(1 − terminated)·Q⁻(s', a*)` with k the rewards
   * folded into r (n-step), a* = argmax Q(s', ·) of the online network for double DQN, else of
   * the target network; with `nextMasks` (`[B, A]`, 1 valid), a* is the argmax over the next
   * state's valid actions (a row with none valid is left unmasked). The caller disposes the tensor.
   */
  targets(batch: ReplayBatch, nextMasks?: Uint8Array): Tensor {
    const o = this.options, backend = this.backend;
    const B = batch.rewards.length, D = this.spec.observationSize, A = this.spec.actionCount;
    if (nextMasks && nextMasks.length !== B * A) {
      throw new TypeError(
        `Cannot compute targets: ${nextMasks.length} mask values for ${B} rows of ${A} actions`,
      );
    }
    const rewards = backend.tensor(batch.rewards, [B]);
    // γ = 0: nothing bootstraps, the target is the reward, and the next states need no forward pass.
    if (o.gamma === 0) return rewards;
    const nextObservations = backend.tensor(batch.nextObservations, [B, D]);
    // An n-step transition cut short by truncation after k < n rewards bootstraps by γᵏ: with
    // the target's γⁿ, that is a "terminated" weight of 1 − γ^(k−n).
    const gammaN = Math.pow(o.gamma, o.nStep);
    const weights = batch.terminated.map((done, b) =>
      done ? 1 : batch.steps[b] === o.nStep ? 0 : 1 - Math.pow(o.gamma, batch.steps[b] - o.nStep)
    );
    const terminated = backend.tensor(weights, [B]);
    const qNextTarget = this.target.forward(nextObservations).q;
    let qNextSelect = o.doubleDqn ? this.online.forward(nextObservations).q : qNextTarget;
    if (nextMasks) {
      // Only the selection is masked: Q⁻(s', a*) of a valid a* is the same either way.
      const penalty = backend.tensor(maskPenalty(nextMasks, B, A), [B, A]);
      const masked = backend.add(qNextSelect, penalty);
      if (qNextSelect !== qNextTarget) backend.dispose(qNextSelect);
      backend.dispose(penalty);
      qNextSelect = masked;
    }
    const targets = backend.dqnTarget(qNextSelect, qNextTarget, rewards, terminated, gammaN);
    for (const t of [nextObservations, rewards, terminated, qNextTarget]) backend.dispose(t);
    if (qNextSelect !== qNextTarget) backend.dispose(qNextSelect);
    return targets;
  }

  /** The networks, optimizer, replay (with its next-state masks) and pending n-step returns. */
  protected async saveState(): Promise<NamedArrays<JsonObject>> {
    const chassis = await this.saveChassis();
    const replay = this.replay.getState("replay.");
    const pending = this.#nStep.getState("nstep.");
    const masks = this.#nextMasks;
    const A = this.spec.actionCount, n = this.replay.size;
    return {
      json: { ...chassis.json, replay: replay.json, nStep: pending.json },
      arrays: [
        ...chassis.arrays,
        ...replay.arrays,
        ...(masks
          ? [{ name: "replay.nextMasks", shape: [n, A], data: masks.slice(0, n * A) }]
          : []),
        ...pending.arrays,
      ],
    };
  }

  /** Restores what {@linkcode DQN.saveState} saved. */
  protected restoreState(state: AgentState): void {
    const j = state.json;
    this.restoreChassis(state);
    this.replay.setState(state, "replay.", j.replay as { size: number; position: number });
    this.#nextMasks = null;
    if (state.arrays.some((a) => a.name === "replay.nextMasks")) {
      const A = this.spec.actionCount, n = this.replay.size;
      const saved = findArray(state, "replay.nextMasks", Uint8Array, n * A);
      this.#nextMasks = new Uint8Array(this.replay.capacity * A).fill(1);
      this.#nextMasks.set(saved);
    }
    this.#nStep.setState(state, "nstep.", j.nStep as { pending: number });
  }

  /** The ε-greedy (or greedy, at ε = 0) action of the backend's kernel, without a mask. */
  async #chooseAction(
    observation: Float32Array,
    epsilon: number,
    counter: number,
  ): Promise<number> {
    const x = this.#input(observation);
    const { q } = this.online.forward(x);
    const chosen = epsilon > 0
      ? this.backend.epsilonGreedy(q, epsilon, this.explorationSeed, counter)
      : this.backend.argmaxRows(q);
    const action = (await this.backend.read(chosen))[0];
    for (const t of [x, q, chosen]) this.backend.dispose(t);
    return action;
  }

  /** The next-state masks of a sampled batch, `[B, A]`. */
  #batchMasks(batch: ReplayBatch): Uint8Array {
    const A = this.spec.actionCount, masks = this.#nextMasks!;
    const out = new Uint8Array(batch.indices.length * A);
    batch.indices.forEach((i, b) => out.set(masks.subarray(i * A, (i + 1) * A), b * A));
    return out;
  }

  #input(observation: Float32Array): Tensor {
    this.checkObservation(observation);
    return this.backend.tensor(observation, [1, this.spec.observationSize]);
  }
}
