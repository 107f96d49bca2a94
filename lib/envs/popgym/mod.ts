/**
 * POPGym's memory benchmark (Morad et al., ICLR 2023): eleven small procedurally generated games,
 * each at three levels, with rewards scaled so that a return lies in [−1, 1] (Battleship's scale
 * allows slightly less for a policy that almost never hits; see its documentation). Each game's
 * module documentation states its rule, its levels and where it departs from POPGym.
 *
 * Every environment is an {@linkcode Env} with a flat float32 observation and one discrete action:
 * POPGym's discrete observations are concatenated one-hots, and its `[row, column]` actions a
 * row-major cell index. Each takes `{ difficulty, seed, observePreviousAction }`, copies itself
 * (`clone`) and saves and restores its whole state (`getState` / `setState`). None has an action
 * mask: POPGym penalises repeated moves rather than forbidding them.
 *
 * {@linkcode POPGYM_ENVS} builds any of them by its command-line name, `<game>-<difficulty>`.
 *
 * @example
 * ```ts
 * import { POPGYM_ENVS } from "@rnnrl/rnnrl";
 * const env = POPGYM_ENVS.get("repeat-first-easy")!({ seed: 1, observePreviousAction: true });
 * const { observation } = env.reset();
 * if (observation.length !== 4 + 4) throw new Error("the suit, then the previous action");
 * ```
 *
 * @module
 */

import type { Env } from "../env.ts";
import type { PopgymDifficulty, PopgymOptions } from "./_shared.ts";
import { Autoencode } from "./autoencode.ts";
import { Battleship } from "./battleship.ts";
import { Concentration } from "./concentration.ts";
import { CountRecall } from "./count_recall.ts";
import { HigherLower } from "./higher_lower.ts";
import { PopgymMineSweeper } from "./minesweeper.ts";
import { MultiarmedBandit } from "./multiarmed_bandit.ts";
import { NoisyStatelessCartPole } from "./noisy_stateless_cartpole.ts";
import { RepeatFirst } from "./repeat_first.ts";
import { RepeatPrevious } from "./repeat_previous.ts";
import { StatelessCartPole } from "./stateless_cartpole.ts";

export {
  type NoInfo,
  POPGYM_DIFFICULTIES,
  type PopgymDifficulty,
  PopgymEnv,
  type PopgymOptions,
  type PopgymOutcome,
  type PopgymSpec,
  SavedState,
} from "./_shared.ts";
export { Autoencode, AUTOENCODE_LEVELS } from "./autoencode.ts";
export { Battleship, BATTLESHIP_LEVELS, BATTLESHIP_SHIPS } from "./battleship.ts";
export { Concentration, CONCENTRATION_LEVELS, type ConcentrationKind } from "./concentration.ts";
export { COUNT_RECALL_LEVELS, CountRecall, type CountRecallKind } from "./count_recall.ts";
export { HIGHER_LOWER_LEVELS, HigherLower } from "./higher_lower.ts";
export { POPGYM_MINESWEEPER_LEVELS, PopgymMineSweeper } from "./minesweeper.ts";
export { MULTIARMED_BANDIT_LEVELS, MultiarmedBandit } from "./multiarmed_bandit.ts";
export {
  NOISY_STATELESS_CARTPOLE_LEVELS,
  NoisyStatelessCartPole,
} from "./noisy_stateless_cartpole.ts";
export { REPEAT_FIRST_LEVELS, RepeatFirst } from "./repeat_first.ts";
export { REPEAT_PREVIOUS_LEVELS, RepeatPrevious } from "./repeat_previous.ts";
export {
  PositionOnlyCartPole,
  type PositionOnlyCartPoleSpec,
  STATELESS_CARTPOLE_LEVELS,
  StatelessCartPole,
} from "./stateless_cartpole.ts";

/** The options a registered POPGym environment takes (its difficulty is in its name). */
export type PopgymFactoryOptions = Omit<PopgymOptions, "difficulty">;

/** Builds one POPGym environment at one difficulty. */
export type PopgymFactory = (options?: PopgymFactoryOptions) => Env;

/** The games, by the command-line prefix of their names. */
export type PopgymGame =
  | "repeat-previous"
  | "repeat-first"
  | "count-recall"
  | "autoencode"
  | "stateless-cartpole"
  | "noisy-stateless-cartpole"
  | "higher-lower"
  | "multiarmed-bandit"
  | "battleship"
  | "concentration"
  | "minesweeper";

/** A registered POPGym environment's name: the game and the difficulty. */
export type PopgymEnvName = `${PopgymGame}-${PopgymDifficulty}`;

const GAMES: Readonly<Record<PopgymGame, new (options: PopgymOptions) => Env>> = {
  "repeat-previous": RepeatPrevious,
  "repeat-first": RepeatFirst,
  "count-recall": CountRecall,
  "autoencode": Autoencode,
  "stateless-cartpole": StatelessCartPole,
  "noisy-stateless-cartpole": NoisyStatelessCartPole,
  "higher-lower": HigherLower,
  "multiarmed-bandit": MultiarmedBandit,
  "battleship": Battleship,
  "concentration": Concentration,
  "minesweeper": PopgymMineSweeper,
};

/** The games, in POPGym's order. */
export const POPGYM_GAMES: readonly PopgymGame[] = Object.keys(GAMES) as PopgymGame[];

function registry(): ReadonlyMap<PopgymEnvName, PopgymFactory> {
  const envs = new Map<PopgymEnvName, PopgymFactory>();
  for (const game of POPGYM_GAMES) {
    const Game = GAMES[game];
    for (const difficulty of ["easy", "medium", "hard"] as PopgymDifficulty[]) {
      envs.set(`${game}-${difficulty}`, (options = {}) => new Game({ ...options, difficulty }));
    }
  }
  return envs;
}

/**
 * Every POPGym game at every difficulty, by its command-line name: `repeat-previous-easy`,
 * `repeat-previous-medium`, `repeat-previous-hard`, `repeat-first-…`, `count-recall-…`,
 * `autoencode-…`, `stateless-cartpole-…`, `noisy-stateless-cartpole-…`, `higher-lower-…`,
 * `multiarmed-bandit-…`, `battleship-…`, `concentration-…` and `minesweeper-…` (33 in all).
 * Each built environment's `id` is its name.
 *
 * @example
 * ```ts
 * import { POPGYM_ENVS } from "@rnnrl/rnnrl";
 * for (const [name, make] of POPGYM_ENVS) {
 *   if (make({ seed: 1 }).id !== name) throw new Error("the id is the name");
 * }
 * ```
 */
export const POPGYM_ENVS: ReadonlyMap<PopgymEnvName, PopgymFactory> = registry();

/** The registered names, as {@linkcode POPGYM_ENVS} lists them. */
export const POPGYM_ENV_NAMES: readonly PopgymEnvName[] = [...POPGYM_ENVS.keys()];
