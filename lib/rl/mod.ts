/**
 * Agents and the training loop: bandit algorithms and the testbed, tabular Q-learning and SARSA,
 * the deep RL agents (DQN, DRQN, REINFORCE, A2C) with their replay buffers and schedules,
 * greedy evaluation, presets and the trainer behind `deno task train`.
 *
 * @module
 */

export * from "./bandit_agents.ts";
export * from "./bandit_testbed.ts";
export * from "./discretize.ts";
export * from "./q_learning.ts";
export * from "./schedules.ts";
export * from "./evaluation.ts";
export * from "./agent.ts";
export * from "./replay.ts";
export * from "./dqn.ts";
export * from "./tabular_agent.ts";
export * from "./bandit_agent.ts";
export * from "./presets.ts";
export * from "./trainer.ts";
export * from "./policy_gradient.ts";
export * from "./sequence_replay.ts";
export * from "./drqn.ts";
