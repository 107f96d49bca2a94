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

export * from "./policy.ts";
export * from "./evaluation.ts";
export * from "./state.ts";
export * from "./agent.ts";
export * from "./env_cursor.ts";
export * from "./env_input.ts";
export * from "./schedules.ts";
export * from "./replay.ts";
export * from "./sequence_replay.ts";
export * from "./rollout_buffer.ts";
export * from "./q_network.ts";
export * from "./boltzmann.ts";
export * from "./off_policy.ts";
export * from "./dqn.ts";
export * from "./drqn.ts";
export * from "./actor_critic.ts";
export * from "./policy_heads.ts";
export * from "./on_policy.ts";
export * from "./a2c.ts";
export * from "./reinforce.ts";
export * from "./ppo.ts";
export * from "./discretize.ts";
export * from "./q_learning.ts";
export * from "./bandits.ts";
export * from "./bandit_agent.ts";
export * from "./bandit_testbed.ts";
export * from "./baselines.ts";
