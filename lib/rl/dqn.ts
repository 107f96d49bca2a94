/**
 * Deep Q-learning (Mnih et al., 2015) with an MLP Q-network, or for board games a cellwise one
 * (one shared MLP scores every cell from its neighbourhood, {@linkcode Cellwise}): uniform replay,
 * a target network (hard copies every N steps, or Polyak averaging), double DQN (van Hasselt et
 * al., 2016), an optional dueling head (Wang et al., 2016), the Huber loss, gradient clipping and
 * a linear ε schedule. The LSTM Q-network variant, trained on sequences, is {@linkcode DRQN} in
 * drqn.ts.
 *
 * Action masks: where the environment offers `actionMask()` (Minesweeper's unrevealed cells), the
 * agent acts only among the valid actions (ε-exploration draws uniformly among them, the greedy
 * choice is the argmax over them) and the TD target's max runs over the next state's valid
 * actions only; the replay keeps each transition's next-state mask for that.
 *
 * The file reads top to bottom: the options, the network, the loop ({@linkcode DQN.learn}) and
 * one update ({@linkcode DQN.update}).
 *
 * @example
 * ```ts
 * import { CartPole } from "../envs/cartpole.ts";
 * import { DQN } from "./dqn.ts";
 * const env = new CartPole();
 * const agent = new DQN(env, { hiddenSizes: [16], learningStarts: 50, bufferSize: 500, seed: 1 });
 * await agent.learn(env, { steps: 200 });
 * const { meanReturn } = await agent.evaluate(env, { episodes: 2, seed: 7 });
 * if (!(meanReturn >= 8)) throw new Error("CartPole episodes last at least 8 steps");
 * ```
 *
 * @module
 */

import {
  type Backend,
  checkPatchOptions,
  counterUniform,
  type Tensor,
} from "../backend/backend.ts";
import { createCpuBackend } from "../backend/cpu.ts";
import type { Env } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { Cellwise } from "../nn/cellwise.ts";
import { Dense } from "../nn/dense.ts";
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
  modelArrays,
  optimizerArrays,
  positiveInteger,
  readAgentState,
  restoreModel,
  restoreOptimizer,
  writeAgentState,
} from "./agent.ts";
import { NStepAccumulator, type ReplayBatch, ReplayBuffer, type Transition } from "./replay.ts";
import {
  checkLearningRate,
  checkRamp,
  learningRateAt,
  type LinearRamp,
  rampValue,
  setLearningRate,
} from "./schedules.ts";

/** Options of {@linkcode DQN}: every hyperparameter, with its default. */
export interface DqnOptions {
  /** Sizes of the hidden ReLU layers of the Q-network (of the shared per-cell MLP with `cellwise`). */
  hiddenSizes: number[];
  /**
   * Score every cell of a board with one shared MLP over its `(2·radius + 1)²` neighbourhood
   * ({@linkcode Cellwise}; actions must be the board's cells), or null for a plain MLP.
   */
  cellwise: { height: number; width: number; radius: number } | null;
  /** Split the output layer into a state value and advantages, Q = V + A − mean(A). */
  dueling: boolean;
  /** Adam's step size: a constant, or a linear ramp over environment steps. */
  learningRate: number | LinearRamp;
  /** The discount factor γ. */
  gamma: number;
  /** Learn from n-step returns (1 is plain DQN); truncation still bootstraps, by γ^k. */
  nStep: number;
  /** Transitions per gradient step. */
  batchSize: number;
  /** Replay capacity in transitions. */
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

/** The defaults: CleanRL's and SB3's DQN where they agree, sized for small control tasks. */
export const DQN_DEFAULTS: Readonly<DqnOptions> = Object.freeze({
  hiddenSizes: [120, 84],
  cellwise: null,
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
  huberDelta: 1,
  maxGradNorm: 10,
  logInterval: 100,
  seed: 0,
});

/**
 * Tuned settings by task name. "cartpole" starts from the RL Baselines3 Zoo's tuned DQN for
 * CartPole-v1 (train in bursts: 128 gradient steps every 256 environment steps, the target copied
 * every 10 steps, ε from 1 to 0.04 over 8000 steps) with a smaller network (faster on the CPU),
 * 8-step returns, and the learning rate decayed linearly to 0 at 50 000 steps: the budget it is
 * tuned for (beyond it, learning stops).
 *
 * "minesweeper" (9×9, 10 mines; actions masked to unrevealed cells) is tuned for 2 000 000 steps:
 * a cellwise Q-network (one MLP of 64, 64 ReLU units shared by every cell, which sees its 7×7
 * neighbourhood: translation invariance, where an MLP over the whole board won about 2% of games;
 * a 5×5 neighbourhood won about 31%, 7×7 over half),
 * γ = 0 (Minesweeper DQN projects use γ ≈ 0.1 since clicks are nearly independent; at 0 the target
 * is the reward, so an update needs no next-state pass and, with the cellwise network, runs on the
 * taken cells' patches only: far more updates per second), a low replay ratio (a batch of 256
 * every 32 steps, which learned faster than 32 samples a step: fresh boards teach more than
 * replayed ones) and the learning rate decayed from 1e-3 to 1e-4 over the run. A small buffer
 * keeps checkpoints small (each holds the replay).
 * "pendulum" (5 discrete torques): a small MLP updated every step, Polyak-averaged target (τ = 0.01),
 * γ = 0.98. "minesweeper-memory": an MLP sees only the last click and its count, so it has no
 * memory of the board; the preset trains it as the memoryless baseline (A2C with an LSTM is the
 * agent for this task).
 */
export const dqnPresets: Record<string, Partial<DqnOptions>> = {
  cartpole: {
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
  },
  minesweeper: {
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
  },
  pendulum: {
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
  },
  "minesweeper-memory": {
    hiddenSizes: [64, 64],
    gamma: 0.9,
    learningRate: 5e-4,
    batchSize: 64,
    bufferSize: 50_000,
    learningStarts: 1000,
    trainFrequency: 4,
    targetUpdateInterval: 500,
    epsilon: { start: 1, end: 0.05, steps: 20_000 },
  },
};

/** The options DQN and DRQN share, checked by {@linkcode checkQLearningOptions}. */
export type QLearningOptions = Pick<
  DqnOptions,
  | "hiddenSizes"
  | "dueling"
  | "doubleDqn"
  | "learningRate"
  | "gamma"
  | "nStep"
  | "batchSize"
  | "bufferSize"
  | "learningStarts"
  | "trainFrequency"
  | "gradientSteps"
  | "targetUpdateInterval"
  | "tau"
  | "epsilon"
  | "huberDelta"
  | "maxGradNorm"
  | "logInterval"
  | "seed"
>;

/**
 * Checks (and normalises in place: booleans, learning-rate and ε ramps) the options DQN and DRQN
 * share.
 *
 * @throws {RangeError | TypeError} For a value out of range or of the wrong type.
 */
export function checkQLearningOptions(o: QLearningOptions): void {
  if (!Array.isArray(o.hiddenSizes)) throw new TypeError("Cannot use hiddenSizes: not an array");
  o.hiddenSizes = o.hiddenSizes.map((h) => positiveInteger(h, "a hidden size"));
  o.dueling = Boolean(o.dueling);
  o.doubleDqn = Boolean(o.doubleDqn);
  o.learningRate = checkLearningRate(o.learningRate);
  inRange(o.gamma, 0, 1, "gamma");
  for (
    const k of [
      "nStep",
      "batchSize",
      "bufferSize",
      "trainFrequency",
      "gradientSteps",
      "targetUpdateInterval",
      "logInterval",
    ] as const
  ) positiveInteger(o[k], k);
  if (!(Number.isInteger(o.learningStarts) && o.learningStarts >= 0)) {
    throw new RangeError(`Cannot use learningStarts ${o.learningStarts}: expected an integer >= 0`);
  }
  inRange(o.tau, Number.MIN_VALUE, 1, "tau");
  o.epsilon = checkRamp(o.epsilon, "epsilon");
  inRange(o.epsilon.start, 0, 1, "epsilon.start");
  inRange(o.epsilon.end, 0, 1, "epsilon.end");
  inRange(o.huberDelta, Number.MIN_VALUE, Infinity, "huberDelta");
  inRange(o.maxGradNorm, Number.MIN_VALUE, Infinity, "maxGradNorm");
  if (!Number.isInteger(o.seed)) throw new RangeError(`Cannot use seed ${o.seed}: not an integer`);
}

/** Resolves options against the defaults and checks every field. */
export function resolveDqnOptions(options: Partial<DqnOptions> = {}): DqnOptions {
  const o: DqnOptions = { ...DQN_DEFAULTS, ...options };
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
  } else o.cellwise = null;
  return o;
}

/**
 * The dueling aggregation as a constant matrix: the network's last layer has A + 1 outputs
 * `[V, A_0 … A_{A−1}]` and `Q = out · M` with `Q_j = V + A_j − mean_k A_k`. Being linear, its
 * backward is `dOut = dQ · Mᵀ`, so it runs on any backend as one small matmul.
 */
export function duelingMatrix(actionCount: number): Float32Array {
  const m = new Float32Array((actionCount + 1) * actionCount);
  for (let j = 0; j < actionCount; j++) {
    m[j] = 1;
    for (let k = 0; k < actionCount; k++) {
      m[(1 + k) * actionCount + j] = (k === j ? 1 : 0) - 1 / actionCount;
    }
  }
  return m;
}

/**
 * A Q-network: a {@linkcode Sequential} model plus, for a dueling head, the aggregation matrix.
 * Shared by DQN and DRQN; inputs are `[B, I]` (MLP) or `[T, B, I]` (LSTM).
 */
export class QNetwork {
  /** The layers. */
  readonly model: Sequential;
  /** The number of actions. */
  readonly actionCount: number;
  #dueling: Tensor | null;

  /** Wraps a model whose last layer has A outputs, or A + 1 for a dueling head. */
  constructor(model: Sequential, actionCount: number, dueling: boolean) {
    this.model = model;
    this.actionCount = actionCount;
    this.#dueling = dueling
      ? model.backend.tensor(duelingMatrix(actionCount), [actionCount + 1, actionCount])
      : null;
  }

  /** Q-values `[rows, A]` for inputs of any leading shape; the state is threaded through. */
  forward(
    x: Tensor,
    options: Parameters<Sequential["forward"]>[1] = {},
  ): { q: Tensor; state: ReturnType<Sequential["forward"]>["state"] } {
    const backend = this.model.backend;
    const { output, state } = this.model.forward(x, options);
    const rows = output.size / output.shape[output.shape.length - 1];
    const flat = backend.reshape(output, [rows, output.shape[output.shape.length - 1]]);
    backend.dispose(output);
    if (!this.#dueling) return { q: flat, state };
    const q = backend.matmul(flat, this.#dueling);
    backend.dispose(flat);
    return { q, state };
  }

  /** Back-propagates `dQ` (`[rows, A]`, borrowed) through the last training forward pass. */
  backward(dQ: Tensor, outputShape: readonly number[]): void {
    const backend = this.model.backend;
    const dFlat = this.#dueling ? backend.matmul(dQ, this.#dueling, { transposeB: true }) : dQ;
    const dOut = backend.reshape(dFlat, outputShape);
    const { dInput, dState } = this.model.backward(dOut);
    backend.dispose(dInput);
    for (const s of dState) s?.forEach((t) => backend.dispose(t));
    backend.dispose(dOut);
    if (dFlat !== dQ) backend.dispose(dFlat);
  }
}

/**
 * What the TD target adds to the Q-value of an action the next state's mask rules out, so that its
 * max never picks one: a large finite number rather than −∞, which WGSL does not promise to keep.
 */
export const MASKED_Q: number = -1e30;

/**
 * DQN over any {@linkcode Env} with a flat float observation and discrete actions.
 *
 * @example
 * ```ts
 * import { DQN, dqnPresets } from "./dqn.ts";
 * const agent = new DQN({ observationSize: 4, actionCount: 2 }, { ...dqnPresets.cartpole, seed: 3 });
 * const { action } = await agent.act(Float32Array.of(0, 0, 0.01, 0));
 * if (action !== 0 && action !== 1) throw new Error("one of two actions");
 * ```
 */
export class DQN implements Agent {
  /** "dqn". */
  readonly kind: string = "dqn";
  /** DQN's MLP carries no state. */
  readonly recurrent: boolean = false;
  /** The resolved options. */
  readonly options: Readonly<DqnOptions>;
  /** The sizes the networks are built for. */
  readonly spec: EnvSpec;
  /** The backend holding the networks. */
  readonly backend: Backend;
  /** The network that is trained. */
  readonly online: QNetwork;
  /** The slowly updated copy that values the next states. */
  readonly target: QNetwork;
  /** The replay buffer. */
  readonly replay: ReplayBuffer;
  #nStep: NStepAccumulator;
  #optimizer: Adam;
  #rng: Rng; // replay sampling
  #explorationSeed: number; // epsilonGreedy's counter-based RNG, keyed by the step
  #envSeed: number; // the environment's first reset
  #steps = 0;
  #updates = 0;
  #cursor = new EnvCursor(); // the current observation and episode
  #nextMasks: Uint8Array | null = null; // [capacity, A]: the next state's mask per replay slot

  /** Builds the networks and the replay buffer for an environment's sizes. */
  constructor(env: EnvSpec, options: Partial<DqnOptions> = {}, backend?: Backend) {
    this.options = resolveDqnOptions(options);
    this.spec = {
      observationSize: positiveInteger(env.observationSize, "observationSize"),
      actionCount: positiveInteger(env.actionCount, "actionCount"),
    };
    this.backend = backend ?? createCpuBackend();
    const root = new Rng(this.options.seed);
    const networkSeed = root.nextUint32();
    this.#explorationSeed = root.nextUint32();
    this.#envSeed = root.nextUint32();
    this.#rng = root.fork();
    const board = this.options.cellwise;
    if (board && board.height * board.width !== this.spec.actionCount) {
      throw new RangeError(
        `Cannot build a cellwise Q-network: a ${board.height}×${board.width} board has ${
          board.height * board.width
        } cells, but the environment has ${this.spec.actionCount} actions`,
      );
    }
    const layers = () =>
      board ? [new Cellwise({ ...board, hidden: this.options.hiddenSizes, activation: "relu" })] : [
        ...this.options.hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
        new Dense({ units: this.spec.actionCount + (this.options.dueling ? 1 : 0) }),
      ];
    const build = () =>
      new QNetwork(
        new Sequential(this.backend, {
          inputSize: this.spec.observationSize,
          layers: layers(),
          seed: networkSeed,
        }),
        this.spec.actionCount,
        this.options.dueling,
      );
    this.online = build();
    this.target = build();
    this.target.model.copyParametersFrom(this.online.model);
    this.#optimizer = new Adam({ learningRate: learningRateAt(this.options.learningRate, 0) });
    this.replay = new ReplayBuffer({
      capacity: this.options.bufferSize,
      observationSize: this.spec.observationSize,
    });
    this.#nStep = new NStepAccumulator({
      n: this.options.nStep,
      gamma: this.options.gamma,
      observationSize: this.spec.observationSize,
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

  /** The exploration rate at the current step. */
  get epsilon(): number {
    return rampValue(this.options.epsilon, this.#steps);
  }

  /** DQN has no recurrent state. */
  initialState(): undefined {
    return undefined;
  }

  /**
   * The greedy action for one observation; with `mask` (1 valid, 0 invalid, one per action), the
   * best valid action.
   */
  async act(
    observation: Float32Array,
    _state?: RecurrentState,
    mask?: Uint8Array,
  ): Promise<ActResult> {
    return { action: await this.#chooseAction(observation, 0, 0, mask), state: undefined };
  }

  /**
   * The network whose output's argmax is the greedy action, for ONNX export; undefined with a
   * dueling head (its aggregation runs after the network). An action mask is not part of it: a
   * masked environment's caller applies the mask to the exported network's output.
   */
  policyNetwork(): Sequential | undefined {
    return this.options.dueling ? undefined : this.online.model;
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

  /**
   * The training loop: act ε-greedily, store the transition, and every `trainFrequency` steps
   * (after `learningStarts`) make `gradientSteps` updates; update the target network every
   * `targetUpdateInterval` steps. The loop's position (the current observation, the episode so
   * far, every counter) lives in the agent, so consecutive calls continue one run.
   */
  async learn(env: Env, options: LearnOptions): Promise<void> {
    const o = this.options;
    const steps = options.steps;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new RangeError(`Cannot learn: steps is ${steps}, expected an integer >= 0`);
    }
    this.#checkEnv(env);
    const start = this.#cursor.begin(env, this.#envSeed);
    if (start.fresh) this.#nStep.clear(); // an abandoned episode's returns stay unfinished
    let observation = start.observation;
    for (let i = 0; i < steps; i++) {
      const epsilon = rampValue(o.epsilon, this.#steps);
      const mask = this.#maskOf(env);
      const action = await this.#chooseAction(observation, epsilon, this.#steps, mask);
      const result = env.step(action);
      const nextMask = mask && this.#maskOf(env); // before an episode's end resets env
      const completed = this.#nStep.push({
        observation,
        action,
        reward: result.reward,
        nextObservation: result.observation, // the true final observation when truncated
        terminated: result.terminated,
        truncated: result.truncated,
      });
      for (const t of completed) this.#store(t, nextMask);
      this.#steps++;
      this.#cursor.advance(result, this.#steps, options.onEpisode);
      observation = this.#cursor.observation!;

      if (this.#steps > o.learningStarts && this.#steps % o.trainFrequency === 0) {
        for (let g = 0; g < o.gradientSteps; g++) {
          const report = (this.#updates + 1) % o.logInterval === 0 && options.onTrain;
          const stats = await this.update(Boolean(report));
          if (report && stats) {
            options.onTrain!({ step: this.#steps, epsilon, updates: this.#updates, ...stats });
          }
        }
      }
      if (this.#steps % o.targetUpdateInterval === 0) {
        if (o.tau === 1) this.target.model.copyParametersFrom(this.online.model);
        else this.target.model.polyakUpdateFrom(this.online.model, o.tau);
      }
    }
  }

  /**
   * One gradient step on a uniformly sampled batch: the (double) DQN target
   * `r + γ(1 − terminated)·Q⁻(s', argmax_a Q(s', a))`, the Huber loss on Q(s, a), clipping, Adam.
   * Returns the loss and mean Q(s, a) when `read` is true (a device-to-host read). With a cellwise
   * network the training pass scores only the taken cells (their patches), the same gradient as
   * scoring whole boards at `1/(H·W)` of the cost.
   */
  async update(read = false): Promise<{ loss: number; qMean: number } | null> {
    const o = this.options, backend = this.backend;
    setLearningRate(this.#optimizer, learningRateAt(o.learningRate, this.#steps));
    const batch = this.replay.sample(o.batchSize, this.#rng);
    const B = o.batchSize, D = this.spec.observationSize, A = this.spec.actionCount;
    // Targets first: an inference pass would drop the cache of a training pass.
    const targets = this.targets(batch, this.#nextMasks ? this.#batchMasks(batch) : undefined);
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
    this.#optimizer.step(this.online.model);
    this.online.model.clearCache();
    this.#updates++;

    let stats: { loss: number; qMean: number } | null = null;
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

  /** Greedy evaluation: `episodes` episodes (default 100), the environment reset with `seed`. */
  evaluate(env: Env, options: EvaluateOptions = {}): Promise<Evaluation> {
    this.#checkEnv(env);
    const act = (o: Float32Array) => this.act(o, undefined, this.#maskOf(env));
    return evaluateGreedy(env, act, () => undefined, () => {}, options);
  }

  /** Everything needed to continue the run exactly (see {@linkcode AgentState}). */
  async getState(): Promise<AgentState> {
    const replay = this.replay.getState("replay.");
    const pending = this.#nStep.getState("nstep.");
    const optimizer = await optimizerArrays("adam.", this.#optimizer, this.online.model);
    const cursor = this.#cursor.getState("");
    const masks = this.#nextMasks;
    const A = this.spec.actionCount, n = this.replay.size;
    const json: JsonObject = {
      kind: this.kind,
      options: this.options as unknown as JsonObject,
      spec: { ...this.spec },
      steps: this.#steps,
      updates: this.#updates,
      optimizerStep: optimizer.step,
      rng: this.#rng.getState() as unknown as JsonObject,
      replay: replay.json,
      nStep: pending.json,
      cursor: cursor.json,
    };
    return {
      json,
      arrays: [
        ...await modelArrays("online.", this.online.model),
        ...await modelArrays("target.", this.target.model),
        ...optimizer.arrays,
        ...replay.arrays,
        ...(masks
          ? [{ name: "replay.nextMasks", shape: [n, A], data: masks.slice(0, n * A) }]
          : []),
        ...pending.arrays,
        ...cursor.arrays,
      ],
    };
  }

  /** Restores a state from {@linkcode DQN.getState}; the options and sizes must match. */
  setState(state: AgentState): void {
    checkStateHeader(state, this, "the DQN");
    const j = state.json;
    restoreModel(state, "online.", this.online.model);
    restoreModel(state, "target.", this.target.model);
    restoreOptimizer(state, "adam.", this.#optimizer, this.online.model, j.optimizerStep as number);
    this.replay.setState(state, "replay.", j.replay as { size: number; position: number });
    this.#nextMasks = null;
    if (state.arrays.some((a) => a.name === "replay.nextMasks")) {
      const A = this.spec.actionCount, n = this.replay.size;
      const saved = findArray(state, "replay.nextMasks", Uint8Array, n * A);
      this.#nextMasks = new Uint8Array(this.replay.capacity * A).fill(1);
      this.#nextMasks.set(saved);
    }
    this.#nStep.setState(state, "nstep.", j.nStep as { pending: number });
    this.#rng.setState(j.rng as unknown as RngState);
    this.#steps = j.steps as number;
    this.#updates = j.updates as number;
    this.#cursor.setState(state, "", j.cursor as EnvCursorJson, this.spec.observationSize);
  }

  /** Writes the full state to a checkpoint file. */
  async save(path: string): Promise<void> {
    await writeAgentState(path, await this.getState());
  }

  /** Restores the full state from a file written by {@linkcode DQN.save}. */
  async load(path: string): Promise<void> {
    this.setState(await readAgentState(path));
  }

  /** Builds an agent from a saved state (its options and sizes come from the state). */
  static fromState(state: AgentState, backend?: Backend): DQN {
    const agent = new DQN(
      state.json.spec as unknown as EnvSpec,
      state.json.options as unknown as DqnOptions,
      backend,
    );
    agent.setState(state);
    return agent;
  }

  async #chooseAction(
    observation: Float32Array,
    epsilon: number,
    counter: number,
    mask?: Uint8Array,
  ): Promise<number> {
    if (mask) return await this.#chooseMasked(observation, epsilon, counter, mask);
    const x = this.#input(observation);
    const { q } = this.online.forward(x);
    const chosen = epsilon > 0
      ? this.backend.epsilonGreedy(q, epsilon, this.#explorationSeed, counter)
      : this.backend.argmaxRows(q);
    const action = (await this.backend.read(chosen))[0];
    for (const t of [x, q, chosen]) this.backend.dispose(t);
    return action;
  }

  /**
   * ε-greedy among the actions `mask` allows. It explores when the first lane of the same
   * counter-based RNG as {@linkcode Backend.epsilonGreedy} is below ε, and then takes the valid
   * action the second lane picks uniformly; otherwise the argmax of Q over the valid actions.
   */
  async #chooseMasked(
    observation: Float32Array,
    epsilon: number,
    counter: number,
    mask: Uint8Array,
  ): Promise<number> {
    let valid = 0;
    for (let a = 0; a < mask.length; a++) if (mask[a]) valid++;
    if (valid === 0) throw new RangeError("Cannot act: the action mask allows no action");
    if (epsilon > 0 && counterUniform(this.#explorationSeed, counter, 0) < epsilon) {
      const u = counterUniform(this.#explorationSeed, counter, 1);
      let k = Math.min(valid - 1, Math.floor(u * valid));
      for (let a = 0; a < mask.length; a++) if (mask[a] && k-- === 0) return a;
    }
    const q = await this.qValues(observation);
    let best = -1, bestValue = -Infinity;
    for (let a = 0; a < mask.length; a++) {
      if (mask[a] && (best < 0 || q[a] > bestValue)) {
        best = a;
        bestValue = q[a];
      }
    }
    return best;
  }

  /** The environment's action mask now, checked, or undefined where it has none. */
  #maskOf(env: Env): Uint8Array | undefined {
    if (typeof env.actionMask !== "function") return undefined;
    const mask = env.actionMask();
    if (mask.length !== this.spec.actionCount) {
      throw new TypeError(
        `Cannot use an action mask of ${mask.length} values: the agent has ${this.spec.actionCount} actions`,
      );
    }
    return mask;
  }

  /** Stores a transition in the replay and, once masks are in use, its next state's mask. */
  #store(t: Transition, nextMask: Uint8Array | undefined): void {
    const slot = this.replay.position, A = this.spec.actionCount;
    this.replay.add(t);
    if (!nextMask && !this.#nextMasks) return;
    this.#nextMasks ??= new Uint8Array(this.replay.capacity * A).fill(1);
    if (nextMask) this.#nextMasks.set(nextMask, slot * A);
    else this.#nextMasks.fill(1, slot * A, (slot + 1) * A);
  }

  /** The next-state masks of a sampled batch, `[B, A]`. */
  #batchMasks(batch: ReplayBatch): Uint8Array {
    const A = this.spec.actionCount, masks = this.#nextMasks!;
    const out = new Uint8Array(batch.indices.length * A);
    batch.indices.forEach((i, b) => out.set(masks.subarray(i * A, (i + 1) * A), b * A));
    return out;
  }

  #input(observation: Float32Array): Tensor {
    if (observation.length !== this.spec.observationSize) {
      throw new TypeError(
        `Cannot act: the observation has ${observation.length} values, expected ${this.spec.observationSize}`,
      );
    }
    return this.backend.tensor(observation, [1, this.spec.observationSize]);
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

/** `[B, A]`: 0 for a valid action, {@linkcode MASKED_Q} for an invalid one (none in a row with no valid action). */
function maskPenalty(masks: Uint8Array, rows: number, actions: number): Float32Array {
  const out = new Float32Array(rows * actions);
  for (let b = 0; b < rows; b++) {
    const row = masks.subarray(b * actions, (b + 1) * actions);
    if (!row.some((m) => m !== 0)) continue;
    for (let a = 0; a < actions; a++) if (!row[a]) out[b * actions + a] = MASKED_Q;
  }
  return out;
}
