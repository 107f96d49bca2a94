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
