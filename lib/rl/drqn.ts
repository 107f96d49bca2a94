/**
 * Deep recurrent Q-learning (DRQN, Hausknecht and Stone, 2015) trained the R2D2 way (Kapturowski
 * et al., 2019): an LSTM (or GRU) Q-network learns from sequences replayed with the recurrent state the
 * actor had at their start, after a burn-in that refreshes that (stale) state with the current
 * weights. R2D2's finding, which the defaults follow, is that stored state plus burn-in works best;
 * `storedState: false` starts every sequence from zeros instead (its "zero state" baseline).
 *
 * Sequences are padded per episode (see sequence_replay.ts), so terminated and truncated steps
 * keep their meaning: a truncated step bootstraps from the true final observation. The loop is
 * the off-policy chassis's ({@linkcode OffPolicyAgent}); action masks are honoured in acting and
 * in the targets' max, as in {@linkcode DQN}.
 *
 * One update, in order: the target network runs over every position of the sampled sequences from
 * their start states; the online network runs the burn-in without gradients, then the trained
 * steps and the n-step look-ahead with them; n-step double-Q targets are formed on the host from
 * both networks' values ({@linkcode sequenceTargets}); the Huber loss is averaged over the real
 * (unpadded) trained steps.
 *
 * @example
 * ```ts
 * import { CartPole, DRQN } from "@rnnrl/rnnrl";
 * const env = new CartPole({ maskVelocity: true });
 * const agent = new DRQN(env, { cellUnits: 8, learningStarts: 100, sequenceLength: 4, burnIn: 2 });
 * await agent.learn(env, { steps: 150 });
 * const { meanReturn } = await agent.evaluate(env, { episodes: 2, seed: 7 });
 * if (!(meanReturn >= 8)) throw new Error("CartPole episodes last at least 8 steps");
 * ```
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { EnvSpec, StepResult } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Dense } from "../nn/dense.ts";
import { clipGradients } from "../nn/optimizers.ts";
import { type RecurrentState, Sequential } from "../nn/sequential.ts";
import { inRange, nonNegativeInteger, positiveInteger, resolveOptions } from "./_options.ts";
import { cellLayers, embeddingLayers } from "./actor_critic.ts";
import { BOLTZMANN_DEFAULTS } from "./boltzmann.ts";
import type { AgentPolicyState } from "./agent.ts";
import {
  checkQLearningOptions,
  OffPolicyAgent,
  type QLearningOptions,
  type QUpdateStats,
} from "./off_policy.ts";
import { type ActOptions, maskedArgmax, type PolicyStep } from "./policy.ts";
import { maskedEpsilonGreedy, QNetwork } from "./q_network.ts";
import { type SequenceBatch, SequenceReplay, type SequenceReplayJson } from "./sequence_replay.ts";
import { learningRateAt, setLearningRate } from "./schedules.ts";
import { type AgentState, findArray, type NamedArrays } from "./state.ts";
/** The inputs of {@linkcode sequenceTargets}. */
export interface SequenceTargetInputs {
  /** The target network's Q-values at every position, `[burnIn + length + nStep, B, A]`. */
  qTarget: Float32Array;
  /**
   * The online network's Q-values from position `burnIn` on, `[length + nStep, B, A]`, to select
   * the bootstrap action (double DQN); null to select with the target network.
   */
  qOnline: Float32Array | null;
  /** The batch (its rewards, flags and validity, `[length + nStep − 1, B]`). */
  batch: SequenceBatch;
  /** Burn-in positions. */
  burnIn: number;
  /** Trained steps. */
  length: number;
  /** Rewards per target. */
  nStep: number;
  /** The discount. */
  gamma: number;
  /** Multiplies every reward (default 1). */
  rewardScale?: number;
  /** The number of actions A. */
  actionCount: number;
  /**
   * `[burnIn + length + nStep, B, A]`: the action mask of every position (1 valid), so that a*
   * is the best valid action; null or absent for a game without masks.
   */
  masks?: Uint8Array | null;
}

/**
 * The n-step (double) Q-learning targets of the trained steps of a sequence batch, `[length, B]`
 * time-major: `y_t = Σ_{i<k} γⁱ r_{t+i} + γᵏ Q⁻(s_{t+k}, a*)`, where k = n unless the episode
 * ends first (a terminal end drops the bootstrap; a truncated one bootstraps from the final
 * observation, which sits right after the last step), and a* maximises the online network's Q
 * (double DQN) or the target network's, over the valid actions where `masks` are given (all
 * actions in a row with none valid). Padding steps get 0.
 */
export function sequenceTargets(inputs: SequenceTargetInputs): Float32Array {
  const { qTarget, qOnline, batch, burnIn: W, length: L, nStep: n, gamma } = inputs;
  const A = inputs.actionCount, B = batch.batchSize, scale = inputs.rewardScale ?? 1;
  const masks = inputs.masks ?? null;
  const out = new Float32Array(L * B);
  for (let j = 0; j < L; j++) {
    for (let b = 0; b < B; b++) {
      if (!batch.valid[j * B + b]) continue;
      let ret = 0, k = 0, bootstrap = true, discount = 1;
      for (let i = 0; i < n; i++) {
        const s = (j + i) * B + b;
        if (!batch.valid[s]) break;
        ret += discount * scale * batch.rewards[s];
        discount *= gamma;
        k = i + 1;
        if (batch.terminated[s]) {
          bootstrap = false;
          break;
        }
        if (batch.truncated[s]) break;
      }
      if (bootstrap) {
        const select = qOnline ?? qTarget;
        const row = qOnline ? (j + k) * B + b : (W + j + k) * B + b;
        const position = (W + j + k) * B + b;
        let best = -1;
        for (let a = 0; a < A; a++) {
          if (masks && !masks[position * A + a]) continue;
          if (best < 0 || select[row * A + a] > select[row * A + best]) best = a;
        }
        if (best < 0) { // no valid action there: the unmasked max
          best = 0;
          for (let a = 1; a < A; a++) if (select[row * A + a] > select[row * A + best]) best = a;
        }
        ret += discount * qTarget[position * A + best];
      }
      out[j * B + b] = ret;
    }
  }
  return out;
}

/** Options of {@linkcode DRQN}: every hyperparameter, with its default. */
export interface DrqnOptions extends QLearningOptions {
  /** The recurrent cell of the Q-network: an LSTM or a GRU. */
  cell: "lstm" | "gru";
  /** The recurrent cell's hidden size. */
  cellUnits: number;
  /** Multiplies rewards in the targets, keeping Q-values in the range an LSTM head fits well. */
  rewardScale: number;
  /** Trained steps per sequence. */
  sequenceLength: number;
  /** Steps replayed before the trained ones to refresh the stored state (no loss on them). */
  burnIn: number;
  /** Trained steps shared by consecutive sequences of an episode. */
  overlap: number;
  /** Start sequences from the state the actor had (true) or from zeros (false). */
  storedState: boolean;
}

/**
 * The defaults: R2D2's sequence handling (stored state, burn-in, n-step double-Q targets) scaled
 * down to small control tasks. A ReLU layer between the LSTM and the output, and rewards scaled
 * by 0.1, keep the Q-values in a range the head fits without saturating the LSTM (with CartPole's
 * Q ≈ 100 and no hidden layer, every unit saturated and the values ran away). `batchSize` and
 * `bufferSize` count sequences; `nStep` applies within them (R2D2 uses 5).
 */
export const DRQN_DEFAULTS: Readonly<DrqnOptions> = Object.freeze({
  embedding: null,
  cell: "lstm",
  cellUnits: 64,
  hiddenSizes: [64],
  dueling: false,
  learningRate: 1e-3,
  gamma: 0.99,
  nStep: 5,
  rewardScale: 0.1,
  batchSize: 32,
  sequenceLength: 20,
  burnIn: 10,
  overlap: 0,
  storedState: true,
  bufferSize: 10_000,
  learningStarts: 1000,
  trainFrequency: 8,
  gradientSteps: 1,
  targetUpdateInterval: 1000,
  tau: 1,
  doubleDqn: true,
  epsilon: { start: 1, end: 0.05, steps: 10_000 },
  ...BOLTZMANN_DEFAULTS,
  huberDelta: 1,
  maxGradNorm: 10,
  logInterval: 100,
  seed: 0,
});

/**
 * Resolves options against the defaults and checks every field.
 *
 * @throws {TypeError} For an option DRQN does not have (naming the nearest one) or a wrong type.
 * @throws {RangeError} For a value out of range.
 */
export function resolveDrqnOptions(options: Partial<DrqnOptions> = {}): DrqnOptions {
  const o = resolveOptions("DRQN", DRQN_DEFAULTS, options);
  checkQLearningOptions(o);
  if (o.cell !== "lstm" && o.cell !== "gru") {
    throw new RangeError(`Cannot use cell ${o.cell}: DRQN's Q-network is an "lstm" or a "gru"`);
  }
  positiveInteger(o.cellUnits, "cellUnits");
  o.storedState = Boolean(o.storedState);
  inRange(o.rewardScale, Number.MIN_VALUE, Infinity, "rewardScale");
  positiveInteger(o.sequenceLength, "sequenceLength");
  nonNegativeInteger(o.burnIn, "burnIn");
  nonNegativeInteger(o.overlap, "overlap");
  if (o.overlap >= o.sequenceLength) {
    throw new RangeError(
      `Cannot use overlap ${o.overlap}: it must be below sequenceLength ${o.sequenceLength}`,
    );
  }
  return o;
}

/**
 * DRQN over any environment with a flat float observation and discrete actions.
 *
 * @example
 * ```ts
 * import { DRQN } from "@rnnrl/rnnrl";
 * const agent = new DRQN({ observationSize: 2, actionCount: 2 }, { cellUnits: 8 });
 * let state = agent.initialState();
 * for (const x of [0.01, 0.02, 0.04]) {
 *   const step = await agent.act(Float32Array.of(0, x), state);
 *   state = step.state; // carried to the next step; the old one was consumed
 * }
 * agent.disposeState(state);
 * ```
 */
export class DRQN extends OffPolicyAgent<DrqnOptions> {
  /** The defaults, which fill in options that a state saved before they existed lacks. */
  protected override optionDefaults(): object {
    return DRQN_DEFAULTS;
  }

  /** DRQN carries the recurrent cell's state between steps. */
  readonly recurrent: boolean = true;
  /** The network that is trained. */
  readonly online: QNetwork;
  /** The slowly updated copy that values the next states. */
  readonly target: QNetwork;
  /** The sequence replay. */
  readonly replay: SequenceReplay;
  #state: RecurrentState | null = null; // the actor's state before the current observation

  /** Builds the networks and the replay for an environment's sizes. */
  constructor(env: EnvSpec, options: Partial<DrqnOptions> = {}, backend?: Backend) {
    super("drqn", "DRQN", env, resolveDrqnOptions(options), backend);
    const o = this.options;
    const build = () =>
      new QNetwork(
        new Sequential(this.backend, {
          inputSize: this.spec.observationSize,
          layers: [
            ...embeddingLayers(o.embedding),
            ...cellLayers(o.cell, o.cellUnits),
            ...o.hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
            new Dense({ units: this.spec.actionCount + (o.dueling ? 1 : 0) }),
          ],
          seed: this.networkSeed,
        }),
        this.spec.actionCount,
        o.dueling,
      );
    this.online = build();
    this.target = build();
    this.target.model.copyParametersFrom(this.online.model);
    this.replay = new SequenceReplay({
      capacity: o.bufferSize,
      observationSize: this.spec.observationSize,
      stateSize: o.storedState ? this.online.model.stateSize : 0,
      burnIn: o.burnIn,
      length: o.sequenceLength,
      overlap: o.overlap,
      lookahead: o.nStep,
    });
  }

  /** A zero recurrent state for one episode. */
  initialState(): RecurrentState {
    return this.online.model.initialState(1);
  }

  /** Releases a state. */
  disposeState(state: AgentPolicyState): void {
    if (state) this.online.model.disposeState(state);
  }

  /**
   * The greedy action (the largest Q among the valid actions), carrying the state (default zeros;
   * consumed); with `deterministic: false`, ε-greedy at the schedule's final ε, or with
   * Boltzmann exploration a draw from the softmax of Q / τ at the final temperature.
   */
  async act(
    observation: Float32Array,
    state: AgentPolicyState,
    options: ActOptions = {},
  ): Promise<PolicyStep<RecurrentState>> {
    const { q, state: next } = await this.#step(observation, state);
    this.disposeState(state);
    if (this.samplesBoltzmann(options)) {
      return { action: this.sampledBoltzmann(q, options), state: next };
    }
    const explored = this.sampledExploration(options);
    return { action: explored ?? maskedArgmax(q, options.mask), state: next };
  }

  /**
   * ε-greedy (or Boltzmann) with the counter-based draws of the current step, carrying the actor's
   * state.
   */
  protected async explore(
    observation: Float32Array,
    epsilon: number,
    mask: Uint8Array | undefined,
  ): Promise<number> {
    const model = this.online.model;
    this.#stored = this.replay.needsState() ? await model.readState(this.#state!) : undefined;
    const x = this.backend.tensor(observation, [1, 1, this.spec.observationSize]);
    this.checkObservation(observation);
    const result = this.online.forward(x, { state: this.#state! });
    model.disposeState(this.#state!);
    this.#state = result.state;
    let action: number;
    if (this.options.exploration === "boltzmann") {
      action = this.boltzmannExplore(await this.backend.read(result.q), mask);
    } else if (mask) {
      action = await maskedEpsilonGreedy(
        () => this.backend.read(result.q),
        mask,
        epsilon,
        this.explorationSeed,
        this.stepCount,
      );
    } else {
      const chosen = epsilon > 0
        ? this.backend.epsilonGreedy(result.q, epsilon, this.explorationSeed, this.stepCount)
        : this.backend.argmaxRows(result.q);
      action = (await this.backend.read(chosen))[0];
      this.backend.dispose(chosen);
    }
    this.backend.dispose(x);
    this.backend.dispose(result.q);
    return action;
  }

  #stored: Float32Array | undefined; // the actor's state before the step being stored

  /** Adds the step to the sequence replay, with the actor's state where a sequence starts. */
  protected store(
    observation: Float32Array,
    action: number,
    result: StepResult<unknown>,
    mask: Uint8Array | undefined,
    nextMask: Uint8Array | undefined,
  ): void {
    this.replay.add({
      observation,
      action,
      reward: result.reward,
      nextObservation: result.observation,
      terminated: result.terminated,
      truncated: result.truncated,
      state: this.#stored,
      mask,
      nextMask,
    });
  }

  /** A new episode starts from the zero state; an abandoned one's sequences are dropped. */
  protected startEpisode(abandoned: boolean): void {
    if (abandoned || this.#state === null) this.replay.abandonEpisode();
    if (this.#state) this.online.model.disposeState(this.#state);
    this.#state = this.online.model.initialState(1);
  }

  /** True once a whole sequence is stored. */
  protected canTrain(): boolean {
    return this.replay.size > 0;
  }

  /**
   * One gradient step on a batch of sequences (see the module documentation). Returns the loss
   * and the mean Q(s, a) over real steps when `read` is true.
   */
  protected async train(read: boolean): Promise<QUpdateStats | null> {
    const o = this.options, backend = this.backend;
    setLearningRate(this.optimizer, learningRateAt(o.learningRate, this.stepCount));
    const batch = this.replay.sample(o.batchSize, this.rng);
    const B = o.batchSize, L = o.sequenceLength, W = o.burnIn, n = o.nStep;
    const P = W + L + n, A = this.spec.actionCount, rows = (L + n) * B;
    const start = this.#startState(batch);

    // The target network values every position (an inference pass, so it goes first: it would
    // drop the cache of a training pass).
    const all = this.#run(this.target, batch, 0, P, start);
    const qTarget = await backend.read(all.q);
    backend.dispose(all.q);
    this.target.model.disposeState(all.state);

    // The online network: the burn-in without gradients, then the trained steps and the
    // look-ahead with them (the look-ahead gets no loss; its values select a* for double DQN).
    let state = start;
    if (W > 0) {
      const burn = this.#run(this.online, batch, 0, W, state);
      backend.dispose(burn.q);
      state = burn.state;
    }
    const x = this.#slice(batch, W, P);
    const { q, state: last } = this.online.forward(x.observations, {
      state,
      mask: x.mask,
      training: true,
    });
    this.online.model.disposeState(last);
    const qOnline = await backend.read(q);

    const targetValues = sequenceTargets({
      qTarget,
      qOnline: o.doubleDqn ? qOnline : null,
      batch,
      burnIn: W,
      length: L,
      nStep: n,
      gamma: o.gamma,
      rewardScale: o.rewardScale,
      actionCount: A,
      masks: batch.masks,
    });
    // Rows past the trained steps (and padding after an episode's end) get no loss: their
    // target is the prediction itself, and the mean is taken over the real trained steps only.
    const padded = new Float32Array(rows), weights = new Float32Array(rows);
    const actionsPadded = new Float32Array(rows);
    actionsPadded.set(batch.actions);
    let realSteps = 0, qSum = 0;
    for (let i = 0; i < L * B; i++) {
      padded[i] = targetValues[i];
      weights[i] = batch.valid[i];
      realSteps += batch.valid[i];
      qSum += batch.valid[i] * qOnline[i * A + batch.actions[i]];
    }
    const actions = backend.tensor(actionsPadded, [rows]);
    const targets = backend.tensor(padded, [rows]);
    const valid = backend.tensor(weights, [rows]);
    const qTaken = backend.gatherRows(q, actions);
    const negated = backend.scale(qTaken, -1);
    const error = backend.add(targets, negated);
    const validError = backend.mul(valid, error);
    const maskedTargets = backend.add(qTaken, validError);
    const { loss, grad } = backend.huberLoss(qTaken, maskedTargets, o.huberDelta);
    const scale = realSteps > 0 ? rows / realSteps : 0;
    const scaledGrad = backend.scale(grad, scale);
    const dQ = backend.scatterRows(scaledGrad, actions, A);
    this.online.backward(dQ, [L + n, B, this.online.model.outputSize]);
    backend.dispose(clipGradients(this.online.model, o.maxGradNorm));
    this.optimizer.step(this.online.model);
    this.online.model.clearCache();

    const stats = read
      ? { loss: (await backend.read(loss))[0] * scale, qMean: realSteps ? qSum / realSteps : 0 }
      : null;
    if (state !== start) this.online.model.disposeState(state);
    this.online.model.disposeState(start);
    for (const t of [x.observations, x.mask, q, actions, targets, valid, qTaken, negated]) {
      backend.dispose(t);
    }
    for (const t of [error, validError, maskedTargets, loss, grad, scaledGrad, dQ]) {
      backend.dispose(t);
    }
    return stats;
  }

  /** The networks, optimizer, sequence replay and the actor's state. */
  protected async saveState(): Promise<NamedArrays<JsonObject>> {
    const chassis = await this.saveChassis();
    const replay = this.replay.getState("replay.");
    const actor = this.#state ? await this.online.model.readState(this.#state) : null;
    return {
      json: { ...chassis.json, replay: replay.json, hasActorState: actor !== null },
      arrays: [
        ...chassis.arrays,
        ...replay.arrays,
        ...(actor ? [{ name: "actorState", shape: [1, actor.length], data: actor }] : []),
      ],
    };
  }

  /** Restores what {@linkcode DRQN.saveState} saved. */
  protected restoreState(state: AgentState): void {
    const j = state.json;
    const model = this.online.model;
    this.restoreChassis(state);
    this.replay.setState(state, "replay.", j.replay as unknown as SequenceReplayJson);
    if (this.#state) model.disposeState(this.#state);
    this.#state = j.hasActorState
      ? model.stateFromRows(findArray(state, "actorState", Float32Array, model.stateSize), 1)
      : null;
  }

  /** Q-values of one observation and the state after it (`state` is borrowed). */
  async #step(
    observation: Float32Array,
    state: AgentPolicyState,
  ): Promise<{ q: Float32Array; state: RecurrentState }> {
    this.checkObservation(observation);
    const x = this.backend.tensor(observation, [1, 1, this.spec.observationSize]);
    const result = this.online.forward(x, { state });
    const q = await this.backend.read(result.q);
    this.backend.dispose(x);
    this.backend.dispose(result.q);
    return { q, state: result.state };
  }

  /** The start states of a batch: the stored ones, or zeros. */
  #startState(batch: SequenceBatch): RecurrentState {
    return this.options.storedState
      ? this.online.model.stateFromRows(batch.startStates, batch.batchSize)
      : this.online.model.initialState(batch.batchSize);
  }

  /** Positions [from, to) of a batch as input and mask tensors (time-major, contiguous). */
  #slice(batch: SequenceBatch, from: number, to: number): { observations: Tensor; mask: Tensor } {
    const B = batch.batchSize, D = this.spec.observationSize;
    return {
      observations: this.backend.tensor(
        batch.observations.subarray(from * B * D, to * B * D),
        [to - from, B, D],
      ),
      mask: this.backend.tensor(batch.resetMask.subarray(from * B, to * B), [to - from, B]),
    };
  }

  /** An inference pass of `net` over positions [from, to) from `state` (borrowed). */
  #run(
    net: QNetwork,
    batch: SequenceBatch,
    from: number,
    to: number,
    state: RecurrentState,
  ): { q: Tensor; state: RecurrentState } {
    const x = this.#slice(batch, from, to);
    const result = net.forward(x.observations, { state, mask: x.mask });
    this.backend.dispose(x.observations);
    this.backend.dispose(x.mask);
    return result;
  }
}
