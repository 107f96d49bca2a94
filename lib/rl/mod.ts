/**
 * Agents and what they share. The chassis: the {@linkcode Agent} contract and
 * {@linkcode BaseAgent} (options, counters, the saved state and its checks), the one
 * {@linkcode Policy} interface and the one evaluator ({@linkcode evaluate}), the off-policy loop
 * ({@linkcode OffPolicyAgent}: DQN, DRQN) with the replay buffers, and the on-policy loop
 * ({@linkcode OnPolicyAgent}: A2C, REINFORCE, PPO) with the rollout buffer. Beside them: tabular
 * Q-learning and SARSA, the bandit algorithms and their testbed, schedules, and the baseline
 * policies.
 *
 * @module
 */

export { type ActOptions, type Policy, type PolicyStep } from "./policy.ts";
export {
  evaluate,
  type EvaluationObserver,
  type EvaluationOptions,
  type EvaluationResult,
} from "./evaluation.ts";
export { type AgentArray, type AgentState, type NamedArrays } from "./state.ts";
export {
  type Agent,
  type AgentClass,
  type AgentPolicyState,
  BaseAgent,
  type CallbackResult,
  type EpisodeReport,
  type EvaluationReport,
  type LearnOptions,
  type LearnResult,
  LearnSession,
  type PeriodicEvaluation,
  type TrainReport,
} from "./agent.ts";
export {
  type CursorStep,
  EnvCursor,
  type EnvCursorOptions,
  type ReseedRule,
} from "./env_cursor.ts";
export { type TrainingEnv } from "./env_input.ts";
export { type LinearRamp } from "./schedules.ts";
export {
  type ReplayBatch,
  ReplayBuffer,
  type ReplayBufferOptions,
  type Transition,
} from "./replay.ts";
export {
  type SequenceBatch,
  SequenceReplay,
  type SequenceReplayJson,
  type SequenceReplayOptions,
  type SequenceStep,
} from "./sequence_replay.ts";
export { RolloutBuffer, type RolloutData, type RolloutTargets } from "./rollout_buffer.ts";
export { QNetwork } from "./q_network.ts";
export { OffPolicyAgent, type QLearningOptions, type QUpdateStats } from "./off_policy.ts";
export { DQN, DQN_DEFAULTS, type DqnConvolution, type DqnOptions } from "./dqn.ts";
export { DRQN, DRQN_DEFAULTS, type DrqnOptions } from "./drqn.ts";
export {
  ActorCritic,
  type ActorCriticShape,
  type ActorCriticState,
  type EmbeddingShape,
  POLICY_CELLS,
  type PolicyCell,
  type ReplayLoss,
  RunningMoments,
} from "./actor_critic.ts";
export { CategoricalHead, GaussianHead, type HeadLoss, type PolicyHead } from "./policy_heads.ts";
export {
  ON_POLICY_DEFAULTS,
  OnPolicyAgent,
  type OnPolicyOptions,
  type OnPolicyStats,
  RolloutSlice,
} from "./on_policy.ts";
export { A2C, A2C_DEFAULTS, type A2cOptions } from "./a2c.ts";
export { REINFORCE, REINFORCE_DEFAULTS, type ReinforceOptions } from "./reinforce.ts";
export { PPO, PPO_DEFAULTS, type PpoOptions } from "./ppo.ts";
export {
  deviceAdvantages,
  deviceCopiesOf,
  type DeviceRolloutStep,
  type ResidentCopies,
  type ResidentEnv,
  type ResidentEvaluation,
  ResidentPPO,
  type ResidentUpdateStats,
} from "./resident_ppo.ts";
export {
  cartPoleDiscretizer,
  type CartPoleDiscretizerOptions,
  Discretizer,
  type DiscretizerOptions,
  type StateEncoder,
} from "./discretize.ts";
export {
  TABULAR_DEFAULTS,
  TabularAgent,
  type TabularAgentOptions,
  type TabularAlgorithm,
  TabularQ,
  type TabularQOptions,
} from "./q_learning.ts";
export {
  type BanditLearner,
  type BanditLearnerState,
  BetaThompson,
  type BetaThompsonOptions,
  type BetaThompsonState,
  EpsilonGreedy,
  type EpsilonGreedyOptions,
  type EpsilonGreedyState,
  GaussianThompson,
  type GaussianThompsonOptions,
  type GaussianThompsonState,
  GradientBandit,
  type GradientBanditOptions,
  type GradientBanditState,
  restoreBanditLearner,
  Ucb,
  type UcbOptions,
  type UcbState,
} from "./bandits.ts";
export {
  BANDIT_ALGOS,
  BanditAgent,
  type BanditAgentOptions,
  type BanditAlgo,
  type BanditEnvSpec,
} from "./bandit_agent.ts";
export {
  defaultTestbedMethods,
  runTestbed,
  type TestbedCurve,
  type TestbedJson,
  type TestbedMethod,
  type TestbedOptions,
  type TestbedResult,
  testbedToJson,
} from "./bandit_testbed.ts";
export {
  type BaselinePolicyOptions,
  myopicPolicy,
  popularPolicy,
  randomPolicy,
  solverPolicy,
} from "./baselines.ts";
export {
  BOLTZMANN_DEFAULTS,
  type BoltzmannOptions,
  type Exploration,
  EXPLORATIONS,
} from "./boltzmann.ts";
