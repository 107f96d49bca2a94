/**
 * The bandit algorithms of bandits.ts as an {@linkcode Agent}: what `deno task train --env
 * bandit --algo epsilon-greedy|ucb|thompson|gradient-bandit` trains.
 *
 * An episode of the {@linkcode Bandit} environment is one bandit problem (each reset draws new
 * arm values), so {@linkcode BanditAgent} meets each problem with a fresh learner, as in
 * Sutton and Barto's testbed, and an episode's return is the reward the algorithm collected while
 * learning it. Its policy is the learning rule itself: evaluated on a new problem, it learns that
 * problem from the rewards the observations report.
 *
 * @example
 * ```ts
 * import { Bandit, BanditAgent } from "@rnnrl/rnnrl";
 * const env = new Bandit();
 * const agent = new BanditAgent(env, { algorithm: "ucb", c: 2, seed: 1 });
 * const returns: number[] = [];
 * await agent.learn(env, { steps: 5000, onEpisode: (e) => void returns.push(e.return) });
 * if (returns.length !== 5) throw new Error("five problems of 1000 pulls");
 * ```
 *
 * @module
 */

import { type EnvSpec, specOf } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { integerSeed, positiveInteger, unknownOption } from "./_options.ts";
import { type AgentPolicyState, BaseAgent, type LearnSession } from "./agent.ts";
import { EnvCursor } from "./env_cursor.ts";
import { singleEnv, type TrainingEnv } from "./env_input.ts";
import type { ActOptions, PolicyStep } from "./policy.ts";
import type { AgentState, NamedArrays } from "./state.ts";
import {
  type BanditLearner,
  type BanditLearnerState,
  BetaThompson,
  EpsilonGreedy,
  GaussianThompson,
  GradientBandit,
  restoreBanditLearner,
  Ucb,
} from "./bandits.ts";

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
 * Options of {@linkcode BanditAgent}: each algorithm takes its own (see bandits.ts
 * for the defaults), and rejects the others.
 */
export interface BanditAgentOptions {
  /** The algorithm. */
  algorithm: BanditAlgo;
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
  /**
   * Pulls between training statistics, counted within each problem: the mean reward per pull over
   * them (`reward`), the fraction of them that pulled an optimal arm (`optimalAction`, where the
   * environment says) and the problem's pull count at their end (`pull`), so that averaging over
   * problems by `pull` gives Sutton and Barto's curves. A problem's last, shorter stretch is
   * reported when it ends. Default 100.
   */
  logInterval?: number;
  /** Seeds the learners and the problems. Default 0. */
  seed?: number;
}

/** The default of {@linkcode BanditAgentOptions.logInterval}. */
const DEFAULT_LOG_INTERVAL = 100;

/** The pulls of the current problem since its last training statistics. */
interface PullWindow {
  /** The problem's pulls so far, and those since the last statistics. */
  pull: number;
  pulls: number;
  rewardSum: number;
  /** Pulls whose step info said whether the arm was optimal, and how many of them were. */
  judged: number;
  optimal: number;
}

function emptyWindow(pull = 0): PullWindow {
  return { pull, pulls: 0, rewardSum: 0, judged: 0, optimal: 0 };
}

/** The sizes, name and (for a {@linkcode Bandit}) reward kind of the environment. */
export interface BanditEnvSpec extends EnvSpec {
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
 * A bandit algorithm as an agent on the {@linkcode Bandit} environment: a fresh learner per
 * problem (its seed drawn from the agent's stream), every problem reset with a seed of the
 * agent's own, and the problem in progress (the learner's state and the pulls so far) saved with
 * the agent, so a restored agent continues it exactly. `learn` reports every finished problem
 * through `onEpisode`, and every `logInterval` pulls the mean reward per pull and the fraction of
 * optimal pulls through `onUpdate` (a bandit has no loss).
 *
 * A bandit algorithm's policy is its learning rule, so acting outside training runs it online on
 * the problem at hand: each episode (`initialState`) starts a fresh learner, and every later
 * observation (the previous arm and its reward) updates it before it picks the next arm.
 *
 * @example
 * ```ts
 * import { Bandit, BanditAgent } from "@rnnrl/rnnrl";
 * const env = new Bandit();
 * const agent = new BanditAgent(env, { algorithm: "epsilon-greedy", epsilon: 0.1 });
 * await agent.learn(env, { steps: 300 });
 * const { action } = await agent.act(new Float32Array(env.observationSize), agent.initialState());
 * if (!(action >= 0 && action < 10)) throw new Error("one of ten arms");
 * ```
 */
export class BanditAgent extends BaseAgent<JsonObject> {
  /** The policy carries no recurrent state (what it knows is the learner's). */
  readonly recurrent: boolean = false;
  #make: (seed: number) => BanditLearner;
  #seeds: Rng; // the learners' seeds
  #learner: BanditLearner;
  #evalLearner: BanditLearner | null = null;
  #evalSeeds: Rng; // the evaluation learners' seeds, apart from training's
  #cursor: EnvCursor;
  #logInterval: number;
  #window: PullWindow = emptyWindow();

  /**
   * Builds the agent for a bandit environment.
   *
   * @throws {RangeError} For an environment other than the bandit, an unknown algorithm or an
   * option out of range.
   * @throws {TypeError} For an option the algorithm does not have.
   */
  constructor(env: BanditEnvSpec, options: BanditAgentOptions) {
    const given = { ...options } as Partial<BanditAgentOptions> & { learningRate?: number };
    const algo = given.algorithm as BanditAlgo;
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
    delete given.algorithm;
    const seed = integerSeed(given.seed ?? 0);
    delete given.seed;
    const logInterval = positiveInteger(given.logInterval ?? DEFAULT_LOG_INTERVAL, "logInterval");
    delete given.logInterval;
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
        throw unknownOption(algo, key, [...allowed, "algorithm", "logInterval", "seed"]);
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
    const make = (learnerSeed: number): BanditLearner => {
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
    const resolved = { ...make(0).save().options } as Record<string, unknown>;
    delete resolved.seed;
    super(algo, algo, {
      id: env.id,
      observationSize: env.observationSize,
      actionCount: arms,
      ...(env.kind === undefined ? {} : { kind: env.kind }),
    } as BanditEnvSpec, {
      algorithm: algo,
      ...resolved as JsonObject,
      ...(algo === "thompson" ? { likelihood } : {}),
      logInterval,
      seed,
    });
    this.#logInterval = logInterval;
    this.#make = make;
    const root = new Rng(seed);
    this.#seeds = root.fork();
    this.#cursor = new EnvCursor({ seed: root.nextUint32(), reseed: "every" });
    this.#learner = this.#make(this.#seeds.nextUint32());
    this.#evalSeeds = new Rng((seed ^ 0x2545f491) >>> 0);
  }

  /** The current problem's learner. */
  get learner(): BanditLearner {
    return this.#learner;
  }

  /** Starts a fresh learner for the problem about to be played (no recurrent state). */
  initialState(): undefined {
    this.#evalLearner = this.#make(this.#evalSeeds.nextUint32());
    return undefined;
  }

  /** Nothing to release. */
  disposeState(_state: AgentPolicyState): void {}

  /**
   * The arm the current problem's learner picks, after it has learned from the previous arm and
   * reward the observation shows (a bandit's policy is its learning rule; see the class
   * documentation).
   */
  act(
    observation: Float32Array,
    _state: AgentPolicyState,
    _options: ActOptions = {},
  ): Promise<PolicyStep<undefined>> {
    const arms = this.spec.actionCount;
    let previous = -1;
    for (let a = 0; a < arms; a++) if (observation[a] === 1) previous = a;
    if (!this.#evalLearner) this.initialState();
    if (previous >= 0) this.#evalLearner!.update(previous, observation[arms]);
    return Promise.resolve({ action: this.#evalLearner!.act(), state: undefined });
  }

  /** Pulls arms, continuing the current problem; a new problem gets a new learner. */
  protected async collect(input: TrainingEnv, until: number, session: LearnSession): Promise<void> {
    const env = singleEnv(input, this.kind);
    const arms = specOf(env).actionCount;
    if (arms !== this.spec.actionCount) {
      throw new TypeError(
        `Cannot use an environment with ${arms} arms: the ${this.kind} agent was built for ${this.spec.actionCount}`,
      );
    }
    this.#cursor.begin(env);
    while (this.stepCount < until && !session.stopped) {
      const action = this.#learner.act();
      const { result, ended } = this.#cursor.step(action);
      this.#learner.update(action, result.reward);
      this.stepCount++;
      this.updateCount++;
      const recent = this.#window;
      recent.pull++;
      recent.pulls++;
      recent.rewardSum += result.reward;
      const optimal = (result.info as { optimal?: unknown } | undefined)?.optimal;
      if (typeof optimal === "boolean") {
        recent.judged++;
        if (optimal) recent.optimal++;
      }
      if (recent.pulls === this.#logInterval || ended) {
        this.#window = emptyWindow(ended ? 0 : recent.pull);
        await session.update({
          step: this.stepCount,
          pull: recent.pull,
          reward: recent.rewardSum / recent.pulls,
          ...(recent.judged ? { optimalAction: recent.optimal / recent.judged } : {}),
        });
      }
      if (ended) {
        this.episodeCount++;
        await session.episode({ step: this.stepCount, episode: this.episodeCount, ...ended });
        this.#cursor.next();
        this.#learner = this.#make(this.#seeds.nextUint32());
      }
      await session.afterSteps();
    }
  }

  /** The learner, the pulls of the problem so far, and the seed stream. */
  protected saveState(): Promise<NamedArrays<JsonObject>> {
    const cursor = this.#cursor.getState("env.");
    return Promise.resolve({
      json: {
        seeds: this.#seeds.getState() as unknown as JsonObject,
        learner: this.#learner.save() as unknown as JsonObject,
        window: { ...this.#window },
        env: cursor.json,
      },
      arrays: cursor.arrays,
    });
  }

  /** Restores what {@linkcode BanditAgent.saveState} saved. */
  protected restoreState(state: AgentState): void {
    const j = state.json;
    const learner = restoreBanditLearner(j.learner as unknown as BanditLearnerState);
    if (
      learner.arms !== this.spec.actionCount || learner.save().kind !== this.#learner.save().kind
    ) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the learner is of another kind`);
    }
    this.#cursor.setState({ json: j.env ?? null, arrays: state.arrays }, "env.");
    this.#seeds.setState(j.seeds as unknown as RngState);
    this.#learner = learner;
    // States saved before the statistics existed start an empty window.
    this.#window = j.window ? { ...(j.window as unknown as PullWindow) } : emptyWindow();
  }
}
