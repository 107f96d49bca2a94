/**
 * The bandit algorithms of bandit_agents.ts as an {@linkcode Agent}: what `deno task train --env
 * bandit --algo epsilon-greedy|ucb|thompson|gradient-bandit` trains.
 *
 * An episode of the {@linkcode Bandit} environment is one bandit problem (each reset draws new
 * arm values), so {@linkcode BanditAgentAdapter} meets each problem with a fresh learner, as in
 * Sutton and Barto's testbed, and an episode's return is the reward the algorithm collected while
 * learning it. The greedy action is the arm the current learner values most. What the greedy
 * policy knows is about the current problem only; on a new one (an evaluation episode) it is no
 * better than a fixed arm, because the policy sees no rewards.
 *
 * @example
 * ```ts
 * import { Bandit } from "../envs/bandit.ts";
 * import { BanditAgentAdapter } from "./bandit_agent.ts";
 * const env = new Bandit();
 * const agent = new BanditAgentAdapter(env, "ucb", { c: 2, seed: 1 });
 * const returns: number[] = [];
 * await agent.learn(env, { steps: 5000, onEpisode: (e) => returns.push(e.return) });
 * if (returns.length !== 5) throw new Error("five problems of 1000 pulls");
 * ```
 *
 * @module
 */

import type { Env } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import {
  type ActResult,
  type Agent,
  type AgentState,
  type EnvSpec,
  evaluateGreedy,
  type EvaluateOptions,
  type Evaluation,
  type LearnOptions,
  readAgentState,
  writeAgentState,
} from "./agent.ts";
import {
  type BanditAgent,
  type BanditAgentState,
  BetaThompson,
  EpsilonGreedy,
  GaussianThompson,
  GradientBandit,
  restoreBanditAgent,
  Ucb,
} from "./bandit_agents.ts";
import { EpisodeCursor } from "./tabular_agent.ts";

/** The bandit algorithms, as the command line names them. */
export type BanditAlgo = "epsilon-greedy" | "ucb" | "thompson" | "gradient-bandit";

/** Every {@linkcode BanditAlgo}. */
export const BANDIT_ALGOS: readonly BanditAlgo[] = [
  "epsilon-greedy",
  "ucb",
  "thompson",
  "gradient-bandit",
];

/**
 * Options of {@linkcode BanditAgentAdapter}: each algorithm takes its own (see bandit_agents.ts
 * for the defaults), and rejects the others.
 */
export interface BanditAdapterOptions {
  /** epsilon-greedy: the probability of a random arm (default 0.1). */
  epsilon?: number;
  /** ucb: the exploration weight c (default 2). */
  c?: number;
  /**
   * epsilon-greedy, ucb: a constant step size, or null for sample averages (default null);
   * gradient-bandit: the preference step size (default 0.1). `learningRate` is another name.
   */
  stepSize?: number | null;
  /** epsilon-greedy, ucb: every arm's initial estimate (default 0). */
  initialValue?: number;
  /**
   * thompson: "gaussian" (Normal prior, known noise) or "bernoulli" (Beta prior, rewards in
   * [0, 1]). Default: "bernoulli" on a Bernoulli bandit, else "gaussian".
   */
  likelihood?: "gaussian" | "bernoulli";
  /** thompson, gaussian: the prior mean (default 0). */
  priorMean?: number;
  /** thompson, gaussian: the prior standard deviation (default 1). */
  priorStd?: number;
  /** thompson, gaussian: the reward noise's standard deviation (default 1). */
  noiseStd?: number;
  /** thompson, bernoulli: the Beta prior's α (default 1). */
  priorAlpha?: number;
  /** thompson, bernoulli: the Beta prior's β (default 1). */
  priorBeta?: number;
  /** gradient-bandit: subtract the average reward (default true). */
  baseline?: boolean;
  /** Seeds the learners and the problems. Default 0. */
  seed?: number;
}

/** The sizes, name and (for a {@linkcode Bandit}) reward kind of the environment. */
export interface BanditEnvSpec extends EnvSpec {
  /** The environment's name; "bandit" is the only one these algorithms play. */
  readonly id: string;
  /** The Bandit's reward distribution, "gaussian" or "bernoulli". */
  readonly kind?: string;
}

const OPTION_NAMES: Record<string, string[]> = {
  "epsilon-greedy": ["epsilon", "stepSize", "initialValue"],
  ucb: ["c", "stepSize", "initialValue"],
  "thompson-gaussian": ["likelihood", "priorMean", "priorStd", "noiseStd"],
  "thompson-bernoulli": ["likelihood", "priorAlpha", "priorBeta"],
  "gradient-bandit": ["stepSize", "baseline"],
};

/**
 * A bandit algorithm as an {@linkcode Agent} on the {@linkcode Bandit} environment: a fresh
 * learner per problem (its seed drawn from the agent's stream), every problem reset with a seed
 * of the agent's own, and the problem in progress (the learner's state and the pulls so far)
 * saved by {@linkcode BanditAgentAdapter.getState}, so a restored agent continues it exactly.
 * `learn` reports every finished problem through `onEpisode` and nothing through `onTrain`.
 *
 * @example
 * ```ts
 * import { Bandit } from "../envs/bandit.ts";
 * import { BanditAgentAdapter } from "./bandit_agent.ts";
 * const env = new Bandit();
 * const agent = new BanditAgentAdapter(env, "epsilon-greedy", { epsilon: 0.1 });
 * await agent.learn(env, { steps: 300 });
 * const { action } = await agent.act(new Float32Array(env.observationSize)); // a fresh problem
 * if (!(action >= 0 && action < 10)) throw new Error("one of ten arms");
 * ```
 */
export class BanditAgentAdapter implements Agent {
  /** The algorithm's name. */
  readonly kind: string;
  /** The policy carries no recurrent state (what it knows is the learner's). */
  readonly recurrent: boolean = false;
  /** The resolved options of the algorithm's learners (without their seeds), and the seed. */
  readonly options: Readonly<JsonObject>;
  /** The environment the agent is built for. */
  readonly spec: BanditEnvSpec;
  #make: (seed: number) => BanditAgent;
  #seeds: Rng; // the learners' seeds
  #learner: BanditAgent;
  #evalLearner: BanditAgent | null = null;
  #evalSeeds: Rng; // the evaluation learners' seeds, apart from training's
  #cursor: EpisodeCursor;
  #steps = 0;
  #episodes = 0;

  /**
   * Builds the agent for a bandit environment.
   *
   * @throws {RangeError} For an environment other than the bandit, an unknown algorithm or an
   * option out of range.
   * @throws {TypeError} For an option the algorithm does not have.
   */
  constructor(env: BanditEnvSpec, algo: BanditAlgo, options: BanditAdapterOptions = {}) {
    if (!BANDIT_ALGOS.includes(algo)) {
      throw new RangeError(
        `Cannot create bandit agent "${algo}": expected one of ${BANDIT_ALGOS.join(", ")}`,
      );
    }
    if (env.id !== "bandit") {
      throw new RangeError(
        `Cannot train ${algo} on ${env.id ?? "this environment"}: bandit algorithms play the ` +
          "bandit environment only",
      );
    }
    const given = { ...options } as BanditAdapterOptions & { learningRate?: number };
    const seed = given.seed ?? 0;
    delete given.seed;
    const bernoulli = env.kind === "bernoulli";
    const likelihood = given.likelihood ?? (bernoulli ? "bernoulli" : "gaussian");
    const variant = algo === "thompson" ? `thompson-${likelihood}` : algo;
    const allowed = OPTION_NAMES[variant];
    if (!allowed) {
      throw new RangeError(
        `Cannot use likelihood ${JSON.stringify(likelihood)}: expected "gaussian" or "bernoulli"`,
      );
    }
    if (given.learningRate !== undefined && allowed.includes("stepSize")) {
      if (given.stepSize !== undefined && given.stepSize !== given.learningRate) {
        throw new RangeError(
          `Cannot use ${algo} with stepSize ${given.stepSize} and learningRate ` +
            `${given.learningRate}: they name the same step size`,
        );
      }
      given.stepSize = given.learningRate;
      delete given.learningRate;
    }
    for (const key of Object.keys(given)) {
      if (!allowed.includes(key)) {
        throw new TypeError(
          `Cannot use option ${key} with ${algo}: its options are ${
            [...allowed, "seed"].join(", ")
          }`,
        );
      }
    }
    if (likelihood === "bernoulli" && !bernoulli) {
      throw new RangeError(
        `Cannot use ${algo} with likelihood "bernoulli" on a ${env.kind ?? "gaussian"} bandit: ` +
          "its rewards are not in [0, 1]",
      );
    }
    const arms = env.actionCount;
    const learnerOptions = { ...given } as Record<string, unknown>;
    delete learnerOptions.likelihood;
    this.#make = (learnerSeed) => {
      const o = { ...learnerOptions, seed: learnerSeed };
      switch (variant) {
        case "epsilon-greedy":
          return new EpsilonGreedy(arms, o);
        case "ucb":
          return new Ucb(arms, o);
        case "thompson-gaussian":
          return new GaussianThompson(arms, o);
        case "thompson-bernoulli":
          return new BetaThompson(arms, o);
        default:
          return new GradientBandit(arms, o);
      }
    };
    const resolved = { ...this.#make(0).save().options } as Record<string, unknown>;
    delete resolved.seed;
    this.options = {
      ...resolved as JsonObject,
      ...(algo === "thompson" ? { likelihood } : {}),
      seed,
    };
    this.kind = algo;
    this.spec = {
      id: env.id,
      observationSize: env.observationSize,
      actionCount: arms,
      ...(env.kind === undefined ? {} : { kind: env.kind }),
    };
    const root = new Rng(seed);
    this.#seeds = root.fork();
    this.#cursor = new EpisodeCursor(root.nextUint32());
    this.#learner = this.#make(this.#seeds.nextUint32());
    this.#evalSeeds = new Rng((seed ^ 0x2545f491) >>> 0);
  }

  /** Environment steps (pulls) learned so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Problems finished while learning. */
  get episodes(): number {
    return this.#episodes;
  }

  /** The current problem's learner. */
  get learner(): BanditAgent {
    return this.#learner;
  }

  /** No recurrent state. */
  initialState(): undefined {
    return undefined;
  }

  /**
   * The action on a bandit observation, outside training (what evaluation calls). A bandit
   * algorithm's policy is its learning rule, so evaluation runs it online on the problem at hand:
   * an all-zero observation (a reset) starts a fresh learner, and every later observation (the
   * previous arm and its reward) updates it before it picks the next arm.
   */
  act(observation: Float32Array): Promise<ActResult> {
    const arms = this.spec.actionCount;
    let previous = -1;
    for (let a = 0; a < arms; a++) if (observation[a] === 1) previous = a;
    if (previous < 0 || !this.#evalLearner) {
      this.#evalLearner = this.#make(this.#evalSeeds.nextUint32());
    } else {
      this.#evalLearner.update(previous, observation[arms]);
    }
    return Promise.resolve({ action: this.#evalLearner.act(), state: undefined });
  }

  /** Pulls `options.steps` arms, continuing the current problem; a new problem gets a new learner. */
  learn(env: Env, options: LearnOptions): Promise<void> {
    const steps = options.steps;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new RangeError(`Cannot learn: steps is ${steps}, expected an integer >= 0`);
    }
    this.#checkEnv(env);
    this.#cursor.observe(env);
    for (let i = 0; i < steps; i++) {
      const action = this.#learner.act();
      const { reward, terminated, truncated } = this.#cursor.step(action);
      this.#learner.update(action, reward);
      this.#steps++;
      if (terminated || truncated) {
        this.#episodes++;
        options.onEpisode?.({
          step: this.#steps,
          episode: this.#episodes,
          return: this.#cursor.episodeReturn,
          length: this.#cursor.episodeLength,
        });
        this.#cursor.next();
        this.#learner = this.#make(this.#seeds.nextUint32());
      }
    }
    return Promise.resolve();
  }

  /** Greedy evaluation: `episodes` problems (default 100), the environment reset with `seed`. */
  evaluate(env: Env, options: EvaluateOptions = {}): Promise<Evaluation> {
    this.#checkEnv(env);
    return evaluateGreedy(env, (o) => this.act(o), () => undefined, () => {}, options);
  }

  /** Everything needed to continue the run exactly: the learner, the pulls so far, the counters. */
  getState(): Promise<AgentState> {
    const cursor = this.#cursor.getState("episode.");
    return Promise.resolve({
      json: {
        kind: this.kind,
        options: this.options as JsonObject,
        spec: { ...this.spec },
        steps: this.#steps,
        episodes: this.#episodes,
        seeds: this.#seeds.getState() as unknown as JsonObject,
        learner: this.#learner.save() as unknown as JsonObject,
        cursor: cursor.json,
      },
      arrays: cursor.arrays,
    });
  }

  /** Restores a state from {@linkcode BanditAgentAdapter.getState}; the options must match. */
  setState(state: AgentState): void {
    const j = state.json;
    if (j.kind !== this.kind) {
      throw new TypeError(
        `Cannot restore the ${this.kind} agent from a state of kind "${String(j.kind)}"`,
      );
    }
    if (JSON.stringify(j.options) !== JSON.stringify(this.options)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the state has other options`);
    }
    if (JSON.stringify(j.spec) !== JSON.stringify(this.spec)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the state is for another env`);
    }
    for (const key of ["steps", "episodes"]) {
      if (!(Number.isInteger(j[key]) && (j[key] as number) >= 0)) {
        throw new TypeError(`Cannot restore the ${this.kind} agent: ${key} is not a count`);
      }
    }
    const learner = restoreBanditAgent(j.learner as unknown as BanditAgentState);
    if (
      learner.arms !== this.spec.actionCount || learner.save().kind !== this.#learner.save().kind
    ) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the learner is of another kind`);
    }
    this.#cursor.setState({ json: j.cursor, arrays: state.arrays }, "episode.");
    this.#seeds.setState(j.seeds as unknown as RngState);
    this.#learner = learner;
    this.#steps = j.steps as number;
    this.#episodes = j.episodes as number;
  }

  /** Writes the full state to a checkpoint file. */
  async save(path: string): Promise<void> {
    await writeAgentState(path, await this.getState());
  }

  /** Restores the full state from a file written by {@linkcode BanditAgentAdapter.save}. */
  async load(path: string): Promise<void> {
    this.setState(await readAgentState(path));
  }

  #checkEnv(env: EnvSpec): void {
    if (env.actionCount !== this.spec.actionCount) {
      throw new TypeError(
        `Cannot use an environment with ${env.actionCount} arms: the ${this.kind} agent was built for ${this.spec.actionCount}`,
      );
    }
  }
}
