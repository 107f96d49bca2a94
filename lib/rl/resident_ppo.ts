/**
 * PPO whose whole loop stays in the backend's memory: {@linkcode ResidentPPO}. With the WebGPU
 * backend nothing crosses to the CPU while it trains but the few logged scalars of an update,
 * read in one transfer: the environments are device environments ({@linkcode DeviceCartPole},
 * {@linkcode DevicePendulum}, {@linkcode DeviceDiscretePendulum}, {@linkcode DeviceRepeatPrevious},
 * {@linkcode DeviceCountRecall}), actions are sampled on the
 * device (`sampleRows`), and the rollout, GAE(λ), the minibatches and the updates are backend ops.
 *
 * The algorithm is {@linkcode PPO}'s, with the same options and defaults (clipped surrogate,
 * entropy bonus, optional value clipping, advantages normalised per minibatch, gradients clipped
 * by their global norm; recurrent policies learn from minibatches of whole copies replayed from
 * the state stored at the rollout's start; observations normalised by running moments kept on
 * the device; on {@linkcode DevicePendulum} a Gaussian policy over the continuous torque, its
 * noise from `gaussianNoise`). What it leaves out is what would need the CPU: KL early stopping
 * (a read per minibatch), action masks, a shared network and embeddings; asking for one is a
 * RangeError. Its draws differ from PPO's (a counter-based hash on the device instead of the
 * CPU's generator), so the two give different runs from the same seed; each repeats its own.
 *
 * @example
 * ```ts
 * import { createCpuBackend, DeviceCartPole, ResidentPPO } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend(); // or await createWebGpuBackend()
 * const envs = new DeviceCartPole(backend, 8, { seed: 1 });
 * const agent = new ResidentPPO(envs, {
 *   cell: "none",
 *   rolloutSteps: 16,
 *   epochs: 1,
 *   logInterval: 1,
 *   seed: 1,
 * });
 * const updates: number[] = [];
 * await agent.learn(envs, { steps: 256, onUpdate: (report) => void updates.push(report.updates!) });
 * if (updates.join() !== "1,2") throw new Error("an update every 128 steps, logged each time");
 * ```
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import { createCpuBackend } from "../backend/cpu.ts";
import { CartPole, type CartPoleIntegrator } from "../envs/cartpole.ts";
import { DeviceCartPole } from "../envs/device_cartpole.ts";
import { DeviceDiscretePendulum, DevicePendulum } from "../envs/device_pendulum.ts";
import { Pendulum } from "../envs/pendulum.ts";
import { DiscreteActions } from "../envs/wrappers.ts";
import { DeviceCardGame, DeviceCountRecall, DeviceRepeatPrevious } from "../envs/device_cards.ts";
import { DeviceCopies } from "../envs/device_copies.ts";
import type { EnvCore, EnvSpec } from "../envs/env.ts";
import { CountRecall } from "../envs/popgym/count_recall.ts";
import { RepeatPrevious } from "../envs/popgym/repeat_previous.ts";
import type { PopgymDifficulty } from "../envs/popgym/_shared.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import type { Optimizer } from "../nn/optimizers.ts";
import type { RecurrentState, Sequential } from "../nn/sequential.ts";
import { ActorCritic, type ActorCriticState } from "./actor_critic.ts";
import {
  type AgentPolicyState,
  BaseAgent,
  type LearnOptions,
  type LearnResult,
  type LearnSession,
} from "./agent.ts";
import type { TrainingEnv } from "./env_input.ts";
import { type EvaluationOptions, type EvaluationResult, summarize } from "./evaluation.ts";
import type { ActOptions, PolicyStep } from "./policy.ts";
import { tensorScope } from "./_scope.ts";
import {
  clippedValueLoss,
  PPO_DEFAULTS,
  type PpoOptions,
  ppoSurrogate,
  resolvePpoOptions,
  shuffled,
} from "./ppo.ts";
import { createOptimizers, NETWORK_NAMES, restoreNetworks, saveNetworks } from "./on_policy.ts";
import { learningRateAt, rampValue, setLearningRate } from "./schedules.ts";
import { type AgentArray, type AgentState, findArray, type NamedArrays } from "./state.ts";

/** The device environments {@linkcode ResidentPPO} trains on. */
export type ResidentEnv = DeviceCartPole | DevicePendulum | DeviceCardGame;

/** The fields of ResidentPPO's update reports (`onUpdate`), read back in one transfer. */
export interface ResidentUpdateStats {
  /** Environment steps so far. */
  step: number;
  /** Updates so far. */
  updates: number;
  /** Episodes that ended during this update's rollout. */
  episodes: number;
  /** Their mean return (absent when none ended). */
  meanReturn?: number;
  /** The clipped surrogate's loss, averaged over the minibatches. */
  policyLoss: number;
  /** The value loss, averaged over the minibatches. */
  valueLoss: number;
  /** The policy's mean entropy, averaged over the minibatches. */
  entropy: number;
  /** `mean(ρ − 1 − log ρ)`, averaged over the minibatches. */
  approxKl: number;
  /** The fraction of rows with `|ρ − 1| > ε`, averaged over the minibatches. */
  clipFraction: number;
}

/** Where the greedy evaluation of {@linkcode ResidentPPO.evaluate} ended. */
export interface ResidentEvaluation {
  /** Every copy's return of its first episode. */
  returns: Float32Array;
  /** Every copy's length of its first episode (`maxSteps` where it had not ended). */
  lengths: Float32Array;
  /** The mean return. */
  meanReturn: number;
}

/** The ordered statistics in the tensor an update reads back. */
const STAT_NAMES = ["policyLoss", "valueLoss", "entropy", "approxKl", "clipFraction"] as const;

/**
 * PPO with its rollouts, advantages and updates in the backend's memory (see the module
 * documentation).
 */
export class ResidentPPO extends BaseAgent<PpoOptions> {
  /** The backend of the environment and the networks. */
  readonly backend: Backend;
  /** The environment copies. */
  readonly env: ResidentEnv;
  /** The networks. */
  readonly networks: ActorCritic;
  /** Whether the policy carries recurrent state. */
  readonly recurrent: boolean;
  /** The policy network (the actor). */
  readonly actor: Sequential;
  readonly #optimizers: Optimizer[];
  readonly #samplingSeed: number;
  readonly #updateRng: Rng;
  readonly #actRng: Rng;
  readonly #truncates: boolean;
  #observations: Tensor | null = null; // [N, I]: what each copy acts on next
  #starts: Tensor | null = null; // [N]: 0 where that observation starts an episode
  #state: ActorCriticState;
  #episodeReturns: Tensor; // [N]: the running return of each copy's episode
  // `[1]` each: the sum of the returns of the episodes that ended since the last logged update,
  // and how many ended (every rollout's, not only the logged one's).
  #endedReturnSum: Tensor;
  #endedCount: Tensor;
  #vectorSteps = 0; // counter of the sampling draws
  // The observations' running mean and squared deviations (Chan's update), on the device.
  // `eye` is the identity that turns the scales into the normalization layer's diagonal kernel.
  #moments: { count: number; mean: Tensor; m2: Tensor; eye: Tensor } | null = null;

  /**
   * Builds the networks for the environment's sizes. Given device copies, it trains on them (on
   * their backend); given a scalar game (`CartPole`, `Pendulum` or Pendulum in `DiscreteActions`,
   * `RepeatPrevious`, `CountRecall`), it makes
   * `envs` device copies of it on `backend` (default: the CPU), seeded from `seed`. Given the
   * `spec` of a saved state (which describes its copies), it makes the same kind of copies: that
   * is how {@linkcode BaseAgent.load} rebuilds a saved agent.
   *
   * @throws {RangeError} For an option the resident loop does not offer (see the module
   * documentation), a game it has no device copies of, sizes without a description of the
   * copies, or any PPO option out of range.
   */
  constructor(
    env: ResidentEnv | EnvCore<unknown> | EnvSpec,
    options: Partial<PpoOptions> = {},
    backend?: Backend,
  ) {
    const root = new Rng(options.seed ?? 0);
    const actor = root.nextUint32(), critic = root.nextUint32();
    const samplingSeed = root.nextUint32(), envSeed = root.nextUint32();
    const count = options.envs ?? PPO_DEFAULTS.envs, on = backend ?? createCpuBackend();
    const device = env instanceof DeviceCopies
      ? env as ResidentEnv
      : "reset" in env
      ? deviceCopiesOf(env, on, count, envSeed)
      : copiesFromSpec(env, on, count, envSeed);
    const o = resolvePpoOptions({ ...options, envs: device.count });
    for (
      const [name, offered] of [
        ["targetKl", o.targetKl === null],
        ["sharedNetwork", !o.sharedNetwork],
        ["embedding", o.embedding === null],
      ] as const
    ) {
      if (!offered) {
        throw new RangeError(
          `Cannot use ${name} with ResidentPPO: it would need the CPU during training`,
        );
      }
    }
    super("ppo-resident", "ResidentPPO", residentSpec(device), o);
    this.env = device;
    this.backend = device.backend;
    this.recurrent = o.cell !== "none";
    // CartPole and Pendulum end episodes at a time limit; the card games when the shoe runs out.
    this.#truncates = !(device instanceof DeviceCardGame);
    this.#samplingSeed = samplingSeed;
    this.#updateRng = root.fork();
    this.#actRng = root.fork();
    this.networks = new ActorCritic(this.backend, this.spec, o, { actor, critic });
    this.actor = this.networks.actor;
    this.#optimizers = createOptimizers(this.networks.models.length, o);
    this.#state = this.networks.initialState(device.count);
    this.#episodeReturns = this.backend.zeros([device.count]);
    this.#endedReturnSum = this.backend.zeros([1]);
    this.#endedCount = this.backend.zeros([1]);
    if (o.normalizeObservations) {
      const I = this.spec.observationSize;
      this.#moments = {
        count: 0,
        mean: this.backend.zeros([I]),
        m2: this.backend.zeros([I]),
        eye: this.backend.tensor(identity(I), [I, I]),
      };
    }
  }

  /** PPO's defaults (see {@linkcode PPO_DEFAULTS}). */
  protected override optionDefaults(): object {
    return PPO_DEFAULTS;
  }

  /** The actor, for ONNX export. */
  override policyNetwork(): Sequential {
    return this.actor;
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
   * The greedy action on one observation (the largest logit), or with `deterministic: false` one
   * sampled from the policy: for evaluating on a scalar copy of the game, which reads back.
   */
  async act(
    observation: Float32Array,
    state: AgentPolicyState,
    options: ActOptions = {},
  ): Promise<PolicyStep<RecurrentState>> {
    const x = this.backend.tensor(observation, [1, 1, this.spec.observationSize]);
    const { outputs, state: next } = await this.networks.act(x, state as RecurrentState);
    this.backend.dispose(x);
    this.disposeState(state);
    const head = this.networks.head;
    // A Gaussian head samples with its log standard deviation as last read from the device.
    if (options.deterministic === false && head.kind === "gaussian") await head.refresh();
    const action = options.deterministic === false
      ? head.sampleOne(outputs, options.rng ?? this.#actRng, options.mask)
      : head.greedy(outputs, options.mask);
    return { action, state: next };
  }

  /**
   * The loop: whole rollouts of `rolloutSteps`·N steps on the device copies (the `env` given to
   * `learn` is only checked for its sizes), an update after each, and the statistics read back
   * in one transfer when an update is logged. The copies start their first episodes on the first
   * call.
   */
  protected async collect(input: TrainingEnv, until: number, session: LearnSession): Promise<void> {
    const backend = this.backend, N = this.env.count;
    if (isEnvCore(input)) this.checkEnv(input);
    if (!this.#observations) {
      this.#observations = this.env.reset();
      this.#starts = backend.zeros([N]);
    }
    while (this.stepCount < until && !session.stopped) {
      const rollout = this.#collect();
      const read = session.wantsStats(this.updateCount + 1, this.options.logInterval);
      const stats = this.#update(rollout, read);
      this.updateCount++;
      if (read) {
        const values = await backend.read(stats.packed);
        const named = Object.fromEntries(STAT_NAMES.map((name, k) => [name, values[k]]));
        const episodes = values[STAT_NAMES.length + 1];
        this.episodeCount += episodes;
        await session.update({
          step: this.stepCount,
          updates: this.updateCount,
          episodes,
          ...(episodes > 0 ? { meanReturn: values[STAT_NAMES.length] / episodes } : {}),
          loss: named.policyLoss - this.options.entropyCoef * named.entropy +
            this.options.valueCoef * named.valueLoss,
          ...named,
        });
      }
      backend.dispose(stats.packed);
      this.#observe(rollout.observations);
      rollout.dispose();
      await session.afterSteps();
    }
  }

  /**
   * Trains for `options.steps` more environment steps, in whole rollouts, on the agent's device
   * copies: `env` is those copies, or a scalar copy of the game (checked for its sizes only).
   */
  override learn(env: TrainingEnv | ResidentEnv, options: LearnOptions): Promise<LearnResult> {
    if (env instanceof DeviceCopies && env !== this.env) {
      throw new RangeError("Cannot learn on other device copies: ResidentPPO trains on its own");
    }
    return super.learn(env as TrainingEnv, options);
  }

  /**
   * The networks, optimizers and draws; once started, the copies' state, the observations they
   * act on next, their running returns and the recurrent states (a rollout boundary: nothing of
   * a rollout is in flight between `learn` calls).
   */
  protected async saveState(): Promise<NamedArrays<JsonObject>> {
    const backend = this.backend, N = this.env.count, models = this.networks.models;
    const saved = await saveNetworks(backend, this.networks, this.#optimizers);
    const arrays: AgentArray[] = [...saved.arrays];
    const started = this.#observations !== null;
    if (started) {
      const states = await this.networks.readState(this.#state);
      arrays.push(
        { name: "envState", shape: [...this.env.state.shape], data: await this.env.readState() },
        {
          name: "observations",
          shape: [N, this.spec.observationSize],
          data: await backend.read(this.#observations!),
        },
        { name: "episodeStarts", shape: [N], data: await backend.read(this.#starts!) },
        { name: "episodeReturns", shape: [N], data: await backend.read(this.#episodeReturns) },
        { name: "endedReturnSum", shape: [1], data: await backend.read(this.#endedReturnSum) },
        { name: "endedCount", shape: [1], data: await backend.read(this.#endedCount) },
        ...states.map((data, k) => ({
          name: `${NETWORK_NAMES[k]}State`,
          shape: [N, models[k].stateSize],
          data,
        })),
      );
    }
    if (this.#moments) {
      const I = this.spec.observationSize;
      arrays.push(
        { name: "observationMean", shape: [I], data: await backend.read(this.#moments.mean) },
        { name: "observationM2", shape: [I], data: await backend.read(this.#moments.m2) },
      );
    }
    const json: JsonObject = {
      ...saved.json,
      started,
      observationCount: this.#moments?.count ?? 0,
      vectorSteps: this.#vectorSteps,
      envSeed: this.env.seed,
      episodes: this.episodeCount,
      updateRng: this.#updateRng.getState() as unknown as JsonObject,
      actRng: this.#actRng.getState() as unknown as JsonObject,
    };
    return { json, arrays };
  }

  /** Restores what {@linkcode ResidentPPO.saveState} saved. */
  protected restoreState(state: AgentState): void {
    const j = state.json, backend = this.backend, N = this.env.count;
    const models = this.networks.models;
    restoreNetworks(state, this.networks, this.#optimizers);
    this.#updateRng.setState(j.updateRng as unknown as RngState);
    this.#actRng.setState(j.actRng as unknown as RngState);
    this.#vectorSteps = j.vectorSteps as number;
    if (this.#moments) {
      const I = this.spec.observationSize;
      this.#moments.count = j.observationCount as number;
      backend.write(this.#moments.mean, findArray(state, "observationMean", Float32Array, I));
      backend.write(this.#moments.m2, findArray(state, "observationM2", Float32Array, I));
    }
    this.episodeCount = j.episodes as number;
    for (const t of [this.#observations, this.#starts]) if (t) backend.dispose(t);
    this.#observations = this.#starts = null;
    backend.write(this.#episodeReturns, new Float32Array(N));
    backend.write(this.#endedReturnSum, new Float32Array(1));
    backend.write(this.#endedCount, new Float32Array(1));
    this.networks.disposeState(this.#state);
    this.#state = this.networks.initialState(N);
    this.env.seed = j.envSeed as number;
    if (!j.started) return;
    backend.write(this.env.state, findArray(state, "envState", Float32Array, this.env.state.size));
    const I = this.spec.observationSize;
    this.#observations = backend.tensor(findArray(state, "observations", Float32Array, N * I), [
      N,
      I,
    ]);
    this.#starts = backend.tensor(findArray(state, "episodeStarts", Float32Array, N), [N]);
    backend.write(this.#episodeReturns, findArray(state, "episodeReturns", Float32Array, N));
    backend.write(this.#endedReturnSum, findArray(state, "endedReturnSum", Float32Array, 1));
    backend.write(this.#endedCount, findArray(state, "endedCount", Float32Array, 1));
    this.networks.disposeState(this.#state);
    this.#state = this.networks.stateFromRows(
      models.map((m, k) =>
        findArray(state, `${NETWORK_NAMES[k]}State`, Float32Array, N * m.stateSize)
      ),
      N,
    );
  }

  /**
   * Greedy play (the largest logit) on `env`, a fresh set of copies of the same game, until
   * every copy has ended its first episode or `maxSteps` have passed; reads back once, at the
   * end. Returns each copy's first-episode return.
   */
  async evaluateOnDevice(env: ResidentEnv, maxSteps: number): Promise<ResidentEvaluation> {
    const backend = this.backend, n = env.count, I = env.observationSize;
    const t = tensorScope(backend);
    let observations = env.reset(), state = this.networks.actor.initialState(n);
    const returns = t(backend.zeros([n])), lengths = t(backend.zeros([n]));
    const alive = t(backend.addScalar(t(backend.zeros([n])), 1));
    for (let k = 0; k < maxSteps; k++) {
      const x = backend.reshape(observations, [1, n, I]);
      const { output, state: next } = this.networks.actor.forward(x, { state });
      this.networks.actor.disposeState(state);
      state = next;
      const logits = backend.reshape(output, [n, this.spec.actionCount]);
      // The greedy action: the largest logit, or the Gaussian's mean (the copies clip torques).
      const actions = this.networks.head.kind === "gaussian"
        ? backend.reshape(backend.scale(logits, 1), [n])
        : backend.argmaxRows(logits);
      const out = stepOf(env, actions);
      backend.axpyInPlace(returns, t(backend.mul(out.rewards, alive)), 1);
      backend.axpyInPlace(lengths, alive, 1);
      const done = t(backend.maximum(out.terminated, out.truncated));
      const stillAlive = backend.mul(alive, t(oneMinus(backend, done)));
      backend.copy(alive, stillAlive);
      for (const tensor of [x, output, logits, actions, observations, stillAlive]) {
        backend.dispose(tensor);
      }
      for (const tensor of [out.rewards, out.terminated, out.truncated, out.finalObservations]) {
        backend.dispose(tensor);
      }
      observations = out.observations;
    }
    backend.dispose(observations);
    this.networks.actor.disposeState(state);
    const both = t(backend.zeros([2 * n]));
    backend.copy(both, returns, 0);
    backend.copy(both, lengths, n);
    const read = await backend.read(both);
    t.dispose();
    const firstReturns = read.slice(0, n);
    return {
      returns: firstReturns,
      lengths: read.slice(n),
      meanReturn: firstReturns.reduce((a, b) => a + b, 0) / n,
    };
  }

  /**
   * Evaluates on the device where it can: `episodes` greedy episodes played at once by device
   * copies of `env` seeded from `seed` (one read-back; not the episodes the scalar game would deal
   * from the same seed). With an observer, sampled actions, or a game without device copies, it
   * plays the scalar game step by step instead, as every agent does.
   */
  override async evaluate(
    env: EnvCore<unknown>,
    options: EvaluationOptions = {},
  ): Promise<EvaluationResult> {
    if (options.observer || options.deterministic === false || !hasDeviceCopies(env)) {
      return super.evaluate(env, options);
    }
    this.checkEnv(env);
    const episodes = options.episodes ?? 100, seed = options.seed ?? 0;
    if (!(Number.isInteger(episodes) && episodes >= 1)) {
      throw new RangeError(`Cannot evaluate ${episodes} episodes: expected a positive integer`);
    }
    const copies = deviceCopiesOf(env, this.backend, episodes, seed);
    try {
      const cap = Math.min(copies.maxEpisodeSteps, options.maxEpisodeSteps ?? Infinity);
      const played = await this.evaluateOnDevice(copies, cap);
      return summarize(Array.from(played.returns), Array.from(played.lengths), seed, undefined);
    } finally {
      copies.destroy();
    }
  }

  /** Releases the agent's tensors (not the environment's). */
  dispose(): void {
    const backend = this.backend;
    const own = [this.#observations, this.#starts, this.#episodeReturns];
    for (const t of [...own, this.#endedReturnSum, this.#endedCount]) if (t) backend.dispose(t);
    if (this.#moments) {
      for (const t of [this.#moments.mean, this.#moments.m2, this.#moments.eye]) {
        backend.dispose(t);
      }
    }
    this.networks.disposeState(this.#state);
  }

  /** One rollout of `rolloutSteps` vector steps, every tensor of it in the backend. */
  #collect(): Rollout {
    const backend = this.backend, o = this.options, env = this.env;
    const N = env.count, I = env.observationSize, T = o.rolloutSteps;
    const rollout = new Rollout(backend, T, N, I, this.#state);
    const { actor, critic } = this.networks;
    for (let t = 0; t < T; t++) {
      const x = backend.reshape(this.#observations!, [1, N, I]);
      const mask = backend.reshape(this.#starts!, [1, N]);
      const a = actor.forward(x, { state: this.#state[0], mask });
      const c = critic!.forward(x, { state: this.#state[1], mask });
      this.networks.disposeState(this.#state);
      this.#state = [a.state, c.state];
      const logits = backend.reshape(a.output, [N, this.spec.actionCount]);
      const actions = this.#sample(logits);
      const logProbs = this.networks.head.logProb(logits, actions);
      const values = backend.reshape(c.output, [N]);
      const out = stepOf(env, actions);
      // The critic's value of the observation a truncated episode ended on (its state after
      // this step has seen s_t), for the bootstrap; 0 elsewhere.
      const s = tensorScope(backend);
      let finalValues: Tensor;
      if (this.#truncates) {
        const final = s(backend.reshape(out.finalObservations, [1, N, I]));
        const f = critic!.forward(final, { state: c.state });
        s(f.output);
        critic!.disposeState(f.state);
        const cut = s(backend.mul(out.truncated, s(oneMinus(backend, out.terminated))));
        finalValues = backend.mul(s(backend.reshape(f.output, [N])), cut);
      } else finalValues = backend.zeros([N]);
      rollout.record(t, {
        observations: this.#observations!,
        starts: this.#starts!,
        actions,
        logProbs,
        values,
        rewards: out.rewards,
        terminated: out.terminated,
        truncated: out.truncated,
        finalValues,
      });
      this.#trackReturns(out.rewards, out.terminated, out.truncated);
      const nextStarts = oneMinus(backend, s(backend.maximum(out.terminated, out.truncated)));
      for (const tensor of [x, mask, a.output, c.output, logits, out.finalObservations]) {
        s(tensor);
      }
      s(this.#starts!);
      s(this.#observations!);
      s.dispose();
      this.#observations = out.observations;
      this.#starts = nextStarts;
      this.stepCount += N;
    }
    // V(s_T) for the bootstrap of the rollout's last step, from the critic's current state.
    const x = backend.reshape(this.#observations!, [1, N, I]);
    const mask = backend.reshape(this.#starts!, [1, N]);
    const last = critic!.forward(x, { state: this.#state[1], mask });
    rollout.lastValues = backend.reshape(last.output, [N]);
    critic!.disposeState(last.state);
    for (const tensor of [x, mask, last.output]) backend.dispose(tensor);
    return rollout;
  }

  /**
   * Each copy's action, `[N]`, drawn on the device: from the softmax of its logits, or for a
   * Gaussian head `μ + σ·ε` with ε from `gaussianNoise`.
   */
  #sample(outputs: Tensor): Tensor {
    const backend = this.backend, N = outputs.shape[0], counter = this.#vectorSteps++;
    const head = this.networks.head, t = tensorScope(backend);
    let actions: Tensor;
    if (head.kind === "gaussian") {
      const noise = t(backend.reshape(t(backend.gaussianNoise(N, this.#samplingSeed, counter)), [
        N,
        1,
      ]));
      // σ·ε for every row as one [N, 1] × [1, 1] product: σ stays on the device, unbroadcast.
      const sigma = t(backend.reshape(t(backend.exp(head.parameters[0].value)), [1, 1]));
      const spread = t(backend.reshape(t(backend.matmul(noise, sigma)), [N]));
      actions = backend.add(t(backend.reshape(outputs, [N])), spread);
    } else {
      actions = backend.sampleRows(t(backend.softmaxRows(outputs)), this.#samplingSeed, counter);
    }
    t.dispose();
    return actions;
  }

  /** Adds the rewards to the running returns; sums and counts the returns of ended episodes. */
  #trackReturns(rewards: Tensor, terminated: Tensor, truncated: Tensor): void {
    const backend = this.backend, t = tensorScope(backend);
    backend.axpyInPlace(this.#episodeReturns, rewards, 1);
    const done = t(backend.maximum(terminated, truncated));
    const ended = t(backend.sum(t(backend.mul(this.#episodeReturns, done))));
    backend.axpyInPlace(this.#endedReturnSum, ended, 1);
    backend.axpyInPlace(this.#endedCount, t(backend.sum(done)), 1);
    backend.copy(
      this.#episodeReturns,
      t(backend.mul(this.#episodeReturns, t(oneMinus(backend, done)))),
    );
    t.dispose();
  }

  /** GAE(λ), then the epochs of minibatches; returns the statistics packed for one read. */
  #update(rollout: Rollout, read: boolean): { packed: Tensor } {
    const o = this.options, backend = this.backend;
    rollout.advantages(o.gamma, o.gaeLambda, o.rewardScale);
    const epsilon = typeof o.clipRange === "number"
      ? o.clipRange
      : Math.max(rampValue(o.clipRange, this.stepCount), 1e-8);
    const rate = learningRateAt(o.learningRate, this.stepCount);
    for (const optimizer of this.#optimizers) setLearningRate(optimizer, rate);
    const sums = STAT_NAMES.map(() => backend.zeros([1]));
    let minibatches = 0;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (const rows of this.#minibatchRows(rollout)) {
        this.#minibatch(rollout, rows, epsilon, read ? sums : null);
        minibatches++;
        this.#step();
      }
    }
    const packed = backend.zeros([STAT_NAMES.length + 2]);
    if (read) {
      sums.forEach((sum, k) => {
        const mean = backend.scale(sum, 1 / minibatches);
        backend.copy(packed, mean, k);
        backend.dispose(mean);
      });
      backend.copy(packed, this.#endedReturnSum, STAT_NAMES.length);
      backend.copy(packed, this.#endedCount, STAT_NAMES.length + 1);
      backend.write(this.#endedReturnSum, new Float32Array(1));
      backend.write(this.#endedCount, new Float32Array(1));
    }
    for (const sum of sums) backend.dispose(sum);
    return { packed };
  }

  /** Each minibatch's rollout rows (t·N + i), time-major; whole copies for a recurrent policy. */
  *#minibatchRows(
    rollout: Rollout,
  ): Generator<{ index: Int32Array; steps: number; columns: Int32Array | null }> {
    const o = this.options, N = rollout.envs, T = rollout.steps, rng = this.#updateRng;
    if (this.recurrent) {
      const order = shuffled(N, rng), n = N / o.minibatches;
      for (let m = 0; m < o.minibatches; m++) {
        const columns = order.slice(m * n, (m + 1) * n);
        const index = new Int32Array(T * n);
        for (let t = 0; t < T; t++) columns.forEach((i, j) => index[t * n + j] = t * N + i);
        yield { index, steps: T, columns };
      }
      return;
    }
    const rows = T * N, order = shuffled(rows, rng);
    for (let m = 0; m < o.minibatches; m++) {
      const from = Math.floor((m * rows) / o.minibatches);
      const to = Math.floor(((m + 1) * rows) / o.minibatches);
      yield { index: order.slice(from, to), steps: 1, columns: null };
    }
  }

  /** One minibatch's loss and gradients (left on the parameters); its statistics into `sums`. */
  #minibatch(
    rollout: Rollout,
    rows: { index: Int32Array; steps: number; columns: Int32Array | null },
    epsilon: number,
    sums: Tensor[] | null,
  ): void {
    const o = this.options, backend = this.backend, head = this.networks.head;
    const t = tensorScope(backend), R = rows.index.length, width = R / rows.steps;
    const index = t(backend.tensor(Float32Array.from(rows.index), [R, 1]));
    const take = (buffer: Tensor) => t(takeRows(backend, buffer, index));
    const x = t(
      backend.reshape(take(rollout.observations), [rows.steps, width, rollout.inputSize]),
    );
    const mask = rows.columns
      ? t(backend.reshape(take(rollout.starts), [rows.steps, width]))
      : t(backend.addScalar(t(backend.zeros([1, width])), 1));
    const actions = t(backend.reshape(take(rollout.actions), [R]));
    const oldLogProbs = t(backend.reshape(take(rollout.logProbs), [R]));
    const oldValues = t(backend.reshape(take(rollout.values), [R]));
    const returns = t(backend.reshape(take(rollout.returns), [R]));
    let advantages = t(backend.reshape(take(rollout.advantageRows), [R]));
    if (o.normalizeAdvantages) advantages = t(normalize(backend, advantages));
    let start: ActorCriticState;
    if (rows.columns) {
      const columns = t(backend.tensor(Float32Array.from(rows.columns), [rows.columns.length, 1]));
      start = rollout.startStates.map((state) =>
        state.map((layer) => layer?.map((s) => t(takeRows(backend, s, columns)))) as RecurrentState
      );
    } else start = this.networks.models.map((m) => m.initialState(width));
    let surrogate: ReturnType<typeof ppoSurrogate> | null = null;
    this.networks.replay(x, mask, start, {
      policy: (logits) => {
        surrogate = ppoSurrogate(backend, head, logits, actions, oldLogProbs, advantages, epsilon);
        const result = head.loss(logits, actions, surrogate.weights, o.entropyCoef);
        if (sums) {
          backend.axpyInPlace(sums[0], surrogate.loss, 1);
          backend.axpyInPlace(sums[2], t(this.#meanEntropy(logits)), 1);
          backend.axpyInPlace(sums[3], surrogate.approxKl, 1);
          backend.axpyInPlace(sums[4], surrogate.clipFraction, 1);
        }
        backend.dispose(result.loss);
        for (const tensor of Object.values(surrogate)) backend.dispose(tensor);
        return result.grad;
      },
      value: (values) => {
        const result = o.clipRangeValue === null
          ? backend.mseLoss(values, returns)
          : clippedValueLoss(backend, values, oldValues, returns, o.clipRangeValue);
        if (sums) backend.axpyInPlace(sums[1], result.loss, 1);
        backend.dispose(result.loss);
        const d = backend.scale(result.grad, o.valueCoef);
        backend.dispose(result.grad);
        return d;
      },
    });
    if (!rows.columns) { for (const s of start) this.networks.models[0].disposeState(s); }
    t.dispose();
  }

  /** `[1]`: the policy's mean entropy over the rows of `outputs`. */
  #meanEntropy(outputs: Tensor): Tensor {
    const head = this.networks.head, backend = this.backend;
    if (head.kind !== "gaussian") return meanEntropy(backend, outputs);
    // A Gaussian's entropy is log σ + ½ log(2πe) whatever its mean.
    return backend.addScalar(head.parameters[0].value, 0.5 + 0.5 * Math.log(2 * Math.PI));
  }

  /**
   * Adds a rollout's observations `[R, I]` to the running moments and sets the normalization
   * layers to `(x − mean) / std`, as `RunningMoments` and `ActorCritic.writeNormalization` do on
   * the host (there in float64), all in backend ops.
   */
  #observe(observations: Tensor): void {
    const moments = this.#moments;
    if (!moments) return;
    const backend = this.backend, t = tensorScope(backend);
    const [R, I] = observations.shape, total = moments.count + R;
    const batchMean = t(backend.scale(t(backend.sumRows(observations)), 1 / R));
    const centred = t(backend.sub(observations, t(spreadRows(backend, batchMean, R))));
    const batchM2 = t(backend.sumRows(t(backend.mul(centred, centred))));
    const delta = t(backend.sub(batchMean, moments.mean));
    backend.axpyInPlace(moments.mean, delta, R / total);
    backend.axpyInPlace(moments.m2, batchM2, 1);
    backend.axpyInPlace(moments.m2, t(backend.mul(delta, delta)), (moments.count * R) / total);
    moments.count = total;
    const variance = t(backend.addScalar(t(backend.scale(moments.m2, 1 / total)), 1e-8));
    const scale = t(backend.exp(t(backend.scale(t(backend.log(variance)), -0.5))));
    const shift = t(backend.scale(t(backend.mul(moments.mean, scale)), -1));
    const kernel = t(backend.mul(moments.eye, t(spreadRows(backend, scale, I))));
    for (const model of this.networks.models) {
      const [weight, bias] = model.layers[0].parameters;
      backend.copy(weight.value, kernel);
      backend.copy(bias.value, shift);
    }
    t.dispose();
  }

  /** Clips each network's gradients by their global norm and takes each optimizer's step. */
  #step(): void {
    const backend = this.backend;
    this.networks.freezeNormalization();
    const trainables = this.networks.trainables;
    for (const t of trainables) {
      const grads = t.parameters.flatMap((p) => p.grad ? [p.grad] : []);
      backend.dispose(backend.clipByGlobalNorm(grads, this.options.maxGradNorm));
    }
    trainables.forEach((t, k) => this.#optimizers[k].step(t));
  }
}

/** A rollout's tensors, `[T·N]` time-major (row t·N + i is copy i at step t). */
class Rollout {
  readonly steps: number;
  readonly envs: number;
  readonly inputSize: number;
  /** `[T·N, I]`. */
  readonly observations: Tensor;
  /** `[T·N, 1]` each. */
  readonly starts: Tensor;
  readonly actions: Tensor;
  readonly logProbs: Tensor;
  readonly values: Tensor;
  readonly returns: Tensor;
  readonly advantageRows: Tensor;
  /** Each network's state at the rollout's start (copies the rollout owns). */
  readonly startStates: ActorCriticState;
  /** `[N]`: V(s_T). */
  lastValues: Tensor | null = null;
  readonly #backend: Backend;
  // Per step, `[N]`: what GAE walks back over.
  readonly #perStep: DeviceRolloutStep[] = [];

  constructor(
    backend: Backend,
    steps: number,
    envs: number,
    inputSize: number,
    state: ActorCriticState,
  ) {
    this.#backend = backend;
    this.steps = steps;
    this.envs = envs;
    this.inputSize = inputSize;
    const rows = steps * envs;
    this.observations = backend.zeros([rows, inputSize]);
    [this.starts, this.actions, this.logProbs, this.values, this.returns, this.advantageRows] = [
      0,
      1,
      2,
      3,
      4,
      5,
    ].map(() => backend.zeros([rows, 1]));
    this.startStates = state.map((s) =>
      s.map((layer) =>
        layer?.map((tensor) => {
          const copy = backend.zeros(tensor.shape);
          backend.copy(copy, tensor);
          return copy;
        })
      ) as RecurrentState
    );
  }

  /** Stores step t (the tensors are the rollout's from now on, except `observations`, `starts`). */
  record(
    t: number,
    step: {
      observations: Tensor;
      starts: Tensor;
      actions: Tensor;
      logProbs: Tensor;
      values: Tensor;
      rewards: Tensor;
      terminated: Tensor;
      truncated: Tensor;
      finalValues: Tensor;
    },
  ): void {
    const backend = this.#backend, N = this.envs;
    backend.copy(this.observations, step.observations, t * N * this.inputSize);
    backend.copy(this.starts, step.starts, t * N);
    backend.copy(this.actions, step.actions, t * N);
    backend.copy(this.logProbs, step.logProbs, t * N);
    backend.copy(this.values, step.values, t * N);
    backend.dispose(step.actions);
    backend.dispose(step.logProbs);
    this.#perStep.push({
      rewards: step.rewards,
      terminated: step.terminated,
      truncated: step.truncated,
      values: step.values,
      finalValues: step.finalValues,
    });
  }

  /** GAE(λ) into `advantageRows` and `returns` (see {@linkcode deviceAdvantages}). */
  advantages(gamma: number, lambda: number, rewardScale: number): void {
    const backend = this.#backend, N = this.envs;
    const targets = deviceAdvantages(backend, this.#perStep, this.lastValues!, {
      gamma,
      lambda,
      rewardScale,
    });
    targets.advantages.forEach((advantage, t) => {
      backend.copy(this.advantageRows, advantage, t * N);
      backend.copy(this.returns, targets.returns[t], t * N);
      backend.dispose(advantage);
      backend.dispose(targets.returns[t]);
    });
  }

  /** Releases every tensor of the rollout. */
  dispose(): void {
    const backend = this.#backend;
    for (
      const t of [
        this.observations,
        this.starts,
        this.actions,
        this.logProbs,
        this.values,
        this.returns,
        this.advantageRows,
      ]
    ) backend.dispose(t);
    if (this.lastValues) backend.dispose(this.lastValues);
    for (const step of this.#perStep) for (const t of Object.values(step)) backend.dispose(t);
    for (const state of this.startStates) {
      for (const layer of state) layer?.forEach((t) => backend.dispose(t));
    }
  }
}

/** One step of a rollout for {@linkcode deviceAdvantages}: `[N]` tensors. */
export interface DeviceRolloutStep {
  /** The rewards (before `rewardScale`). */
  rewards: Tensor;
  /** 1 where the episode terminated. */
  terminated: Tensor;
  /** 1 where it reached its time limit. */
  truncated: Tensor;
  /** V(s_t). */
  values: Tensor;
  /** V(final observation) where the episode was truncated and not terminated, else 0. */
  finalValues: Tensor;
}

/**
 * GAE(λ) from backend ops, as `computeAdvantages` defines it on the host (there in float64, here
 * in the backend's precision): with `δ_t = r_t·scale + γ·V_next − V(s_t)`, V_next is 0 after a
 * termination, V(final observation) after a truncation, `lastValues` (V(s_T)) after the last step
 * and V(s_{t+1}) otherwise; `Â_t = δ_t + γλ·Â_{t+1}`, the chain cut where an episode ended.
 * Returns new `[N]` tensors per step, which the caller disposes: the advantages and the
 * returns `Â_t + V(s_t)`.
 */
export function deviceAdvantages(
  backend: Backend,
  steps: readonly DeviceRolloutStep[],
  lastValues: Tensor,
  options: { gamma: number; lambda: number; rewardScale: number },
): { advantages: Tensor[]; returns: Tensor[] } {
  const { gamma, lambda, rewardScale } = options, T = steps.length;
  const advantages: Tensor[] = new Array(T), returns: Tensor[] = new Array(T);
  for (let t = T - 1; t >= 0; t--) {
    const s = tensorScope(backend), step = steps[t];
    const going = s(oneMinus(backend, s(backend.maximum(step.terminated, step.truncated))));
    const following = t === T - 1 ? lastValues : steps[t + 1].values;
    const nextValue = s(backend.add(s(backend.mul(going, following)), step.finalValues));
    const reward = s(backend.scale(step.rewards, rewardScale));
    const delta = s(
      backend.sub(s(backend.add(reward, s(backend.scale(nextValue, gamma)))), step.values),
    );
    advantages[t] = t === T - 1 ? backend.add(delta, s(backend.zeros(delta.shape))) : backend.add(
      delta,
      s(backend.scale(s(backend.mul(going, advantages[t + 1])), gamma * lambda)),
    );
    returns[t] = backend.add(advantages[t], step.values);
    s.dispose();
  }
  return { advantages, returns };
}

/** A step of either kind of device environment, with the rewards and truncations it lacks. */
function stepOf(env: ResidentEnv, actions: Tensor) {
  const backend = env.backend, N = env.count;
  const out = env.step(actions) as unknown as Partial<Record<string, Tensor>>;
  return {
    observations: out.observations!,
    rewards: out.rewards ?? oneMinus(backend, backend.zeros([N]), true), // CartPole: 1 per step
    terminated: out.terminated ?? backend.zeros([N]), // Pendulum only truncates
    truncated: out.truncated ?? backend.zeros([N]), // the card games end only by the shoe
    finalObservations: out.finalObservations!,
  };
}

/** `1 − x` elementwise (`x` disposed too with `consume`). */
function oneMinus(backend: Backend, x: Tensor, consume = false): Tensor {
  const negated = backend.scale(x, -1);
  const out = backend.addScalar(negated, 1);
  backend.dispose(negated);
  if (consume) backend.dispose(x);
  return out;
}

/** Rows `index` (`[n, 1]`, whole numbers) of `table` (`[R, C]`, or `[R]`), as `[n, C]`. */
function takeRows(backend: Backend, table: Tensor, index: Tensor): Tensor {
  // The embedding lookup is exactly a row gather: id column 0 → its table row.
  const matrix = table.shape.length === 2 ? table : backend.reshape(table, [table.size, 1]);
  const rows = backend.embeddingForward(index, matrix, 1);
  if (matrix !== table) backend.dispose(matrix);
  return rows;
}

/** `[rows, C]`: the row `[C]` repeated `rows` times (a matrix multiply by a column of ones). */
function spreadRows(backend: Backend, row: Tensor, rows: number): Tensor {
  const t = tensorScope(backend), C = row.size;
  const ones = t(backend.addScalar(t(backend.zeros([rows, 1])), 1));
  const out = backend.matmul(ones, t(backend.reshape(row, [1, C])));
  t.dispose();
  return out;
}

/** The `n × n` identity, row-major. */
function identity(n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** `(a − mean) / (std + 1e-8)`, as `normalizeAdvantages` on the host. */
function normalize(backend: Backend, a: Tensor): Tensor {
  const t = tensorScope(backend), n = a.size;
  const spread = (scalar: Tensor) => t(backend.reshape(t(spreadRows(backend, scalar, n)), [n]));
  const mean = t(backend.scale(t(backend.sum(a)), 1 / n));
  const centred = t(backend.sub(a, spread(mean)));
  const variance = t(backend.scale(t(backend.sum(t(backend.mul(centred, centred)))), 1 / n));
  const std = t(
    backend.addScalar(t(backend.exp(t(backend.scale(t(backend.log(variance)), 0.5)))), 1e-8),
  );
  const out = backend.div(centred, spread(std));
  t.dispose();
  return out;
}

/** `[1]`: the mean entropy of the softmax of each row of `logits`. */
function meanEntropy(backend: Backend, logits: Tensor): Tensor {
  const t = tensorScope(backend);
  const p = t(backend.softmaxRows(logits)), logP = t(backend.logSoftmaxRows(logits));
  // 0·log 0 is taken as 0 (a −Infinity log-probability has probability 0).
  const terms = t(backend.where(p, t(backend.mul(p, logP)), t(backend.zeros(p.shape))));
  const out = backend.scale(t(backend.sum(terms)), -1 / logits.shape[0]);
  t.dispose();
  return out;
}

/** Whether a training input is a single scalar environment. */
function isEnvCore(input: TrainingEnv | ResidentEnv): input is EnvCore<unknown> {
  return !Array.isArray(input) && "reset" in input && !(input instanceof DeviceCopies);
}

/**
 * What a saved state says of its copies, so that {@linkcode BaseAgent.load} can make the same
 * kind again: the game and its options (the count and the seed are the agent's).
 */
export type ResidentCopies =
  | {
    game: "cartpole";
    maskVelocity: boolean;
    integrator: CartPoleIntegrator;
    maxEpisodeSteps: number;
  }
  | { game: "pendulum"; maskVelocity: boolean; maxEpisodeSteps: number; torques: number[] | null }
  | { game: "repeat-previous" | "count-recall"; difficulty: PopgymDifficulty };

/** The description of `device` that {@linkcode copiesFromSpec} turns back into copies. */
function describeCopies(device: ResidentEnv): ResidentCopies {
  if (device instanceof DeviceCartPole) {
    const { maskVelocity, integrator, maxEpisodeSteps } = device;
    return { game: "cartpole", maskVelocity, integrator, maxEpisodeSteps };
  }
  if (device instanceof DevicePendulum) {
    const torques = device instanceof DeviceDiscretePendulum ? Array.from(device.torques) : null;
    const { maskVelocity, maxEpisodeSteps } = device;
    return { game: "pendulum", maskVelocity, maxEpisodeSteps, torques };
  }
  const game = device instanceof DeviceRepeatPrevious ? "repeat-previous" : "count-recall";
  return { game, difficulty: device.difficulty };
}

/** `count` copies of the game a saved state's spec describes (see {@linkcode ResidentCopies}). */
function copiesFromSpec(spec: EnvSpec, backend: Backend, count: number, seed: number): ResidentEnv {
  const copies = (spec as EnvSpec & { copies?: ResidentCopies }).copies;
  if (!copies) {
    throw new RangeError(
      "Cannot build ResidentPPO from sizes alone: give it the game or its device copies",
    );
  }
  return makeCopies(copies, backend, count, seed);
}

/** `count` device copies as `copies` describes them, keyed by `seed`. */
function makeCopies(
  copies: ResidentCopies,
  backend: Backend,
  count: number,
  seed: number,
): ResidentEnv {
  switch (copies.game) {
    case "cartpole": {
      const { maskVelocity, integrator, maxEpisodeSteps } = copies;
      return new DeviceCartPole(backend, count, {
        maskVelocity,
        integrator,
        maxEpisodeSteps,
        seed,
      });
    }
    case "pendulum": {
      const { maskVelocity, maxEpisodeSteps, torques } = copies;
      return torques
        ? new DeviceDiscretePendulum(backend, count, {
          maskVelocity,
          maxEpisodeSteps,
          torques,
          seed,
        })
        : new DevicePendulum(backend, count, { maskVelocity, maxEpisodeSteps, seed });
    }
    case "repeat-previous":
      return new DeviceRepeatPrevious(backend, count, { difficulty: copies.difficulty, seed });
    case "count-recall":
      return new DeviceCountRecall(backend, count, { difficulty: copies.difficulty, seed });
  }
}

/**
 * What the networks are built for — the copies' observation size and their actions — and the
 * description of the copies that a saved state keeps.
 */
function residentSpec(device: ResidentEnv): EnvSpec & { copies: ResidentCopies } {
  const copies = describeCopies(device);
  if (device instanceof DevicePendulum && !(device instanceof DeviceDiscretePendulum)) {
    // The continuous torque: a Gaussian head over [low, high].
    return {
      observationSize: device.observationSize,
      actionCount: 1,
      actionBounds: [device.actionLow, device.actionHigh],
      copies,
    };
  }
  const { observationSize, actionCount } = device as DeviceCartPole | DeviceDiscretePendulum;
  return { observationSize, actionCount, copies };
}

/** Whether `env` is Pendulum acting from a discrete set of torques. */
function isDiscretePendulum(env: EnvCore<unknown>): env is DiscreteActions {
  return env instanceof DiscreteActions && env.env instanceof Pendulum;
}

/**
 * The description of the device copies a scalar game has (see {@linkcode ResidentCopies}), or
 * null where it has none; a POPGym game that observes its previous action has none either.
 */
function gameCopies(env: EnvCore<unknown>): ResidentCopies | null {
  if (env instanceof CartPole) {
    const { maskVelocity, integrator, maxEpisodeSteps } = env;
    return { game: "cartpole", maskVelocity, integrator, maxEpisodeSteps };
  }
  if (env instanceof Pendulum) {
    const { maskVelocity, maxEpisodeSteps } = env;
    return { game: "pendulum", maskVelocity, maxEpisodeSteps, torques: null };
  }
  if (isDiscretePendulum(env)) {
    const { maskVelocity, maxEpisodeSteps } = env.env as Pendulum;
    return { game: "pendulum", maskVelocity, maxEpisodeSteps, torques: Array.from(env.values) };
  }
  if ((env instanceof RepeatPrevious || env instanceof CountRecall) && !env.observePreviousAction) {
    const game = env instanceof RepeatPrevious ? "repeat-previous" : "count-recall";
    return { game, difficulty: env.difficulty };
  }
  return null;
}

/** Whether {@linkcode deviceCopiesOf} makes device copies of `env`. */
function hasDeviceCopies(env: EnvCore<unknown>): boolean {
  return gameCopies(env) !== null;
}

/**
 * `count` device copies of a scalar game, on `backend`: CartPole (masked or not, with its
 * integrator and time limit), Pendulum with its continuous torque or discrete ones
 * (`DiscreteActions`: the same torques; masking and time limit either way), RepeatPrevious and
 * CountRecall (their level; the previous action is not observed on the device).
 *
 * @throws {RangeError} For any other environment, or a POPGym game that observes its previous
 * action.
 */
export function deviceCopiesOf(
  env: EnvCore<unknown>,
  backend: Backend,
  count: number,
  seed: number,
): ResidentEnv {
  const copies = gameCopies(env);
  if (copies) return makeCopies(copies, backend, count, seed);
  const id = (env as { id?: string }).id ?? "this environment";
  if ((env instanceof RepeatPrevious || env instanceof CountRecall) && env.observePreviousAction) {
    throw new RangeError(
      `Cannot make device copies of ${id} that observe the previous action: the device games ` +
        "do not show it",
    );
  }
  throw new RangeError(
    `Cannot make device copies of ${id}: ResidentPPO trains on CartPole and Pendulum (masked or ` +
      "not, Pendulum's torque continuous or discrete), RepeatPrevious and CountRecall",
  );
}
