/**
 * The off-policy loop of the Q-learning agents ({@linkcode DQN}, {@linkcode DRQN}), written once:
 * act ε-greedily (or, with `exploration: "boltzmann"`, by sampling the softmax of Q / τ) among the
 * valid actions, store the step, every `trainFrequency` steps (after
 * `learningStarts`) make `gradientSteps` updates, and every `targetUpdateInterval` steps move the
 * target network towards the online one. An algorithm supplies how it acts while exploring, what
 * it stores, and its update.
 *
 * @module
 */

import { type Backend, counterUniform } from "../backend/backend.ts";
import { createCpuBackend } from "../backend/cpu.ts";
import { actionMaskOf, type EnvSpec, type StepResult } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { Adam } from "../nn/optimizers.ts";
import {
  inRange,
  integerSeed,
  layerSizes,
  nonNegativeInteger,
  positiveInteger,
} from "./_options.ts";
import { checkEmbeddingShape, type EmbeddingShape } from "./actor_critic.ts";
import { BaseAgent, type LearnSession } from "./agent.ts";
import {
  boltzmannAction,
  type BoltzmannOptions,
  checkBoltzmannOptions,
  finalTemperature,
  temperatureAt,
} from "./boltzmann.ts";
import { requireDiscrete, singleEnv, type TrainingEnv } from "./env_input.ts";
import { EnvCursor } from "./env_cursor.ts";
import { type ActOptions, uniformValidAction } from "./policy.ts";
import type { QNetwork } from "./q_network.ts";
import {
  checkLearningRate,
  checkRamp,
  learningRateAt,
  type LinearRamp,
  rampValue,
} from "./schedules.ts";
import {
  type AgentState,
  modelArrays,
  type NamedArrays,
  optimizerArrays,
  restoreModel,
  restoreOptimizer,
} from "./state.ts";

/** The options DQN and DRQN share: the Q-learning target, the loss, and the off-policy loop. */
export interface QLearningOptions extends BoltzmannOptions {
  /** Sizes of the hidden ReLU layers of the Q-network. */
  hiddenSizes: number[];
  /** An Embedding first in the Q-network, over the observation's leading ids (null: none). */
  embedding: EmbeddingShape | null;
  /** Split the output layer into a state value and advantages, Q = V + A − mean(A). */
  dueling: boolean;
  /** Select the next action with the online network and value it with the target network. */
  doubleDqn: boolean;
  /** Adam's step size: a constant, or a linear ramp over environment steps. */
  learningRate: number | LinearRamp;
  /** The discount factor γ. */
  gamma: number;
  /** Learn from n-step returns (1 is one-step Q-learning); truncation still bootstraps, by γ^k. */
  nStep: number;
  /** Samples per gradient step (transitions for DQN, sequences for DRQN). */
  batchSize: number;
  /** Replay capacity (transitions for DQN, sequences for DRQN). */
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
  /** The exploration rate ε over environment steps (with `exploration: "epsilon"`). */
  epsilon: LinearRamp;
  /** Where the Huber loss turns from quadratic to linear. */
  huberDelta: number;
  /** Clip the gradients' global L2 norm to this. */
  maxGradNorm: number;
  /** Report through `onUpdate` every this many gradient steps. */
  logInterval: number;
  /** Seeds the network, replay sampling, exploration and the environment's first reset. */
  seed: number;
}

/**
 * Checks (and normalises in place: booleans, learning-rate and ε ramps, copies of arrays) the
 * options DQN and DRQN share.
 *
 * @throws {RangeError | TypeError} For a value out of range or of the wrong type.
 */
export function checkQLearningOptions(o: QLearningOptions): void {
  o.hiddenSizes = layerSizes(o.hiddenSizes, "hiddenSizes");
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
  nonNegativeInteger(o.learningStarts, "learningStarts");
  inRange(o.tau, Number.MIN_VALUE, 1, "tau");
  o.epsilon = checkRamp(o.epsilon, "epsilon");
  inRange(o.epsilon.start, 0, 1, "epsilon.start");
  inRange(o.epsilon.end, 0, 1, "epsilon.end");
  checkBoltzmannOptions(o);
  o.embedding = checkEmbeddingShape(o.embedding);
  inRange(o.huberDelta, Number.MIN_VALUE, Infinity, "huberDelta");
  inRange(o.maxGradNorm, Number.MIN_VALUE, Infinity, "maxGradNorm");
  integerSeed(o.seed);
}

/** The statistics of one update, when they were read. */
export interface QUpdateStats {
  /** The TD loss. */
  loss: number;
  /** The mean Q(s, a) of the batch. */
  qMean: number;
  /** Anything else the algorithm measures. */
  [statistic: string]: number;
}

/**
 * The off-policy chassis: the online and target Q-networks, Adam, the replay's sampling RNG, the
 * exploration seed, and the place in the environment; and the loop, {@linkcode OffPolicyAgent.collect}.
 */
export abstract class OffPolicyAgent<Options extends QLearningOptions> extends BaseAgent<Options> {
  /** The backend holding the networks. */
  readonly backend: Backend;
  /** The network that is trained. */
  abstract readonly online: QNetwork;
  /** The slowly updated copy that values the next states. */
  abstract readonly target: QNetwork;
  /** The optimizer of the online network. */
  protected readonly optimizer: Adam;
  /** Replay sampling. */
  protected readonly rng: Rng;
  /** The seed of the counter-based exploration draws (keyed by the step). */
  protected readonly explorationSeed: number;
  /** The seed the networks are initialised from. */
  protected readonly networkSeed: number;
  /** Where the loop stands in its environment. */
  protected readonly cursor: EnvCursor;
  /** Draws of sampled (not greedy) acting outside training. */
  protected readonly actRng: Rng;

  /** Derives the seeds and builds what both algorithms use; the subclass builds the networks. */
  protected constructor(
    kind: string,
    name: string,
    spec: EnvSpec,
    options: Options,
    backend?: Backend,
  ) {
    requireDiscrete(spec, kind);
    super(kind, name, checkSpec(spec), options);
    this.backend = backend ?? createCpuBackend();
    const root = new Rng(options.seed);
    this.networkSeed = root.nextUint32();
    this.explorationSeed = root.nextUint32();
    const envSeed = root.nextUint32();
    this.rng = root.fork();
    this.actRng = new Rng((this.explorationSeed ^ 0x6a09e667) >>> 0);
    this.cursor = new EnvCursor({ seed: envSeed });
    this.optimizer = new Adam({ learningRate: learningRateAt(options.learningRate, 0) });
  }

  /** The exploration rate at the current step. */
  get epsilon(): number {
    return rampValue(this.options.epsilon, this.stepCount);
  }

  /** Boltzmann exploration's temperature at the current step. */
  get temperature(): number {
    return temperatureAt(this.options.temperature, this.stepCount);
  }

  /** The online network's greedy policy is the exported one; undefined with a dueling head. */
  override policyNetwork(): QNetwork["model"] | undefined {
    return this.options.dueling ? undefined : this.online.model;
  }

  /**
   * The random action of sampled acting (`deterministic: false`): ε-greedy at the schedule's
   * final ε; undefined when the draw says to act greedily.
   */
  protected sampledExploration(options: ActOptions): number | undefined {
    if (options.deterministic !== false || this.options.exploration === "boltzmann") {
      return undefined;
    }
    const rng = options.rng ?? this.actRng;
    if (!(rng.uniform() < this.options.epsilon.end)) return undefined;
    return uniformValidAction(this.spec.actionCount, rng.uniform(), options.mask);
  }

  /** True when sampled acting (`deterministic: false`) draws from the Boltzmann distribution. */
  protected samplesBoltzmann(options: ActOptions): boolean {
    return options.deterministic === false && this.options.exploration === "boltzmann";
  }

  /**
   * The action of sampled acting with Boltzmann exploration: drawn from the softmax of Q / τ at
   * the final temperature among the valid actions, with the caller's RNG (or the agent's).
   */
  protected sampledBoltzmann(q: ArrayLike<number>, options: ActOptions): number {
    const rng = options.rng ?? this.actRng;
    const tau = finalTemperature(this.options.temperature);
    return boltzmannAction(q, tau, this.options.qClip, rng.uniform(), options.mask);
  }

  /**
   * The action of Boltzmann exploration while learning: drawn from the softmax of Q / τ at the
   * current temperature among the valid actions, with lane 0 of the counter-based draw of this
   * step (so a resumed run draws what an unbroken one would).
   */
  protected boltzmannExplore(q: ArrayLike<number>, mask: Uint8Array | undefined): number {
    const u = counterUniform(this.explorationSeed, this.stepCount, 0);
    return boltzmannAction(q, this.temperature, this.options.qClip, u, mask);
  }

  /** The loop (see the module documentation). */
  protected async collect(
    input: TrainingEnv,
    until: number,
    session: LearnSession,
  ): Promise<void> {
    const o = this.options;
    const env = singleEnv(input, this.kind.toUpperCase());
    this.checkEnv(env);
    const start = this.cursor.begin(env);
    if (start.fresh) this.startEpisode(true);
    let observation = start.observation;
    const boltzmann = o.exploration === "boltzmann";
    while (this.stepCount < until && !session.stopped) {
      const epsilon = rampValue(o.epsilon, this.stepCount);
      const rate = boltzmann ? { temperature: this.temperature } : { epsilon };
      const mask = actionMaskOf(env);
      const action = await this.explore(observation, epsilon, mask);
      const { result, ended } = this.cursor.step(action);
      const nextMask = mask && actionMaskOf(env); // before an episode's end resets it
      this.store(observation, action, result, mask, nextMask);
      this.stepCount++;
      if (ended) {
        this.episodeCount++;
        await session.episode({ step: this.stepCount, episode: this.episodeCount, ...ended });
        this.cursor.next();
        this.startEpisode(false);
      }
      observation = this.cursor.observation!;

      if (
        this.stepCount > o.learningStarts && this.stepCount % o.trainFrequency === 0 &&
        this.canTrain()
      ) {
        for (let g = 0; g < o.gradientSteps; g++) {
          const read = session.wantsStats(this.updateCount + 1, o.logInterval);
          const stats = await this.train(read);
          this.updateCount++;
          if (read && stats) {
            await session.update({
              step: this.stepCount,
              ...rate,
              updates: this.updateCount,
              ...stats,
            });
          }
        }
      }
      if (this.stepCount % o.targetUpdateInterval === 0) this.target.updateFrom(this.online, o.tau);
      await session.afterSteps();
    }
  }

  /**
   * The action to take while learning: ε-greedy with the counter-based draws of this step, or
   * {@linkcode OffPolicyAgent.boltzmannExplore} with Boltzmann exploration (ε is then unused).
   */
  protected abstract explore(
    observation: Float32Array,
    epsilon: number,
    mask: Uint8Array | undefined,
  ): Promise<number>;

  /** Stores one step (the masks are the observation's and the next observation's). */
  protected abstract store(
    observation: Float32Array,
    action: number,
    result: StepResult<unknown>,
    mask: Uint8Array | undefined,
    nextMask: Uint8Array | undefined,
  ): void;

  /** An episode starts; `abandoned` when the one in progress could not be restored. */
  protected abstract startEpisode(abandoned: boolean): void;

  /** True when the replay holds something to learn from. */
  protected abstract canTrain(): boolean;

  /** One gradient step; the statistics when `read` is true (a device read). */
  protected abstract train(read: boolean): Promise<QUpdateStats | null>;

  /** The networks, the optimizer, the RNG and the place in the environment. */
  protected async saveChassis(): Promise<NamedArrays<JsonObject>> {
    const optimizer = await optimizerArrays("adam.", this.optimizer, this.online.model);
    const cursor = this.cursor.getState("env.");
    return {
      json: {
        optimizerStep: optimizer.json,
        rng: this.rng.getState() as unknown as JsonObject,
        env: cursor.json,
      },
      arrays: [
        ...await modelArrays("online.", this.online.model),
        ...await modelArrays("target.", this.target.model),
        ...optimizer.arrays,
        ...cursor.arrays,
      ],
    };
  }

  /** Restores what {@linkcode OffPolicyAgent.saveChassis} saved. */
  protected restoreChassis(state: AgentState): void {
    const j = state.json;
    restoreModel(state, "online.", this.online.model);
    restoreModel(state, "target.", this.target.model);
    restoreOptimizer(state, "adam.", this.optimizer, this.online.model, j.optimizerStep as number);
    this.rng.setState(j.rng as unknown as RngState);
    this.cursor.setState({ json: j.env ?? null, arrays: state.arrays }, "env.");
  }
}

/** Checks an environment's sizes (positive integers) and copies them. */
export function checkSpec(spec: EnvSpec): EnvSpec {
  return {
    observationSize: positiveInteger(spec.observationSize, "observationSize"),
    actionCount: positiveInteger(spec.actionCount, "actionCount"),
  };
}
