/**
 * Environments: CartPole (scalar and batched), the k-armed bandit, Minesweeper (classic and
 * memory), Pendulum with action discretisation, a simulated recommender, the MNIST contextual
 * bandit, and vector environments.
 *
 * @module
 */

export {
  actionMaskOf,
  canSnapshot,
  type ContinuousEnv,
  type Env,
  type EnvCore,
  type EnvFrame,
  type EnvSpec,
  isContinuous,
  regretOf,
  type ResetOptions,
  type ResetResult,
  specOf,
  type StepResult,
  type WinInfo,
  wonOf,
} from "./env.ts";
export {
  BatchedCartPole,
  type BatchedCartPoleStep,
  CartPole,
  CARTPOLE_CONSTANTS,
  type CartPoleInfo,
  type CartPoleIntegrator,
  type CartPoleOptions,
  type CartPoleState,
} from "./cartpole.ts";
export { DeviceCopies, type ObserveCopy } from "./device_copies.ts";
export { DeviceCartPole, type DeviceCartPoleOptions } from "./device_cartpole.ts";
export {
  DeviceDiscretePendulum,
  type DeviceDiscretePendulumOptions,
  DevicePendulum,
  type DevicePendulumOptions,
} from "./device_pendulum.ts";
export {
  DeviceCardGame,
  type DeviceCardGameOptions,
  DeviceCountRecall,
  DeviceRepeatPrevious,
} from "./device_cards.ts";
export { Bandit, type BanditInfo, type BanditOptions, type BanditRewardKind } from "./bandit.ts";
export {
  Minesweeper,
  MINESWEEPER_MEMORY_BOARDS,
  MINESWEEPER_REWARDS,
  type MinesweeperEncoding,
  type MinesweeperInfo,
  MinesweeperMemory,
  type MinesweeperMemoryDifficulty,
  type MinesweeperMemoryOptions,
  type MinesweeperOptions,
  type MinesweeperRewards,
} from "./minesweeper.ts";
export { MinesweeperSolver, type MinesweeperSolverOptions } from "./minesweeper_solver.ts";
export {
  Pendulum,
  PENDULUM_CONSTANTS,
  type PendulumInfo,
  type PendulumOptions,
} from "./pendulum.ts";
export {
  Recommender,
  RECOMMENDER_MODEL,
  type RecommenderCatalogue,
  type RecommenderInfo,
  type RecommenderModel,
  type RecommenderOptions,
} from "./recommender.ts";
export { MnistBandit, type MnistBanditInfo, type MnistBanditOptions } from "./mnist_bandit.ts";
export {
  loadedMnistDigits,
  MNIST_PIXELS,
  type MnistDigits,
  setLoadedMnistDigits,
} from "./mnist_data.ts";
export { DiscreteActions, type DiscreteActionsOptions } from "./wrappers.ts";
export { VectorEnv, type VectorResetResult, type VectorStepResult } from "./vector.ts";
export * from "./popgym/mod.ts";
