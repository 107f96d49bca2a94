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

import type { Backend } from "../backend/backend.ts";
import { createCpuBackend } from "../backend/cpu.ts";
import { actionMaskOf, type Env, type EnvSpec } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { Adam, type Optimizer, RMSprop } from "../nn/optimizers.ts";
import type { RecurrentState, Sequential } from "../nn/sequential.ts";
import { inRange, integerSeed, layerSizes, positiveInteger } from "./_options.ts";
import {
  ActorCritic,
  actorCriticLoss,
  type ActorCriticShape,
  meanEntropy,
  POLICY_CELLS,
} from "./actor_critic.ts";
import { type AgentPolicyState, BaseAgent, type LearnSession } from "./agent.ts";
import { EnvCursor } from "./env_cursor.ts";
import { copyEnv, givenCopies, type TrainingEnv } from "./env_input.ts";
import { type ActOptions, maskedArgmax, type PolicyStep, sampleSoftmax } from "./policy.ts";
import { computeAdvantages, normalizeAdvantages, RolloutBuffer } from "./rollout_buffer.ts";
import {
  checkLearningRate,
  learningRateAt,
  type LinearRamp,
  setLearningRate,
} from "./schedules.ts";
import {
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
  lstmUnits: 64,
  hiddenSizes: [64],
  normalizeObservations: true,
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
  o.lstmUnits = positiveInteger(o.lstmUnits, "lstmUnits");
  o.hiddenSizes = layerSizes(o.hiddenSizes, "hiddenSizes");
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

/**
 * The on-policy chassis: the actor and critic, their optimizers, the environment copies and the
 * rollout; and the loop, {@linkcode OnPolicyAgent.collect}. A subclass says when a rollout is
 * complete and how to learn from it.
 */
export abstract class OnPolicyAgent<Options extends OnPolicyOptions> extends BaseAgent<Options> {
  /** The policy carries the actor's recurrent state (none with `cell: "none"`). */
  readonly recurrent: boolean;
  /** The backend holding the networks. */
  readonly backend: Backend;
  /** The policy: observation sequence `[T, B, I]` → logits `[T, B, A]`. */
  readonly actor: Sequential;
  /** The baseline: observation sequence `[T, B, I]` → values `[T, B, 1]`. */
  readonly critic: Sequential;
  /** The networks with their observation normalisation. */
  protected readonly networks: ActorCritic;
  /** The number of environment copies N. */
  protected readonly envCount: number;
  /** The rollout in progress. */
  protected readonly rollout: RolloutBuffer;
  /** The optimizer of the actor. */
  protected readonly actorOptimizer: Optimizer;
  /** The optimizer of the critic. */
  protected readonly criticOptimizer: Optimizer;
  /** Episodes that ended in the rollout in progress. */
  protected rolloutEpisodes = 0;
  /** `[N]`: 0 where the observation each copy acts on next starts an episode. */
  protected readonly episodeStarts: Float32Array;
  readonly #rng: Rng; // action sampling while learning
  readonly #actRng: Rng; // sampled acting outside training
  readonly #cursors: EnvCursor[];
  #envs: Env<unknown>[] | null = null;
  readonly #observations: Float32Array; // [N, I]: the observation each copy acts on next
  readonly #finalObservations: Float32Array; // [N, I] of this vector step's truncated episodes
  #actorState: RecurrentState; // after the last acting step
  #criticState: RecurrentState;

  /** Derives the seeds and builds the networks, optimizers and rollout for `envs` copies. */
  protected constructor(
    kind: string,
    name: string,
    spec: EnvSpec,
    options: Options,
    envs: number,
    backend?: Backend,
  ) {
    super(kind, name, {
      observationSize: positiveInteger(spec.observationSize, "observationSize"),
      actionCount: positiveInteger(spec.actionCount, "actionCount"),
    }, options);
    this.backend = backend ?? createCpuBackend();
    this.recurrent = options.cell !== "none";
    const root = new Rng(options.seed);
    const actorSeed = root.nextUint32(), criticSeed = root.nextUint32();
    const envSeed = root.nextUint32();
    this.#rng = root.fork();
    this.#actRng = new Rng((envSeed ^ 0x3c6ef372) >>> 0);
    this.networks = new ActorCritic(this.backend, this.spec, options, {
      actor: actorSeed,
      critic: criticSeed,
    });
    this.actor = this.networks.actor;
    this.critic = this.networks.critic;
    const makeOptimizer = (): Optimizer => {
      const learningRate = learningRateAt(options.learningRate, 0);
      return options.optimizer === "adam"
        ? new Adam({ learningRate })
        : new RMSprop({ learningRate, rho: 0.99, epsilon: 1e-5 });
    };
    this.actorOptimizer = makeOptimizer();
    this.criticOptimizer = makeOptimizer();
    const N = this.envCount = envs, I = this.spec.observationSize;
    this.rollout = new RolloutBuffer({ envs: N, observationSize: I });
    this.#cursors = Array.from({ length: N }, (_, i) => new EnvCursor({ seed: envSeed + i }));
    this.#observations = new Float32Array(N * I);
    this.#finalObservations = new Float32Array(N * I);
    this.episodeStarts = new Float32Array(N);
    this.#actorState = this.actor.initialState(N);
    this.#criticState = this.critic.initialState(N);
  }

  /** A zero recurrent state for one episode of acting. */
  initialState(): RecurrentState {
    return this.actor.initialState(1);
  }

  /** Releases a state. */
  disposeState(state: AgentPolicyState): void {
    if (state) this.actor.disposeState(state);
  }

  /** The actor: its output is exactly the logits, so its argmax is the greedy action. */
  override policyNetwork(): Sequential {
    return this.actor;
  }

  /**
   * The greedy action (the largest logit among the valid actions, lowest index on ties), or with
   * `deterministic: false` one sampled from the policy; the state is consumed and the next one
   * returned.
   */
  async act(
    observation: Float32Array,
    state: AgentPolicyState,
    options: ActOptions = {},
  ): Promise<PolicyStep<RecurrentState>> {
    this.checkObservation(observation);
    const x = this.backend.tensor(observation, [1, 1, this.spec.observationSize]);
    const { output, state: next } = this.actor.forward(x, { state });
    const logits = await this.backend.read(output);
    this.backend.dispose(x);
    this.backend.dispose(output);
    this.disposeState(state);
    const action = options.deterministic === false
      ? sampleSoftmax(logits, (options.rng ?? this.#actRng).uniform(), options.mask)
      : maskedArgmax(logits, options.mask);
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
        this.rollout.clear();
        if (read && stats) {
          await session.update({ step: this.stepCount, updates: this.updateCount, ...stats });
        }
      }
      await session.afterSteps();
    }
  }

  /**
   * The advantage actor-critic update, shared by A2C and REINFORCE: GAE(λ) advantages and
   * returns, then both networks replay the rollout as one `[T, N]` sequence from their states at
   * its start, with its reset masks; the loss is `mean(−Â·log π(a|s) − β·H(π)) +
   * c_v·mean((V(s) − R)²)`; each network's gradients are clipped by their global norm and each
   * network takes an optimizer step.
   */
  protected async actorCriticUpdate(lambda: number, read: boolean): Promise<OnPolicyStats | null> {
    const o = this.options, backend = this.backend, rollout = this.rollout;
    const T = rollout.steps, N = this.envCount, I = this.spec.observationSize;
    const A = this.spec.actionCount, rows = T * N;
    const { advantages, returns } = await this.advantages(lambda);
    const weights = o.normalizeAdvantages ? normalizeAdvantages(advantages) : advantages;

    const rate = learningRateAt(o.learningRate, this.stepCount);
    setLearningRate(this.actorOptimizer, rate);
    setLearningRate(this.criticOptimizer, rate);
    const loss = actorCriticLoss(this.actor, this.critic, {
      steps: T,
      envs: N,
      observations: rollout.observations.subarray(0, rows * I),
      masks: rollout.episodeStarts.subarray(0, rows),
      actions: rollout.actions.subarray(0, rows),
      advantages: weights,
      returns,
      actorState: rollout.actorState,
      criticState: rollout.criticState,
      actionMasks: rollout.actionMasks?.subarray(0, rows * A) ?? null,
    }, o);
    this.networks.freezeNormalization();
    const gradsOf = (m: Sequential) => m.parameters.flatMap((p) => p.grad ? [p.grad] : []);
    backend.dispose(backend.clipByGlobalNorm(gradsOf(this.actor), o.maxGradNorm));
    backend.dispose(backend.clipByGlobalNorm(gradsOf(this.critic), o.maxGradNorm));
    this.actorOptimizer.step(this.actor);
    this.criticOptimizer.step(this.critic);
    this.networks.observe(rollout.observations.subarray(0, rows * I));

    let stats: OnPolicyStats | null = null;
    if (read) {
      const policyLoss = (await backend.read(loss.policyLoss))[0];
      const valueLoss = (await backend.read(loss.valueLoss))[0];
      stats = {
        loss: policyLoss + o.valueCoef * valueLoss,
        entropy: meanEntropy(await backend.read(loss.logits), A),
        valueLoss,
      };
    }
    for (const t of [loss.policyLoss, loss.valueLoss, loss.logits]) backend.dispose(t);
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
    const rollout = this.rollout, rows = rollout.steps * this.envCount;
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
  #begin(input: TrainingEnv): Env<unknown>[] {
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
    const envs = given ?? [input as Env<unknown>];
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
   * One step of every copy: one forward pass of each network over the N current observations
   * (masked where an episode starts), actions sampled from the softmax over the valid actions,
   * each copy stepped (and reset where its episode ended), then the critic's values of the final
   * observations of truncated episodes.
   */
  async #vectorStep(envs: Env<unknown>[], session: LearnSession): Promise<void> {
    const N = this.envCount, I = this.spec.observationSize, A = this.spec.actionCount;
    const rollout = this.rollout, t = rollout.steps, backend = this.backend;
    if (t === 0) {
      rollout.actorState = await this.actor.readState(this.#actorState);
      rollout.criticState = await this.critic.readState(this.#criticState);
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
    const actor = this.actor.forward(x, { state: this.#actorState, mask: reset });
    const critic = this.critic.forward(x, { state: this.#criticState, mask: reset });
    this.actor.disposeState(this.#actorState);
    this.critic.disposeState(this.#criticState);
    this.#actorState = actor.state;
    this.#criticState = critic.state;
    const logits = await backend.read(actor.output);
    rollout.values.set(await backend.read(critic.output), t * N);
    for (const tensor of [x, reset, actor.output, critic.output]) backend.dispose(tensor);
    for (let i = 0; i < N; i++) {
      const row = logits.subarray(i * A, (i + 1) * A);
      rollout.actions[t * N + i] = sampleSoftmax(row, this.#rng.uniform(), masks[i]);
    }

    let bootstrap = false;
    for (let i = 0; i < N; i++) {
      const k = t * N + i, cursor = this.#cursors[i];
      const { result, ended } = cursor.step(rollout.actions[k]);
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
    const { output, state } = this.critic.forward(x, { state: this.#criticState, mask });
    const values = await backend.read(output);
    this.critic.disposeState(state);
    for (const tensor of [x, mask, output]) if (tensor) backend.dispose(tensor);
    return values;
  }

  /** The networks, optimizers, RNG, each copy's place, the current states and the rollout. */
  protected async saveState(): Promise<NamedArrays<JsonObject>> {
    const actorOptimizer = await optimizerArrays(
      "actorOptimizer.",
      this.actorOptimizer,
      this.actor,
    );
    const criticOptimizer = await optimizerArrays(
      "criticOptimizer.",
      this.criticOptimizer,
      this.critic,
    );
    const N = this.envCount, I = this.spec.observationSize;
    const cursors = this.#cursors.map((c, i) => c.getState(`env${i}.`));
    return {
      json: {
        actorOptimizerStep: actorOptimizer.json,
        criticOptimizerStep: criticOptimizer.json,
        rng: this.#rng.getState() as unknown as JsonObject,
        envs: cursors.map((c) => c.json),
        rolloutSteps: this.rollout.steps,
        rolloutEpisodes: this.rolloutEpisodes,
        observationStats: this.networks.observationStats?.toJson() ?? null,
      },
      arrays: [
        ...await modelArrays("actor.", this.actor),
        ...await modelArrays("critic.", this.critic),
        ...actorOptimizer.arrays,
        ...criticOptimizer.arrays,
        ...cursors.flatMap((c) => c.arrays),
        { name: "observations", shape: [N, I], data: this.#observations.slice() },
        { name: "episodeStarts", shape: [N], data: this.episodeStarts.slice() },
        {
          name: "actorState",
          shape: [N, this.actor.stateSize],
          data: await this.actor.readState(this.#actorState),
        },
        {
          name: "criticState",
          shape: [N, this.critic.stateSize],
          data: await this.critic.readState(this.#criticState),
        },
        ...this.rollout.toArrays("rollout."),
      ],
    };
  }

  /** Restores what {@linkcode OnPolicyAgent.saveState} saved. */
  protected restoreState(state: AgentState): void {
    const j = state.json, N = this.envCount, I = this.spec.observationSize;
    const envs = j.envs as JsonObject[];
    const rows = j.rolloutSteps as number;
    if (!Array.isArray(envs) || envs.length !== N || !(Number.isInteger(rows) && rows >= 0)) {
      throw new TypeError(`Cannot restore the agent: its ${N} environment copies are malformed`);
    }
    restoreModel(state, "actor.", this.actor);
    restoreModel(state, "critic.", this.critic);
    restoreOptimizer(
      state,
      "actorOptimizer.",
      this.actorOptimizer,
      this.actor,
      j.actorOptimizerStep as number,
    );
    restoreOptimizer(
      state,
      "criticOptimizer.",
      this.criticOptimizer,
      this.critic,
      j.criticOptimizerStep as number,
    );
    this.#rng.setState(j.rng as unknown as RngState);
    this.#cursors.forEach((c, i) =>
      c.setState({ json: envs[i], arrays: state.arrays }, `env${i}.`)
    );
    this.networks.observationStats?.fromJson(j.observationStats);
    this.networks.writeNormalization();
    this.#observations.set(findArray(state, "observations", Float32Array, N * I));
    this.episodeStarts.set(findArray(state, "episodeStarts", Float32Array, N));
    this.actor.disposeState(this.#actorState);
    this.critic.disposeState(this.#criticState);
    this.#actorState = this.actor.stateFromRows(
      findArray(state, "actorState", Float32Array, N * this.actor.stateSize),
      N,
    );
    this.#criticState = this.critic.stateFromRows(
      findArray(state, "criticState", Float32Array, N * this.critic.stateSize),
      N,
    );
    this.rollout.fromArrays(state, "rollout.", rows);
    this.rolloutEpisodes = j.rolloutEpisodes as number;
    this.#envs = null;
  }
}
