/**
 * Fake run directories for the report tests: seeded, plausible metrics, an eval.json and a
 * replay.json made by simulating the games (CartPole's equations with a simple controller, and
 * a Minesweeper board revealed by a player that clicks random cells, mostly safe ones).
 *
 * @module
 */

import { Rng } from "../../lib/io/rng.ts";

/** Options of {@linkcode makeRunDir}. */
export interface FakeRunOptions {
  /** The game. */
  env: "cartpole" | "minesweeper";
  /** The seed of everything random. */
  seed: number;
  /** Training episodes to log. */
  episodes: number;
  /** A train record every this many environment steps (default 50). */
  trainEvery?: number;
  /** Extra fields for config.json. */
  config?: Record<string, unknown>;
  /** Leave out eval.json and replay.json. */
  bare?: boolean;
}

/** Simulates Gymnasium's CartPole (Euler) with a proportional controller; returns the states. */
export function cartPoleFrames(rng: Rng, maxSteps: number): [number, number, number, number][] {
  let s: [number, number, number, number] = [0, 0, 0, 0].map(() => rng.uniformIn(-0.05, 0.05)) as [
    number,
    number,
    number,
    number,
  ];
  const frames = [s];
  for (let t = 0; t < maxSteps; t++) {
    const [x, xDot, theta, thetaDot] = s;
    const push = theta + 0.3 * thetaDot + 0.01 * x + 0.05 * xDot + rng.normal(0, 0.02) > 0;
    const force = push ? 10 : -10;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const temp = (force + 0.05 * thetaDot ** 2 * sin) / 1.1;
    const thetaAcc = (9.8 * sin - cos * temp) / (0.5 * (4 / 3 - (0.1 * cos ** 2) / 1.1));
    const xAcc = temp - (0.05 * thetaAcc * cos) / 1.1;
    s = [x + 0.02 * xDot, xDot + 0.02 * xAcc, theta + 0.02 * thetaDot, thetaDot + 0.02 * thetaAcc];
    frames.push(s);
    if (Math.abs(s[0]) > 2.4 || Math.abs(s[2]) > (12 * 2 * Math.PI) / 360) break;
  }
  return frames;
}

/** Plays one Minesweeper game with mostly safe random clicks; returns the frames. */
export function minesweeperFrames(
  rng: Rng,
  width: number,
  height: number,
  mines: number,
): { frames: { board: number[]; action: number | null }[]; won: boolean } {
  const n = width * height;
  const mine = new Array<boolean>(n).fill(false);
  for (const i of rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, mines)) {
    mine[i] = true;
  }
  const neighbours = (i: number) => {
    const out: number[] = [];
    const r = Math.floor(i / width);
    const c = i % width;
    for (let dr = -1; dr <= 1; dr++) {
      for (let dc = -1; dc <= 1; dc++) {
        const rr = r + dr;
        const cc = c + dc;
        if ((dr || dc) && rr >= 0 && rr < height && cc >= 0 && cc < width) {
          out.push(rr * width + cc);
        }
      }
    }
    return out;
  };
  const count = (i: number) => neighbours(i).filter((j) => mine[j]).length;
  const board = new Array<number>(n).fill(-1);
  const frames: { board: number[]; action: number | null }[] = [{
    board: [...board],
    action: null,
  }];
  while (true) {
    const hidden = board.flatMap((v, i) => (v === -1 ? [i] : []));
    if (hidden.length === mines) return { frames, won: true };
    // A fair player: it steps on a mine only 5% of the time it could.
    const safe = hidden.filter((i) => !mine[i]);
    const pool = rng.uniform() < 0.05 ? hidden : safe;
    const action = pool[rng.int(pool.length)];
    if (mine[action]) {
      mine.forEach((m, i) => m && (board[i] = 9));
      frames.push({ board: [...board], action });
      return { frames, won: false };
    }
    const stack = [action];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (board[i] !== -1) continue;
      board[i] = count(i);
      if (board[i] === 0) stack.push(...neighbours(i).filter((j) => board[j] === -1));
    }
    frames.push({ board: [...board], action });
  }
}

/**
 * Writes a fake run directory: config.json, metrics.jsonl and (unless `bare`) eval.json and
 * replay.json.
 *
 * @param dir An existing, empty directory.
 * @param options The game, seed and size.
 */
export async function makeRunDir(dir: string, options: FakeRunOptions): Promise<void> {
  const rng = new Rng(options.seed);
  const trainEvery = options.trainEvery ?? 50;
  const config = {
    env: options.env,
    algo: "dqn",
    seed: options.seed,
    steps: 0,
    backend: "cpu",
    adapter: null,
    versions: { rnnrl: "0.1.0", deno: "2.9.6" },
    ...options.config,
  };
  const lines: string[] = [];
  let step = 0;
  let nextTrain = trainEvery;
  for (let e = 1; e <= options.episodes; e++) {
    const progress = e / options.episodes;
    let length: number;
    let ret: number;
    const record: Record<string, unknown> = { kind: "episode" };
    if (options.env === "cartpole") {
      const midpoint = 0.3 + 0.1 * (options.seed % 4);
      const level = 20 + 480 / (1 + Math.exp(-10 * (progress - midpoint)));
      length = Math.max(8, Math.min(500, Math.round(level * (0.6 + 0.6 * rng.uniform()))));
      ret = length;
    } else {
      length = 1 + rng.int(20);
      const won = rng.uniform() < 0.1 + 0.6 * progress;
      ret = won ? 1 : -1;
      record.won = won;
    }
    step += length;
    while (nextTrain <= step) {
      const epsilon = Math.max(0.05, 1 - nextTrain / (step / progress) / 0.5);
      lines.push(JSON.stringify({
        kind: "train",
        step: nextTrain,
        loss: Math.abs(rng.normal(0.5 * (1 - progress) + 0.05, 0.1)),
        epsilon,
        qMean: 10 * progress + rng.normal(0, 0.5),
        qMax: 12 * progress + Math.abs(rng.normal(0, 1)),
        update: nextTrain / trainEvery,
      }));
      nextTrain += trainEvery;
    }
    lines.push(JSON.stringify({ ...record, step, episode: e, return: ret, length }));
    if (e % Math.max(1, Math.floor(options.episodes / 5)) === 0) {
      const evalRecord: Record<string, unknown> = {
        kind: "eval",
        step,
        meanReturn: options.env === "cartpole" ? Math.min(500, 600 * progress) : 2 * progress - 1,
      };
      if (options.env === "minesweeper") evalRecord.winRate = progress * 0.7;
      lines.push(JSON.stringify(evalRecord));
    }
  }
  lines.push(JSON.stringify({ kind: "train", step, loss: 0.05, epsilon: 0.05, time: 12.5 }));
  config.steps = step;
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
  await Deno.writeTextFile(`${dir}/metrics.jsonl`, lines.join("\n") + "\n");
  if (options.bare) return;
  const returns = Array.from(
    { length: 20 },
    () => options.env === "cartpole" ? 400 + rng.int(101) : (rng.uniform() < 0.6 ? 1 : -1),
  );
  const meanReturn = returns.reduce((s, r) => s + r, 0) / returns.length;
  const stdReturn = Math.sqrt(
    returns.reduce((s, r) => s + (r - meanReturn) ** 2, 0) / returns.length,
  );
  const evalJson: Record<string, unknown> = {
    episodes: returns.length,
    meanReturn,
    stdReturn,
    seed: 1000 + options.seed,
    returns,
  };
  if (options.env === "minesweeper") {
    evalJson.winRate = returns.filter((r) => r > 0).length / returns.length;
  }
  await Deno.writeTextFile(`${dir}/eval.json`, JSON.stringify(evalJson));
  const replay = options.env === "cartpole"
    ? { env: "cartpole", frames: cartPoleFrames(rng, 500), seed: 7 }
    : { env: "minesweeper", width: 9, height: 9, ...minesweeperFrames(rng, 9, 9, 10) };
  await Deno.writeTextFile(`${dir}/replay.json`, JSON.stringify(replay));
}
