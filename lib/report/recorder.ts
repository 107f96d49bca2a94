/**
 * Records one evaluation episode for the report's replay (`replay.json`), from the frames of an
 * environment that offers them (the `frame` capability). It watches an evaluation as an
 * {@linkcode EvaluationObserver}, so the recording comes from the very episodes being evaluated.
 *
 * @module
 */

import { type EnvCore, type StepResult, wonOf } from "../envs/env.ts";
import type { EvaluationObserver } from "../rl/evaluation.ts";
import type { CartPoleReplay, MinesweeperFrame, Replay } from "./run_data.ts";

/** What {@linkcode recordReplay} returns. */
export interface ReplayRecorder {
  /** Pass it as the evaluation's observer. */
  observer: EvaluationObserver;
  /** The recorded episode, once it has ended; undefined where the environment has no frames. */
  replay(): Replay | undefined;
}

/**
 * Records the first episode (`episode` 0) of an evaluation.
 *
 * @param seed The evaluation's seed, shown under the replay.
 *
 * @example
 * ```ts
 * import { CartPole, evaluate, randomPolicy } from "@rnnrl/rnnrl";
 * import { recordReplay } from "@rnnrl/rnnrl/report";
 * const env = new CartPole();
 * const recorder = recordReplay(3);
 * await evaluate(env, randomPolicy(env), { episodes: 2, seed: 3, observer: recorder.observer });
 * const replay = recorder.replay()!;
 * if (replay.env !== "cartpole" || replay.frames.length < 2) throw new Error("recorded");
 * ```
 */
export function recordReplay(seed: number, episode = 0): ReplayRecorder {
  let cartpole: CartPoleReplay["frames"] | null = null;
  let board: MinesweeperFrame[] | null = null;
  let size = { width: 0, height: 0 };
  let total = 0, won = false, ended = false;
  const capture = (env: EnvCore<unknown>, action: number | null) => {
    const frame = env.frame?.();
    if (!frame) return;
    if (frame.kind === "cartpole") (cartpole ??= []).push([...frame.state]);
    else {
      size = { width: frame.width, height: frame.height };
      (board ??= []).push({ board: [...frame.board], action });
    }
  };
  return {
    observer: {
      onReset(e, env) {
        if (e === episode) capture(env, null);
      },
      onStep(e, action, result: StepResult<unknown>, env) {
        if (e !== episode || ended) return;
        capture(env, action);
        total += result.reward;
        if (result.terminated || result.truncated) {
          ended = true;
          won = wonOf(result.info) === true;
        }
      },
    },
    replay(): Replay | undefined {
      if (cartpole) return { env: "cartpole", frames: cartpole, return: total, seed };
      if (board) {
        return { env: "minesweeper", ...size, frames: board, won, return: total, seed };
      }
      return undefined;
    },
  };
}
