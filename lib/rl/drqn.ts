/**
 * Deep recurrent Q-learning (DRQN, Hausknecht and Stone, 2015) trained the R2D2 way (Kapturowski
 * et al., 2019): an LSTM Q-network learns from sequences replayed with the recurrent state the
 * actor had at their start, after a burn-in that refreshes that (stale) state with the current
 * weights. R2D2's finding, which the defaults follow, is that stored state plus burn-in works best;
 * `storedState: false` starts every sequence from zeros instead (its "zero state" baseline).
 *
 * Sequences are padded per episode (see sequence_replay.ts), so terminated and truncated steps
 * keep their meaning: a truncated step bootstraps from the true final observation.
 *
 * One update, in order: the target network runs over every position of the sampled sequences from
 * their start states; the online network runs the burn-in without gradients, then the trained
 * steps and the n-step look-ahead with them; n-step double-Q targets are formed on the host from
 * both networks' values ({@linkcode sequenceTargets}); the Huber loss is averaged over the real
 * (unpadded) trained steps.
 *
 * @example
 * ```ts
 * import { CartPole } from "../envs/cartpole.ts";
 * import { DRQN } from "./drqn.ts";
 * const env = new CartPole({ maskVelocity: true });
 * const agent = new DRQN(env, { lstmUnits: 8, learningStarts: 100, sequenceLength: 4, burnIn: 2 });
 * await agent.learn(env, { steps: 150 });
 * const { meanReturn } = await agent.evaluate(env, { episodes: 2, seed: 7 });
 * if (!(meanReturn >= 8)) throw new Error("CartPole episodes last at least 8 steps");
 * ```
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import { createCpuBackend } from "../backend/cpu.ts";
import type { Env } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { Dense } from "../nn/dense.ts";
import { LSTM } from "../nn/lstm.ts";
import { Adam, clipGradients } from "../nn/optimizers.ts";
import { type RecurrentState, Sequential } from "../nn/sequential.ts";
import {
  type ActResult,
  type Agent,
  type AgentState,
  checkStateHeader,
  EnvCursor,
  type EnvCursorJson,
  type EnvSpec,
  evaluateGreedy,
  type EvaluateOptions,
  type Evaluation,
  findArray,
  inRange,
  type LearnOptions,
  makeRecurrentState,
  modelArrays,
  optimizerArrays,
  positiveInteger,
  readAgentState,
  readRecurrentState,
  recurrentStateSize,
  restoreModel,
  restoreOptimizer,
  writeAgentState,
} from "./agent.ts";
import { checkQLearningOptions, QNetwork } from "./dqn.ts";
import { type SequenceBatch, SequenceReplay, type SequenceReplayJson } from "./sequence_replay.ts";
import { learningRateAt, type LinearRamp, rampValue, setLearningRate } from "./schedules.ts";

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
}

/**
 * The n-step (double) Q-learning targets of the trained steps of a sequence batch, `[length, B]`
 * time-major: `y_t = Σ_{i<k} γⁱ r_{t+i} + γᵏ Q⁻(s_{t+k}, a*)`, where k = n unless the episode
 * ends first (a terminal end drops the bootstrap; a truncated one bootstraps from the final
 * observation, which sits right after the last step), and a* maximises the online network's Q
 * (double DQN) or the target network's. Padding steps get 0.
 */
export function sequenceTargets(inputs: SequenceTargetInputs): Float32Array {
  const { qTarget, qOnline, batch, burnIn: W, length: L, nStep: n, gamma } = inputs;
  const A = inputs.actionCount, B = batch.batchSize, scale = inputs.rewardScale ?? 1;
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
        let best = 0;
        for (let a = 1; a < A; a++) if (select[row * A + a] > select[row * A + best]) best = a;
        ret += discount * qTarget[((W + j + k) * B + b) * A + best];
      }
      out[j * B + b] = ret;
    }
  }
  return out;
}

/** Options of {@linkcode DRQN}: every hyperparameter, with its default. */
export interface DrqnOptions {
  /** The LSTM's hidden size. */
  lstmUnits: number;
  /** Sizes of ReLU layers between the LSTM and the output layer. */
  hiddenSizes: number[];
  /** Split the output layer into a state value and advantages, Q = V + A − mean(A). */
  dueling: boolean;
  /** Adam's step size: a constant, or a linear ramp over environment steps. */
  learningRate: number | LinearRamp;
  /** The discount factor γ. */
  gamma: number;
  /** Learn from n-step returns within the sequences (R2D2 uses 5). */
  nStep: number;
  /** Multiplies rewards in the targets, keeping Q-values in the range an LSTM head fits well. */
  rewardScale: number;
  /** Sequences per gradient step. */
  batchSize: number;
  /** Trained steps per sequence. */
  sequenceLength: number;
  /** Steps replayed before the trained ones to refresh the stored state (no loss on them). */
  burnIn: number;
  /** Trained steps shared by consecutive sequences of an episode. */
  overlap: number;
  /** Start sequences from the state the actor had (true) or from zeros (false). */
  storedState: boolean;
  /** Replay capacity in sequences. */
  bufferSize: number;
  /** Environment steps of pure collection before the first update. */
  learningStarts: number;
  /** Train every this many environment steps... */
  trainFrequency: number;
  /** ...with this many gradient steps. */
  gradientSteps: number;
  /** Update the target network every this many environment steps... */
  targetUpdateInterval: number;
  /** ...as θ⁻ ← τθ + (1 − τ)θ⁻ (1 is a hard copy). */
  tau: number;
  /** Select the next action with the online network and value it with the target network. */
  doubleDqn: boolean;
  /** The exploration rate ε over environment steps. */
  epsilon: LinearRamp;
  /** Where the Huber loss turns from quadratic to linear. */
  huberDelta: number;
  /** Clip the gradients' global L2 norm to this. */
  maxGradNorm: number;
  /** Report through `onTrain` every this many gradient steps. */
  logInterval: number;
  /** Seeds the network, replay sampling, exploration and the environment's first reset. */
  seed: number;
}

/**
 * The defaults: R2D2's sequence handling (stored state, burn-in, n-step double-Q targets) scaled
 * down to small control tasks. A ReLU layer between the LSTM and the output, and rewards scaled
 * by 0.1, keep the Q-values in a range the head fits without saturating the LSTM (with CartPole's
 * Q ≈ 100 and no hidden layer, every unit saturated and the values ran away).
 */
export const DRQN_DEFAULTS: Readonly<DrqnOptions> = Object.freeze({
  lstmUnits: 64,
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
  huberDelta: 1,
  maxGradNorm: 10,
  logInterval: 100,
  seed: 0,
});

/**
 * Tuned settings by task name. "cartpole-masked" (CartPole observing only x and θ) trains in
 * bursts like the DQN preset (32 gradient steps every 256 environment steps, the target copied
 * after each burst), with 8-step returns, a small LSTM (32 units, cheap on the CPU), a short
 * burn-in (velocities need only a few steps of memory), and the learning rate decayed linearly to
 * 0 at 100 000 steps: the budget it is tuned for.
 */
export const drqnPresets: Record<string, Partial<DrqnOptions>> = {
  "cartpole-masked": {
    lstmUnits: 32,
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
  },
};

/** Resolves options against the defaults and checks every field. */
export function resolveDrqnOptions(options: Partial<DrqnOptions> = {}): DrqnOptions {
  const o: DrqnOptions = { ...DRQN_DEFAULTS, ...options };
  checkQLearningOptions(o);
  positiveInteger(o.lstmUnits, "lstmUnits");
  o.storedState = Boolean(o.storedState);
  inRange(o.rewardScale, Number.MIN_VALUE, Infinity, "rewardScale");
  positiveInteger(o.sequenceLength, "sequenceLength");
  for (const k of ["burnIn", "overlap"] as const) {
    if (!(Number.isInteger(o[k]) && o[k] >= 0)) {
      throw new RangeError(`Cannot use ${k} ${o[k]}: expected an integer >= 0`);
    }
  }
  if (o.overlap >= o.sequenceLength) {
    throw new RangeError(
      `Cannot use overlap ${o.overlap}: it must be below sequenceLength ${o.sequenceLength}`,
    );
  }
  return o;
}

/**
 * DRQN over any {@linkcode Env} with a flat float observation and discrete actions.
 *
 * @example
 * ```ts
 * import { DRQN } from "./drqn.ts";
 * const agent = new DRQN({ observationSize: 2, actionCount: 2 }, { lstmUnits: 8 });
 * let state = agent.initialState();
 * for (const x of [0.01, 0.02, 0.04]) {
 *   const step = await agent.act(Float32Array.of(0, x), state);
 *   agent.online.model.disposeState(state);
 *   state = step.state!; // carried to the next step
 * }
 * ```
 */
export class DRQN implements Agent {
  /** "drqn". */
  readonly kind: string = "drqn";
  /** DRQN carries the LSTM's `[h, c]` between steps. */
  readonly recurrent: boolean = true;
  /** The resolved options. */
  readonly options: Readonly<DrqnOptions>;
  /** The sizes the networks are built for. */
  readonly spec: EnvSpec;
  /** The backend holding the networks. */
  readonly backend: Backend;
  /** The network that is trained. */
  readonly online: QNetwork;
  /** The slowly updated copy that values the next states. */
  readonly target: QNetwork;
  /** The sequence replay. */
  readonly replay: SequenceReplay;
  #optimizer: Adam;
  #rng: Rng; // replay sampling
  #explorationSeed: number;
  #envSeed: number;
  #steps = 0;
  #updates = 0;
  #cursor = new EnvCursor();
  #state: RecurrentState | null = null; // the actor's state before the current observation

  /** Builds the networks and the replay for an environment's sizes. */
  constructor(env: EnvSpec, options: Partial<DrqnOptions> = {}, backend?: Backend) {
    this.options = resolveDrqnOptions(options);
    this.spec = {
      observationSize: positiveInteger(env.observationSize, "observationSize"),
      actionCount: positiveInteger(env.actionCount, "actionCount"),
    };
    this.backend = backend ?? createCpuBackend();
    const o = this.options;
    const root = new Rng(o.seed);
    const networkSeed = root.nextUint32();
    this.#explorationSeed = root.nextUint32();
    this.#envSeed = root.nextUint32();
    this.#rng = root.fork();
    const build = () =>
      new QNetwork(
        new Sequential(this.backend, {
          inputSize: this.spec.observationSize,
          layers: [
            new LSTM({ units: o.lstmUnits }),
            ...o.hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
            new Dense({ units: this.spec.actionCount + (o.dueling ? 1 : 0) }),
          ],
          seed: networkSeed,
        }),
        this.spec.actionCount,
        o.dueling,
      );
    this.online = build();
    this.target = build();
    this.target.model.copyParametersFrom(this.online.model);
    this.#optimizer = new Adam({ learningRate: learningRateAt(o.learningRate, 0) });
    this.replay = new SequenceReplay({
      capacity: o.bufferSize,
      observationSize: this.spec.observationSize,
      stateSize: o.storedState ? recurrentStateSize(this.online.model) : 0,
      burnIn: o.burnIn,
      length: o.sequenceLength,
      overlap: o.overlap,
      lookahead: o.nStep,
    });
  }

  /** Environment steps learned so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Episodes finished while learning. */
  get episodes(): number {
    return this.#cursor.episodes;
  }

  /** Gradient steps made so far. */
  get updates(): number {
    return this.#updates;
  }

  /** A zero `[h, c]` for one episode. */
  initialState(): RecurrentState {
    return this.online.model.initialState(1);
  }

  /** The greedy action for one observation; `state` (default zeros) is borrowed. */
  async act(observation: Float32Array, state?: RecurrentState): Promise<ActResult> {
    const step = await this.#step(observation, state, 0, 0);
    return { action: step.action, state: step.state };
  }

  /**
   * The network whose output's argmax is the greedy action (for ONNX export, with the LSTM state
   * carried as in {@linkcode DRQN.act}); undefined with a dueling head.
   */
  policyNetwork(): Sequential | undefined {
    return this.options.dueling ? undefined : this.online.model;
  }

  /**
   * The training loop: act ε-greedily with the recurrent state carried along (reset at each
   * episode start), add every step to the sequence replay (with the state where a sequence
   * starts), and every `trainFrequency` steps (after `learningStarts`) make `gradientSteps`
   * updates; update the target network every `targetUpdateInterval` steps.
   */
  async learn(env: Env, options: LearnOptions): Promise<void> {
    const o = this.options, model = this.online.model;
    const steps = options.steps;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new RangeError(`Cannot learn: steps is ${steps}, expected an integer >= 0`);
    }
    this.#checkEnv(env);
    const start = this.#cursor.begin(env, this.#envSeed);
    if (start.fresh || this.#state === null) {
      this.replay.abandonEpisode();
      this.#resetState();
    }
    let observation = start.observation;
    for (let i = 0; i < steps; i++) {
      const epsilon = rampValue(o.epsilon, this.#steps);
      const stored = this.replay.needsState()
        ? await readRecurrentState(this.backend, this.#state!)
        : undefined;
      const { action, state } = await this.#step(
        observation,
        this.#state!,
        epsilon,
        this.#steps,
      );
      model.disposeState(this.#state!);
      this.#state = state;
      const result = env.step(action);
      this.replay.add({
        observation,
        action,
        reward: result.reward,
        nextObservation: result.observation,
        terminated: result.terminated,
        truncated: result.truncated,
        state: stored,
      });
      this.#steps++;
      if (this.#cursor.advance(result, this.#steps, options.onEpisode)) this.#resetState();
      observation = this.#cursor.observation!;

      if (
        this.#steps > o.learningStarts && this.#steps % o.trainFrequency === 0 &&
        this.replay.size > 0
      ) {
        for (let g = 0; g < o.gradientSteps; g++) {
          const report = (this.#updates + 1) % o.logInterval === 0 && options.onTrain;
          const stats = await this.update(Boolean(report));
          if (report && stats) {
            options.onTrain!({ step: this.#steps, epsilon, updates: this.#updates, ...stats });
          }
        }
      }
      if (this.#steps % o.targetUpdateInterval === 0) {
        if (o.tau === 1) this.target.model.copyParametersFrom(model);
        else this.target.model.polyakUpdateFrom(model, o.tau);
      }
    }
  }

  /**
   * One gradient step on a batch of sequences (see the module documentation). Returns the loss
   * and the mean Q(s, a) over real steps when `read` is true.
   */
  async update(read = false): Promise<{ loss: number; qMean: number } | null> {
    const o = this.options, backend = this.backend;
    setLearningRate(this.#optimizer, learningRateAt(o.learningRate, this.#steps));
    const batch = this.replay.sample(o.batchSize, this.#rng);
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
    const { q } = this.online.forward(x.observations, { state, mask: x.mask, training: true });
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
    this.#optimizer.step(this.online.model);
    this.online.model.clearCache();
    this.#updates++;

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

  /** Greedy evaluation: `episodes` episodes (default 100), the environment reset with `seed`. */
  evaluate(env: Env, options: EvaluateOptions = {}): Promise<Evaluation> {
    this.#checkEnv(env);
    return evaluateGreedy(
      env,
      (o, s) => this.act(o, s),
      () => this.initialState(),
      (s) => this.online.model.disposeState(s),
      options,
    );
  }

  /** Everything needed to continue the run exactly (see {@linkcode AgentState}). */
  async getState(): Promise<AgentState> {
    const replay = this.replay.getState("replay.");
    const optimizer = await optimizerArrays("adam.", this.#optimizer, this.online.model);
    const cursor = this.#cursor.getState("");
    const actor = this.#state ? await readRecurrentState(this.backend, this.#state) : null;
    const json: JsonObject = {
      kind: this.kind,
      options: this.options as unknown as JsonObject,
      spec: { ...this.spec },
      steps: this.#steps,
      updates: this.#updates,
      optimizerStep: optimizer.step,
      rng: this.#rng.getState() as unknown as JsonObject,
      replay: replay.json,
      cursor: cursor.json,
      hasActorState: actor !== null,
    };
    return {
      json,
      arrays: [
        ...await modelArrays("online.", this.online.model),
        ...await modelArrays("target.", this.target.model),
        ...optimizer.arrays,
        ...replay.arrays,
        ...cursor.arrays,
        ...(actor ? [{ name: "actorState", shape: [1, actor.length], data: actor }] : []),
      ],
    };
  }

  /** Restores a state from {@linkcode DRQN.getState}; the options and sizes must match. */
  setState(state: AgentState): void {
    checkStateHeader(state, this, "the DRQN");
    const j = state.json;
    const model = this.online.model;
    restoreModel(state, "online.", model);
    restoreModel(state, "target.", this.target.model);
    restoreOptimizer(state, "adam.", this.#optimizer, model, j.optimizerStep as number);
    this.replay.setState(state, "replay.", j.replay as unknown as SequenceReplayJson);
    this.#rng.setState(j.rng as unknown as RngState);
    this.#steps = j.steps as number;
    this.#updates = j.updates as number;
    this.#cursor.setState(state, "", j.cursor as EnvCursorJson, this.spec.observationSize);
    if (this.#state) model.disposeState(this.#state);
    this.#state = j.hasActorState
      ? makeRecurrentState(
        model,
        findArray(state, "actorState", Float32Array, recurrentStateSize(model)),
        1,
      )
      : null;
  }

  /** Writes the full state to a checkpoint file. */
  async save(path: string): Promise<void> {
    await writeAgentState(path, await this.getState());
  }

  /** Restores the full state from a file written by {@linkcode DRQN.save}. */
  async load(path: string): Promise<void> {
    this.setState(await readAgentState(path));
  }

  /** Builds an agent from a saved state (its options and sizes come from the state). */
  static fromState(state: AgentState, backend?: Backend): DRQN {
    const agent = new DRQN(
      state.json.spec as unknown as EnvSpec,
      state.json.options as unknown as DrqnOptions,
      backend,
    );
    agent.setState(state);
    return agent;
  }

  #resetState(): void {
    if (this.#state) this.online.model.disposeState(this.#state);
    this.#state = this.online.model.initialState(1);
  }

  /** The start states of a batch: the stored ones, or zeros. */
  #startState(batch: SequenceBatch): RecurrentState {
    return this.options.storedState
      ? makeRecurrentState(this.online.model, batch.startStates, batch.batchSize)
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

  async #step(
    observation: Float32Array,
    state: RecurrentState | undefined,
    epsilon: number,
    counter: number,
  ): Promise<{ action: number; state: RecurrentState }> {
    if (observation.length !== this.spec.observationSize) {
      throw new TypeError(
        `Cannot act: the observation has ${observation.length} values, expected ${this.spec.observationSize}`,
      );
    }
    const x = this.backend.tensor(observation, [1, 1, this.spec.observationSize]);
    const result = this.online.forward(x, { state });
    const chosen = epsilon > 0
      ? this.backend.epsilonGreedy(result.q, epsilon, this.#explorationSeed, counter)
      : this.backend.argmaxRows(result.q);
    const action = (await this.backend.read(chosen))[0];
    for (const t of [x, result.q, chosen]) this.backend.dispose(t);
    return { action, state: result.state };
  }

  #checkEnv(env: EnvSpec): void {
    if (
      env.observationSize !== this.spec.observationSize || env.actionCount !== this.spec.actionCount
    ) {
      throw new TypeError(
        `Cannot use an environment with ${env.observationSize} observations and ${env.actionCount} actions: the agent was built for ${this.spec.observationSize} and ${this.spec.actionCount}`,
      );
    }
  }
}
