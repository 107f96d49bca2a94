/**
 * The on-policy loop of the actor-critic agents ({@linkcode A2C}, {@linkcode REINFORCE}), written
 * once: step N environment copies together with actions sampled from the policy, record the
 * steps in a {@linkcode RolloutBuffer}, and when the algorithm says the rollout is complete, let
 * it update from the rollout. Recurrent state is a value carried from step to step and reset by
 * masking with 1 − done; an update replays the whole rollout as one sequence from the state stored
 * at its start, with the same masks, and back-propagates through all of it.
 *
 * Environment copies: `learn(env)` uses `env` as copy 0 and builds the others with its
 * `clone()`; `learn([e0, e1, …])` or a {@linkcode VectorEnv} gives the N environments. Copy i is
 * reset with the agent's environment seed + i once, then continues its own RNG, and autoresets on
 * the step its episode ends (the observation it ended on goes to the critic where the episode was
 * truncated, for the bootstrap). The loop takes whole vector steps of N environment steps, so a
 * checkpoint never falls inside one; a rollout in progress is part of the saved state.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import { createCpuBackend } from "../backend/cpu.ts";
import { actionMaskOf, type EnvCore, type EnvSpec, specOf } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { Adam, type Optimizer, RMSprop } from "../nn/optimizers.ts";
import type { RecurrentState, Sequential } from "../nn/sequential.ts";
import { inRange, integerSeed, layerSizes, positiveInteger } from "./_options.ts";
import {
  ActorCritic,
  type ActorCriticShape,
  type ActorCriticState,
  checkEmbeddingShape,
  POLICY_CELLS,
} from "./actor_critic.ts";
import { logitPenalty, type PolicyHead } from "./policy_heads.ts";
import { type AgentPolicyState, BaseAgent, type LearnSession } from "./agent.ts";
import { EnvCursor } from "./env_cursor.ts";
import { copyEnv, givenCopies, type TrainingEnv } from "./env_input.ts";
import type { ActOptions, PolicyStep } from "./policy.ts";
import { computeAdvantages, normalizeAdvantages, RolloutBuffer } from "./rollout_buffer.ts";
import {
  checkLearningRate,
  learningRateAt,
  type LinearRamp,
  setLearningRate,
} from "./schedules.ts";
import {
  type AgentArray,
  type AgentState,
  findArray,
  modelArrays,
  type NamedArrays,
  optimizerArrays,
  restoreModel,
  restoreOptimizer,
} from "./state.ts";

/** The options every on-policy agent has: its networks, the optimizer and the loss. */
export interface OnPolicyOptions extends ActorCriticShape {
  /** The optimizer. */
  optimizer: "adam" | "rmsprop";
  /** The step size: a constant, or a linear ramp over environment steps. */
  learningRate: number | LinearRamp;
  /** The discount factor γ. */
  gamma: number;
  /** Rewards are multiplied by this for learning (keeps the critic's targets near 1). */
  rewardScale: number;
  /** The weight β of the entropy bonus. */
  entropyCoef: number;
  /** The weight of the critic's squared error in the total loss. */
  valueCoef: number;
  /** Clip the global L2 norm of each network's gradients (the actor's, the critic's) to this. */
  maxGradNorm: number;
  /** Scale each rollout's advantages to mean 0 and standard deviation 1. */
  normalizeAdvantages: boolean;
  /** Report through `onUpdate` every this many updates. */
  logInterval: number;
  /** Seeds the networks, the action sampling and the environments' first resets. */
  seed: number;
}

/**
 * The defaults the on-policy agents share: Adam, standardised observations and advantages, an
 * LSTM of 64 units followed by a 64-unit ReLU layer in each network, a small entropy bonus.
 */
export const ON_POLICY_DEFAULTS: Readonly<OnPolicyOptions> = Object.freeze({
  cell: "lstm",
  cellUnits: 64,
  hiddenSizes: [64],
  normalizeObservations: true,
  sharedNetwork: false,
  logStdInit: 0,
  embedding: null,
  optimizer: "adam",
  learningRate: 1e-3,
  gamma: 0.99,
  rewardScale: 1,
  entropyCoef: 0.001,
  valueCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantages: true,
  logInterval: 100,
  seed: 0,
});

/**
 * Checks (and normalises in place) the options every on-policy agent has.
 *
 * @throws {RangeError | TypeError} For a value out of range or of the wrong type.
 */
export function checkOnPolicyOptions(o: OnPolicyOptions): void {
  if (!POLICY_CELLS.includes(o.cell)) {
    throw new RangeError(`Cannot use cell ${o.cell}: expected one of ${POLICY_CELLS.join(", ")}`);
  }
  o.cellUnits = positiveInteger(o.cellUnits, "cellUnits");
  o.hiddenSizes = layerSizes(o.hiddenSizes, "hiddenSizes");
  o.sharedNetwork = Boolean(o.sharedNetwork);
  o.embedding = checkEmbeddingShape(o.embedding);
  if (o.embedding && o.normalizeObservations) {
    throw new RangeError(
      "Cannot use normalizeObservations with embedding: ids are not features to standardise " +
        "(set normalizeObservations to false)",
    );
  }
  if (!Number.isFinite(o.logStdInit)) {
    throw new RangeError(`Cannot use logStdInit ${o.logStdInit}: expected a finite number`);
  }
  if (o.sharedNetwork && o.cell === "none" && o.hiddenSizes.length === 0) {
    throw new RangeError(
      "Cannot use sharedNetwork without a trunk: give the shared network a cell or hidden layers",
    );
  }
  if (o.optimizer !== "adam" && o.optimizer !== "rmsprop") {
    throw new RangeError(`Cannot use optimizer ${o.optimizer}: expected "adam" or "rmsprop"`);
  }
  o.learningRate = checkLearningRate(o.learningRate);
  inRange(o.gamma, 0, 1, "gamma");
  inRange(o.rewardScale, Number.MIN_VALUE, Infinity, "rewardScale");
  inRange(o.entropyCoef, 0, Infinity, "entropyCoef");
  inRange(o.valueCoef, 0, Infinity, "valueCoef");
  inRange(o.maxGradNorm, Number.MIN_VALUE, Infinity, "maxGradNorm");
  o.normalizeAdvantages = Boolean(o.normalizeAdvantages);
  o.normalizeObservations = Boolean(o.normalizeObservations);
  positiveInteger(o.logInterval, "logInterval");
  integerSeed(o.seed);
}

/** The statistics of one update, when they were read. */
export interface OnPolicyStats {
  /** The total loss. */
  loss: number;
  /** Anything else the algorithm measures (entropy, valueLoss, …). */
  [statistic: string]: number;
}

/** One optimizer per network, at the schedule's first learning rate. */
export function createOptimizers(count: number, options: OnPolicyOptions): Optimizer[] {
  return Array.from({ length: count }, (): Optimizer => {
    const learningRate = learningRateAt(options.learningRate, 0);
    return options.optimizer === "adam"
      ? new Adam({ learningRate })
      : new RMSprop({ learningRate, rho: 0.99, epsilon: 1e-5 });
  });
}

/**
 * The networks' parameters, the policy head's and their optimizers' moments, as the on-policy
 * loops save them (arrays in that order; json: each optimizer's step count).
 */
export async function saveNetworks(
  backend: Backend,
  networks: ActorCritic,
  optimizers: readonly Optimizer[],
): Promise<NamedArrays<JsonObject>> {
  const arrays: AgentArray[] = [];
  for (const [k, model] of networks.models.entries()) {
    arrays.push(...await modelArrays(`${NETWORK_NAMES[k]}.`, model));
  }
  for (const p of networks.head.parameters) {
    arrays.push({
      name: `head.${p.name}`,
      shape: [...p.value.shape],
      data: await backend.read(p.value),
    });
  }
  const saved = await Promise.all(
    networks.trainables.map((t, k) =>
      optimizerArrays(`${NETWORK_NAMES[k]}Optimizer.`, optimizers[k], t)
    ),
  );
  arrays.push(...saved.flatMap((o) => o.arrays));
  const json: JsonObject = {};
  saved.forEach((o, k) => json[`${NETWORK_NAMES[k]}OptimizerStep`] = o.json);
  return { json, arrays };
}

/** Restores what {@linkcode saveNetworks} saved. */
export function restoreNetworks(
  state: AgentState,
  networks: ActorCritic,
  optimizers: readonly Optimizer[],
): void {
  networks.models.forEach((model, k) => restoreModel(state, `${NETWORK_NAMES[k]}.`, model));
  const head = networks.head;
  head.restore(
    head.parameters.map((p) => findArray(state, `head.${p.name}`, Float32Array, p.value.size)),
  );
  networks.trainables.forEach((t, k) => {
    const name = NETWORK_NAMES[k];
    restoreOptimizer(
      state,
      `${name}Optimizer.`,
      optimizers[k],
      t,
      state.json[`${name}OptimizerStep`] as number,
    );
  });
}

/**
 * Rows of a rollout laid out as a `[T, n]` sequence batch for a replay: whole columns
 * (environment copies, each from its start state: recurrent minibatches by environment, as
 * sb3-contrib and CleanRL's `ppo_atari_lstm` make them), or single steps (`T = 1`, for
 * feed-forward policies, which carry no state). Owns the tensors it makes.
 */
export class RolloutSlice {
  /** `[T, n, I]`. */
  readonly observations: Tensor;
  /** `[T, n]`: 0 where the recurrent state resets. */
  readonly episodeStarts: Tensor;
  /** `[T·n]` the actions taken. */
  readonly actions: Tensor;
  /** `[T·n, A]` the logit penalty of a masked game, or null. */
  readonly actionMasks: Float32Array | null;
  /** Per network, `[n, S]` start states. */
  readonly startStates: Float32Array[];
  /** The rollout index (t·N + i) of each row, time-major. */
  readonly index: Int32Array;
  readonly #backend: Backend;
  readonly #made: Tensor[] = [];

  /**
   * The slice of `rollout` at `index` (rollout positions, time-major `[T, n]`), with `starts` as
   * its start states.
   */
  constructor(
    backend: Backend,
    rollout: RolloutBuffer,
    shape: { steps: number; width: number },
    index: Int32Array,
    starts: Float32Array[],
    resets: boolean,
  ) {
    this.#backend = backend;
    this.index = index;
    const I = rollout.observationSize, rows = index.length;
    const observations = new Float32Array(rows * I), startsMask = new Float32Array(rows);
    index.forEach((k, r) => {
      observations.set(rollout.observations.subarray(k * I, (k + 1) * I), r * I);
      startsMask[r] = resets ? rollout.episodeStarts[k] : 1;
    });
    this.observations = this.#make(observations, [shape.steps, shape.width, I]);
    this.episodeStarts = this.#make(startsMask, [shape.steps, shape.width]);
    this.actions = this.tensor(rollout.actions);
    this.startStates = starts;
    const masks = rollout.actionMasks;
    if (masks) {
      const A = masks.length / (rollout.capacity * rollout.envs);
      const gathered = new Uint8Array(rows * A);
      index.forEach((k, r) => gathered.set(masks.subarray(k * A, (k + 1) * A), r * A));
      this.actionMasks = logitPenalty(gathered, rows, A);
    } else this.actionMasks = null;
  }

  /** Whole columns (copies) `columns` over the first `steps` steps. */
  static columns(
    backend: Backend,
    rollout: RolloutBuffer,
    columns: number[],
    steps: number,
  ): RolloutSlice {
    const N = rollout.envs, n = columns.length;
    const index = new Int32Array(steps * n);
    for (let t = 0; t < steps; t++) columns.forEach((i, j) => index[t * n + j] = t * N + i);
    const starts = rollout.startStates.map((state) => {
      const S = state.length / N, out = new Float32Array(n * S);
      columns.forEach((i, j) => out.set(state.subarray(i * S, (i + 1) * S), j * S));
      return out;
    });
    return new RolloutSlice(backend, rollout, { steps, width: n }, index, starts, true);
  }

  /** Single steps at rollout positions `rows` (for networks that carry no state). */
  static steps(
    backend: Backend,
    rollout: RolloutBuffer,
    rows: Int32Array,
    networks: number,
  ): RolloutSlice {
    const starts = Array.from({ length: networks }, () => new Float32Array(0));
    return new RolloutSlice(
      backend,
      rollout,
      { steps: 1, width: rows.length },
      rows,
      starts,
      false,
    );
  }

  /** The rows of a rollout-shaped `[T, N]` array, as a `[rows]` tensor the slice owns. */
  tensor(values: ArrayLike<number>): Tensor {
    return this.#make(this.gather(values), [this.index.length]);
  }

  /** Values already in the slice's row order (one per row), as a `[rows]` tensor it owns. */
  rowTensor(rowValues: Float32Array): Tensor {
    if (rowValues.length !== this.index.length) {
      throw new Error(`Expected ${this.index.length} row values, got ${rowValues.length}`);
    }
    return this.#make(rowValues, [this.index.length]);
  }

  /** The rows of a rollout-shaped `[T, N]` array, on the host. */
  gather(values: ArrayLike<number>): Float32Array {
    const out = new Float32Array(this.index.length);
    this.index.forEach((k, r) => out[r] = values[k]);
    return out;
  }

  /** Releases the slice's tensors. */
  dispose(): void {
    for (const t of this.#made) this.#backend.dispose(t);
    this.#made.length = 0;
  }

  #make(data: Float32Array, shape: number[]): Tensor {
    const t = this.#backend.tensor(data, shape);
    this.#made.push(t);
    return t;
  }
}

/**
 * The on-policy chassis: the actor and critic (or one shared network) with their optimizers, the
 * environment copies and the rollout; and the loop, {@linkcode OnPolicyAgent.collect}. A subclass
 * says when a rollout is complete and how to learn from it.
 */
export abstract class OnPolicyAgent<Options extends OnPolicyOptions> extends BaseAgent<Options> {
  /** The policy carries the networks' recurrent state (none with `cell: "none"`). */
  readonly recurrent: boolean;
  /** The backend holding the networks. */
  readonly backend: Backend;
  /** The policy network (with a shared network: the one giving policy outputs and the value). */
  readonly actor: Sequential;
  /** The value network, or null with a shared network. */
  readonly critic: Sequential | null;
  /** The networks with their observation normalisation and the action distribution. */
  protected readonly networks: ActorCritic;
  /** The number of environment copies N. */
  protected readonly envCount: number;
  /** The rollout in progress. */
  protected readonly rollout: RolloutBuffer;
  /** One optimizer per network, in the order of the networks' trainables. */
  protected readonly optimizers: Optimizer[];
  /** Episodes that ended in the rollout in progress. */
  protected rolloutEpisodes = 0;
  /** `[N]`: 0 where the observation each copy acts on next starts an episode. */
  protected readonly episodeStarts: Float32Array;
  /** Draws of the updates (the order of minibatches). */
  protected readonly updateRng: Rng;
  readonly #rng: Rng; // action sampling while learning
  readonly #actRng: Rng; // sampled acting outside training
  readonly #cursors: EnvCursor[];
  #envs: EnvCore<unknown>[] | null = null;
  readonly #observations: Float32Array; // [N, I]: the observation each copy acts on next
  readonly #finalObservations: Float32Array; // [N, I] of this vector step's truncated episodes
  #state: ActorCriticState; // after the last acting step

  /** Derives the seeds and builds the networks, optimizers and rollout for `envs` copies. */
  protected constructor(
    kind: string,
    name: string,
    env: EnvSpec | EnvCore<unknown>,
    options: Options,
    envs: number,
    backend?: Backend,
  ) {
    const spec = specOf(env);
    super(kind, name, {
      observationSize: positiveInteger(spec.observationSize, "observationSize"),
      actionCount: positiveInteger(spec.actionCount, "actionCount"),
      ...(spec.actionBounds ? { actionBounds: [spec.actionBounds[0], spec.actionBounds[1]] } : {}),
    } as EnvSpec, options);
    this.backend = backend ?? createCpuBackend();
    this.recurrent = options.cell !== "none";
    const root = new Rng(options.seed);
    const actorSeed = root.nextUint32(), criticSeed = root.nextUint32();
    const envSeed = root.nextUint32();
    this.#rng = root.fork();
    this.#actRng = new Rng((envSeed ^ 0x3c6ef372) >>> 0);
    this.updateRng = new Rng((envSeed ^ 0x5be0cd19) >>> 0);
    this.networks = new ActorCritic(this.backend, this.spec, options, {
      actor: actorSeed,
      critic: criticSeed,
    });
    this.actor = this.networks.actor;
    this.critic = this.networks.critic;
    this.optimizers = createOptimizers(this.networks.models.length, options);
    const N = this.envCount = envs, I = this.spec.observationSize;
    this.rollout = new RolloutBuffer({ envs: N, observationSize: I });
    this.#cursors = Array.from({ length: N }, (_, i) => new EnvCursor({ seed: envSeed + i }));
    this.#observations = new Float32Array(N * I);
    this.#finalObservations = new Float32Array(N * I);
    this.episodeStarts = new Float32Array(N);
    this.#state = this.networks.initialState(N);
  }

  /** A zero recurrent state for one episode of acting. */
  initialState(): RecurrentState {
    return this.actor.initialState(1);
  }

  /** Releases a state. */
  disposeState(state: AgentPolicyState): void {
    if (state) this.actor.disposeState(state);
  }

  /**
   * The network whose output is the policy's, for ONNX export: the actor (with a shared network,
   * the policy's outputs come first and the value last).
   */
  override policyNetwork(): Sequential {
    return this.actor;
  }

  /**
   * The action distribution the policy network's outputs parameterise: a softmax over its
   * leading `outputSize` columns, or a Gaussian with that mean (its bounds and log-std).
   */
  get policyHead(): PolicyHead {
    return this.networks.head;
  }

  /**
   * The greedy action (the largest logit among the valid actions, lowest index on ties; a
   * Gaussian's mean, clipped to the bounds), or with `deterministic: false` one sampled from the
   * policy; the state is consumed and the next one returned.
   */
  async act(
    observation: Float32Array,
    state: AgentPolicyState,
    options: ActOptions = {},
  ): Promise<PolicyStep<RecurrentState>> {
    this.checkObservation(observation);
    const x = this.backend.tensor(observation, [1, 1, this.spec.observationSize]);
    const { outputs, state: next } = await this.networks.act(x, state);
    this.backend.dispose(x);
    this.disposeState(state);
    const head = this.networks.head;
    const action = options.deterministic === false
      ? head.sampleOne(outputs, options.rng ?? this.#actRng, options.mask)
      : head.greedy(outputs, options.mask);
    return { action, state: next };
  }

  /** True when the rollout in progress is complete and the agent should learn from it. */
  protected abstract rolloutComplete(): boolean;

  /** One update from the complete rollout; the statistics when `read` is true. */
  protected abstract update(read: boolean): Promise<OnPolicyStats | null>;

  /** The loop (see the module documentation). */
  protected async collect(input: TrainingEnv, until: number, session: LearnSession): Promise<void> {
    const envs = this.#begin(input);
    while (this.stepCount < until && !session.stopped) {
      await this.#vectorStep(envs, session);
      if (this.rolloutComplete()) {
        const read = session.wantsStats(this.updateCount + 1, this.options.logInterval);
        const stats = await this.update(read);
        this.updateCount++;
        this.networks.observe(
          this.rollout.observations.subarray(0, this.rolloutRows * this.spec.observationSize),
        );
        this.rollout.clear();
        if (read && stats) {
          await session.update({ step: this.stepCount, updates: this.updateCount, ...stats });
        }
      }
      await session.afterSteps();
    }
  }

  /** The steps of the rollout in progress, over all copies (T·N). */
  protected get rolloutRows(): number {
    return this.rollout.steps * this.envCount;
  }

  /**
   * The advantage actor-critic update, shared by A2C and REINFORCE: GAE(λ) advantages and
   * returns, then the networks replay the rollout as one `[T, N]` sequence from their states at
   * its start, with its reset masks; the loss is `mean(−Â·log π(a|s) − β·H(π)) +
   * c_v·mean((V(s) − R)²)`; each network's gradients are clipped by their global norm and each
   * network takes an optimizer step.
   */
  protected async actorCriticUpdate(lambda: number, read: boolean): Promise<OnPolicyStats | null> {
    const o = this.options;
    const { advantages, returns } = await this.advantages(lambda);
    const weights = o.normalizeAdvantages ? normalizeAdvantages(advantages) : advantages;
    this.setLearningRate();
    const columns = Array.from({ length: this.envCount }, (_, i) => i);
    const slice = RolloutSlice.columns(this.backend, this.rollout, columns, this.rollout.steps);
    const stats = await this.replayLoss(slice, slice.tensor(weights), slice.tensor(returns), read);
    slice.dispose();
    await this.stepOptimizers();
    return stats;
  }

  /** Sets every optimizer's step size from the schedule at the current step. */
  protected setLearningRate(): void {
    const rate = learningRateAt(this.options.learningRate, this.stepCount);
    for (const optimizer of this.optimizers) setLearningRate(optimizer, rate);
  }

  /**
   * Clips each network's gradients by their global norm and takes each optimizer's step (the
   * normalization layers are never moved), then refreshes what the policy head reads on the host.
   */
  protected async stepOptimizers(): Promise<void> {
    const backend = this.backend, o = this.options;
    this.networks.freezeNormalization();
    const trainables = this.networks.trainables;
    for (const t of trainables) {
      const grads = t.parameters.flatMap((p) => p.grad ? [p.grad] : []);
      backend.dispose(backend.clipByGlobalNorm(grads, o.maxGradNorm));
    }
    trainables.forEach((t, k) => this.optimizers[k].step(t));
    await this.networks.head.refresh();
  }

  /**
   * The policy-gradient replay of a slice of the rollout: the policy loss is the head's with
   * `weights` (`[rows]`, or a function of the replayed logits giving them: PPO's), the value loss
   * `valueCoef·mean((V − R)²)` with the `returns`; `value` may replace the value loss (PPO's
   * clipping). Gradients are left on the parameters; the statistics when `read`. `weights` and
   * `returns` stay the caller's.
   */
  protected async replayLoss(
    slice: RolloutSlice,
    weights: Tensor | ((logits: Tensor) => Tensor),
    returns: Tensor,
    read: boolean,
    value?: (values: Tensor) => { loss: Tensor; grad: Tensor },
  ): Promise<OnPolicyStats | null> {
    const o = this.options, backend = this.backend, head = this.networks.head;
    let policyLoss: Tensor | null = null, valueLoss: Tensor | null = null;
    let entropy: (() => Promise<number>) | null = null;
    let logits: Tensor | null = null;
    this.networks.replay(slice.observations, slice.episodeStarts, slice.startStates, {
      policy: (outputs) => {
        logits = outputs;
        if (slice.actionMasks) {
          const penalty = backend.tensor(slice.actionMasks, outputs.shape);
          logits = backend.add(outputs, penalty);
          backend.dispose(penalty);
        } else logits = backend.reshape(outputs, outputs.shape);
        const w = typeof weights === "function" ? weights(logits) : weights;
        const result = head.loss(logits, slice.actions, w, o.entropyCoef);
        if (w !== weights) backend.dispose(w);
        policyLoss = result.loss;
        entropy = result.entropy;
        return result.grad;
      },
      value: (values) => {
        const result = value ? value(values) : backend.mseLoss(values, returns);
        valueLoss = result.loss;
        const d = backend.scale(result.grad, o.valueCoef);
        backend.dispose(result.grad);
        return d;
      },
    });
    let stats: OnPolicyStats | null = null;
    if (read) {
      const policy = (await backend.read(policyLoss!))[0];
      const valueMean = (await backend.read(valueLoss!))[0];
      stats = {
        loss: policy + o.valueCoef * valueMean,
        entropy: await entropy!(),
        valueLoss: valueMean,
      };
    }
    for (const t of [policyLoss, valueLoss, logits]) if (t) backend.dispose(t);
    return stats;
  }

  /**
   * The GAE(λ) advantages and returns of the complete rollout, bootstrapped from the critic's
   * value of each copy's next observation (and of the final observation where an episode was
   * truncated); rewards are scaled by `rewardScale`.
   */
  protected async advantages(
    lambda: number,
  ): Promise<{ advantages: Float32Array; returns: Float32Array }> {
    const rollout = this.rollout, rows = this.rolloutRows;
    const lastValues = await this.#values(this.#observations, this.episodeStarts);
    const scale = this.options.rewardScale;
    return computeAdvantages({
      steps: rollout.steps,
      envs: this.envCount,
      rewards: rollout.rewards.subarray(0, rows).map((r) => r * scale),
      values: rollout.values,
      terminated: rollout.terminated,
      truncated: rollout.truncated,
      finalValues: rollout.finalValues,
      lastValues,
    }, { gamma: this.options.gamma, lambda });
  }

  /**
   * The environment copies to step: the first call resets them (copy i with the environment seed
   * + i); a restored agent puts each back where it was saved; a copy that cannot be put back
   * starts a fresh episode, and the unfinished rollout is dropped.
   */
  #begin(input: TrainingEnv): EnvCore<unknown>[] {
    const N = this.envCount, I = this.spec.observationSize;
    const given = givenCopies(input);
    if (given && given.length !== N) {
      throw new RangeError(
        `Cannot learn on ${given.length} environments: the agent steps ${N} copies`,
      );
    }
    const previous = this.#envs;
    if (previous && (given ? given.every((e, i) => e === previous[i]) : input === previous[0])) {
      return previous;
    }
    const envs = given ?? [input as EnvCore<unknown>];
    while (envs.length < N) envs.push(copyEnv(envs[0]));
    envs.forEach((e) => this.checkEnv(e));
    let fresh = false;
    envs.forEach((env, i) => {
      const start = this.#cursors[i].begin(env);
      this.#observations.set(start.observation, i * I);
      if (start.fresh) {
        this.episodeStarts[i] = 0;
        fresh = true;
      }
    });
    if (fresh) {
      this.rollout.clear();
      this.rolloutEpisodes = 0;
    }
    this.#envs = envs;
    return envs;
  }

  /**
   * One step of every copy: one forward pass of the networks over the N current observations
   * (masked where an episode starts), actions sampled from the policy (among the valid ones),
   * each copy stepped (and reset where its episode ended), then the critic's values of the final
   * observations of truncated episodes.
   */
  async #vectorStep(envs: EnvCore<unknown>[], session: LearnSession): Promise<void> {
    const N = this.envCount, I = this.spec.observationSize, A = this.spec.actionCount;
    const rollout = this.rollout, t = rollout.steps, backend = this.backend;
    const head = this.networks.head;
    if (t === 0) {
      rollout.startStates = await this.networks.readState(this.#state);
      this.rolloutEpisodes = 0;
    }
    rollout.reserve(t + 1);
    rollout.observations.set(this.#observations, t * N * I);
    rollout.episodeStarts.set(this.episodeStarts, t * N);
    const masks = envs.map((env) => actionMaskOf(env));
    if (masks.some((m) => m !== undefined)) {
      rollout.useActionMasks(A);
      masks.forEach((m, i) => {
        if (m) rollout.actionMasks!.set(m, (t * N + i) * A);
        else rollout.actionMasks!.fill(1, (t * N + i) * A, (t * N + i + 1) * A);
      });
    }
    const x = backend.tensor(this.#observations, [1, N, I]);
    const reset = backend.tensor(this.episodeStarts, [1, N]);
    const step = await this.networks.step(x, this.#state, reset);
    this.#state = step.state;
    backend.dispose(x);
    backend.dispose(reset);
    rollout.values.set(step.values, t * N);
    const sampled = head.sample(step.outputs, this.#rng, masks);
    rollout.actions.set(sampled.actions, t * N);
    rollout.logProbs.set(sampled.logProbs, t * N);

    let bootstrap = false;
    for (let i = 0; i < N; i++) {
      const k = t * N + i, cursor = this.#cursors[i];
      const { result, ended } = cursor.step(head.envAction(rollout.actions[k]));
      rollout.rewards[k] = result.reward;
      rollout.terminated[k] = result.terminated ? 1 : 0;
      rollout.truncated[k] = result.truncated ? 1 : 0;
      rollout.finalValues[k] = 0;
      this.stepCount++;
      if (ended) {
        this.episodeCount++;
        this.rolloutEpisodes++;
        await session.episode({ step: this.stepCount, episode: this.episodeCount, ...ended });
        this.#finalObservations.set(result.observation, i * I);
        this.#observations.set(cursor.next(), i * I);
        this.episodeStarts[i] = 0;
        if (result.truncated && !result.terminated) bootstrap = true;
      } else {
        this.#observations.set(result.observation, i * I);
        this.episodeStarts[i] = 1;
      }
    }
    if (bootstrap) {
      // The critic's state after this step's forward pass has seen s_t; one more step values s_{t+1}.
      const values = await this.#values(this.#finalObservations, null);
      for (let i = 0; i < N; i++) {
        const k = t * N + i;
        if (rollout.truncated[k] && !rollout.terminated[k]) rollout.finalValues[k] = values[i];
      }
    }
    rollout.steps = t + 1;
  }

  /** V of N observations `[N, I]` from the critic's current state (masked, or not). */
  async #values(observations: Float32Array, masks: Float32Array | null): Promise<Float32Array> {
    const N = this.envCount, I = this.spec.observationSize, backend = this.backend;
    const x = backend.tensor(observations, [1, N, I]);
    const mask = masks ? backend.tensor(masks, [1, N]) : undefined;
    const values = await this.networks.values(x, this.#state, mask);
    backend.dispose(x);
    if (mask) backend.dispose(mask);
    return values;
  }

  /** The networks, optimizers, RNGs, each copy's place, the current states and the rollout. */
  protected async saveState(): Promise<NamedArrays<JsonObject>> {
    const N = this.envCount, I = this.spec.observationSize;
    const saved = await saveNetworks(this.backend, this.networks, this.optimizers);
    const cursors = this.#cursors.map((c, i) => c.getState(`env${i}.`));
    const states = await this.networks.readState(this.#state);
    const models = this.networks.models;
    const arrays: AgentArray[] = [...saved.arrays];
    arrays.push(
      ...cursors.flatMap((c) => c.arrays),
      { name: "observations", shape: [N, I], data: this.#observations.slice() },
      { name: "episodeStarts", shape: [N], data: this.episodeStarts.slice() },
      ...states.map((data, k) => ({
        name: `${NETWORK_NAMES[k]}State`,
        shape: [N, models[k].stateSize],
        data,
      })),
      ...this.rollout.toArrays("rollout."),
    );
    const json: JsonObject = {
      ...saved.json,
      rng: this.#rng.getState() as unknown as JsonObject,
      updateRng: this.updateRng.getState() as unknown as JsonObject,
      envs: cursors.map((c) => c.json),
      rolloutSteps: this.rollout.steps,
      rolloutEpisodes: this.rolloutEpisodes,
      observationStats: this.networks.observationStats?.toJson() ?? null,
    };
    return { json, arrays };
  }

  /** Restores what {@linkcode OnPolicyAgent.saveState} saved. */
  protected restoreState(state: AgentState): void {
    const j = state.json, N = this.envCount, I = this.spec.observationSize;
    const envs = j.envs as JsonObject[];
    const rows = j.rolloutSteps as number;
    if (!Array.isArray(envs) || envs.length !== N || !(Number.isInteger(rows) && rows >= 0)) {
      throw new TypeError(`Cannot restore the agent: its ${N} environment copies are malformed`);
    }
    restoreNetworks(state, this.networks, this.optimizers);
    const models = this.networks.models;
    this.#rng.setState(j.rng as unknown as RngState);
    this.updateRng.setState(j.updateRng as unknown as RngState);
    this.#cursors.forEach((c, i) =>
      c.setState({ json: envs[i], arrays: state.arrays }, `env${i}.`)
    );
    this.networks.observationStats?.fromJson(j.observationStats);
    this.networks.writeNormalization();
    this.#observations.set(findArray(state, "observations", Float32Array, N * I));
    this.episodeStarts.set(findArray(state, "episodeStarts", Float32Array, N));
    this.networks.disposeState(this.#state);
    this.#state = this.networks.stateFromRows(
      models.map((m, k) =>
        findArray(state, `${NETWORK_NAMES[k]}State`, Float32Array, N * m.stateSize)
      ),
      N,
    );
    this.rollout.fromArrays(state, "rollout.", rows, models.length);
    this.rolloutEpisodes = j.rolloutEpisodes as number;
    this.#envs = null;
  }
}

/** The names of the networks in saved states: the actor (or shared network) and the critic. */
export const NETWORK_NAMES = ["actor", "critic"] as const;
