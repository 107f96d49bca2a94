/**
 * Environment throughput. In group `cartpole_step` each iteration steps every environment a bench
 * holds once, so steps per second = N / (time per iteration); actions are random and drawn up
 * front. Group `minesweeper_game` times one Beginner game (9×9, 10 mines) played by the solver.
 *
 * Group `device_cartpole_step N=…` steps {@linkcode DeviceCartPole} on the CPU backend and on
 * WebGPU (whatever adapter exists: on a machine without a GPU that is a software rasterizer, so
 * its figures are not GPU speed). "resident" waits for the step to finish but reads nothing
 * back; "read back" also reads the dones, as a loop that acts on the CPU must every step.
 * Group `device_pendulum_step N=…` does the same for {@linkcode DevicePendulum} (random torques),
 * and group `device_card_step N=…` for {@linkcode DeviceRepeatPrevious} and
 * {@linkcode DeviceCountRecall} (both medium) with random answers, beside a {@linkcode VectorEnv}
 * of scalar RepeatPrevious games at N = 1024: the ordinary loop.
 *
 *     deno bench --allow-read --allow-env bench/envs_bench.ts
 */

import type { Backend } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { BatchedCartPole, CartPole } from "../lib/envs/cartpole.ts";
import { DeviceCartPole } from "../lib/envs/device_cartpole.ts";
import { DevicePendulum } from "../lib/envs/device_pendulum.ts";
import { DeviceCountRecall, DeviceRepeatPrevious } from "../lib/envs/device_cards.ts";
import { RepeatPrevious } from "../lib/envs/popgym/repeat_previous.ts";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { MinesweeperSolver } from "../lib/envs/minesweeper_solver.ts";
import { VectorEnv } from "../lib/envs/vector.ts";
import { Rng } from "../lib/io/rng.ts";

/** A cyclic table of random actions (64 rounds of N), so the benches time only the environments. */
function randomActions(count: number, seed: number): Uint8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: 64 }, () => Uint8Array.from({ length: count }, () => rng.int(2)));
}

{
  const env = new CartPole({ seed: 1 });
  env.reset();
  const actions = randomActions(1024, 2)[0];
  let t = 0;
  Deno.bench("rnnrl CartPole", { group: "cartpole_step", baseline: true }, () => {
    const { terminated, truncated } = env.step(actions[t++ & 1023]);
    if (terminated || truncated) env.reset();
  });
}

{
  const n = 1024;
  const envs = new VectorEnv(Array.from({ length: n }, () => new CartPole()));
  envs.reset({ seed: 1 });
  const actions = randomActions(n, 2);
  let t = 0;
  Deno.bench(`rnnrl VectorEnv(CartPole) N=${n}`, { group: "cartpole_step" }, () => {
    envs.step(actions[t++ & 63]);
  });
}

for (const n of [64, 1024, 16384]) {
  const envs = new BatchedCartPole(n, { seed: 1 });
  envs.reset();
  const actions = randomActions(n, 2);
  let t = 0;
  Deno.bench(`rnnrl BatchedCartPole N=${n}`, { group: "cartpole_step" }, () => {
    envs.step(actions[t++ & 63]);
  });
}

{
  const env = new Minesweeper({ seed: 1 });
  const solver = new MinesweeperSolver({ seed: 1 });
  Deno.bench("rnnrl MinesweeperSolver 9x9/10", { group: "minesweeper_game" }, () => {
    env.reset();
    solver.reset();
    while (!env.step(solver.act(env.visible)).terminated);
  });
}

const gpu = (await navigator.gpu?.requestAdapter()) ? await createWebGpuBackend() : undefined;
// A device still alive when the process exits can crash Mesa's teardown.
globalThis.addEventListener("unload", () => gpu?.destroy());
const backends: [string, Backend][] = [["cpu", createCpuBackend()]];
if (gpu) backends.push(["webgpu", gpu]);
for (const n of [1024, 16384, 262144]) {
  for (const [name, backend] of backends) {
    const envs = new DeviceCartPole(backend, n, { seed: 1 });
    backend.dispose(envs.reset());
    const actions = backend.tensor(randomActions(n, 2)[0], [n]);
    for (const readBack of [false, true]) {
      Deno.bench(
        `rnnrl DeviceCartPole ${name} ${readBack ? "read back" : "resident"}`,
        { group: `device_cartpole_step N=${n}`, baseline: name === "cpu" && !readBack },
        async () => {
          const out = envs.step(actions);
          if (readBack) await backend.read(out.terminated);
          else await backend.sync();
          DeviceCartPole.dispose(backend, out);
        },
      );
    }
  }
  const batched = new BatchedCartPole(n, { seed: 1 });
  batched.reset();
  const actions = randomActions(n, 2);
  let t = 0;
  Deno.bench("rnnrl BatchedCartPole (float64)", { group: `device_cartpole_step N=${n}` }, () => {
    batched.step(actions[t++ & 63]);
  });
}

for (const n of [16384, 262144]) {
  for (const [name, backend] of backends) {
    const envs = new DevicePendulum(backend, n, { seed: 1 });
    backend.dispose(envs.reset());
    const rng = new Rng(3);
    const torques = backend.tensor(Array.from({ length: n }, () => rng.uniformIn(-2, 2)), [n]);
    Deno.bench(
      `rnnrl DevicePendulum ${name} resident`,
      { group: `device_pendulum_step N=${n}`, baseline: name === "cpu" },
      async () => {
        const out = envs.step(torques);
        await backend.sync();
        DevicePendulum.dispose(backend, out);
      },
    );
  }
}

for (const n of [1024, 16384, 262144]) {
  const games = [DeviceRepeatPrevious, ...(n === 16384 ? [DeviceCountRecall] : [])];
  for (const make of games) {
    for (const [name, backend] of backends) {
      const envs = new make(backend, n, { seed: 1, difficulty: "medium" });
      backend.dispose(envs.reset());
      const rng = new Rng(4);
      const answers = backend.tensor(
        Array.from({ length: n }, () => rng.int(envs.actionCount)),
        [n],
      );
      Deno.bench(
        `rnnrl ${make.name} ${envs.difficulty} ${name} resident`,
        { group: `device_card_step N=${n}`, baseline: name === "cpu" && make === games[0] },
        async () => {
          const out = envs.step(answers);
          await backend.sync();
          DeviceRepeatPrevious.dispose(backend, out);
        },
      );
    }
  }
  if (n === 1024) {
    const envs = new VectorEnv(
      Array.from({ length: n }, () => new RepeatPrevious({ difficulty: "medium" })),
    );
    envs.reset({ seed: 1 });
    const rng = new Rng(4);
    const answers = Array.from({ length: 64 }, () => Array.from({ length: n }, () => rng.int(4)));
    let t = 0;
    Deno.bench(
      "rnnrl VectorEnv(RepeatPrevious) medium",
      { group: `device_card_step N=${n}` },
      () => {
        envs.step(answers[t++ & 63]);
      },
    );
  }
}
