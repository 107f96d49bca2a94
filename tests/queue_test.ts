// deno task sweep --queue and deno task worker against a real NATS JetStream server (Debian's
// nats-server, started here on the loopback address): a sweep of six short DQN runs, three
// workers, one of them killed with SIGKILL just after it stored a checkpoint. Every run must end
// exactly once, the killed run must be resumed by another worker from the checkpoint the dead one
// stored, and every run's metrics must equal, byte for byte, the same run trained here alone.
import assert from "node:assert/strict";
import { join } from "node:path";
import { WorkQueue } from "../lib/run/work_queue.ts";
import { finish, runTask, spawnTask, type TaskOutput } from "./helpers/mod.ts";

const NATS_SERVER = findNatsServer();
const STEPS = 12_000;
const PLAN = [
  ...["--env", "cartpole", "--algo", "dqn", "--seeds", "1-6", "--steps", String(STEPS)],
  ...["--grid", "checkpoint-every=1500", "--final-eval-episodes", "5"],
];
const SETTING = "checkpoint-every=1500";

function findNatsServer(): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    try {
      if (Deno.statSync(join(dir, "nats-server")).isFile) return join(dir, "nats-server");
    } catch {
      // not there
    }
  }
  return null;
}

/** A free TCP port on the loopback address. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts nats-server with JetStream on 127.0.0.1 and waits until it takes connections. */
async function startServer(root: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = freePort();
  const server = new Deno.Command(NATS_SERVER!, {
    args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", join(root, "jetstream")],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      server.kill("SIGTERM");
      await server.status;
    },
  };
}

/** A worker process whose stderr is read line by line as it comes. */
class WorkerProcess {
  readonly lines: string[] = [];
  readonly child: Deno.ChildProcess;
  readonly #listeners: ((line: string) => void)[] = [];
  readonly done: Promise<void>;

  constructor(readonly name: string, url: string, workDir: string) {
    const child = spawnTask("worker", ["--queue", url, "--name", name, "--work-dir", workDir]);
    this.child = child;
    void child.stdout.cancel();
    this.done = (async () => {
      let rest = "";
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + text).split("\n");
        rest = parts.pop()!;
        for (const line of parts) {
          this.lines.push(line);
          for (const listener of this.#listeners) listener(line);
        }
      }
    })();
  }

  onLine(listener: (line: string) => void): void {
    this.#listeners.push(listener);
  }
}

Deno.test({
  name: "a sweep on a NATS work queue: three workers, one killed mid-run, every run ends " +
    "exactly once and equals the run trained alone",
  ignore: NATS_SERVER === null,
  fn: async (t) => {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_queue_" });
    const server = await startServer(root);
    const workers = ["w1", "w2", "w3"].map((name) =>
      new WorkerProcess(name, server.url, join(root, name))
    );
    try {
      // The first worker to store a checkpoint short of the end is killed on the spot.
      let killed: { worker: WorkerProcess; run: string; step: number } | undefined;
      const killedOnce = new Promise<void>((resolve) => {
        for (const worker of workers) {
          worker.onLine((line) => {
            const stored = /^\[\w+\] run (\w+\/\d+) \(.*\): checkpoint of step (\d+) stored$/
              .exec(line);
            if (!stored || killed || Number(stored[2]) >= STEPS) return;
            killed = { worker, run: stored[1], step: Number(stored[2]) };
            worker.child.kill("SIGKILL");
            resolve();
          });
        }
      });
      const out = join(root, "sweep");
      const sweep = spawnTask("sweep", [
        ...PLAN,
        ...["--queue", server.url, "--redeliver-after", "2", "--out", out],
      ]);
      const swept: TaskOutput = await finish(sweep);
      await killedOnce;
      assert.equal(swept.code, 0, swept.stderr);
      await killed!.worker.child.status;
      await killed!.worker.done;
      const sweepId = JSON.parse(await Deno.readTextFile(join(out, "queue.json"))).sweep;

      await t.step("the sweep collected six finished run directories", async () => {
        const done = swept.stderr.split("\n").filter((line) => /^\[\d\/6\]/.test(line));
        assert.equal(done.length, 6, swept.stderr);
        for (let seed = 1; seed <= 6; seed++) {
          const eval_ = join(out, SETTING, `seed-${seed}`, "eval.json");
          assert.ok((await Deno.stat(eval_)).isFile, eval_);
        }
        assert.ok((await Deno.stat(join(out, "report.html"))).isFile);
      });

      await t.step("every run ended exactly once: one result, one finishing worker", async () => {
        const queue = await WorkQueue.open(server.url.replace("nats://", ""));
        try {
          for (let index = 0; index < 6; index++) {
            const history = await queue.resultHistory(sweepId, index);
            assert.equal(history.length, 1, `run ${index}: ${JSON.stringify(history)}`);
            assert.equal(history[0].status, "finished");
            const finishedLines = workers.flatMap((w) => w.lines).filter((line) =>
              line.includes(`run ${sweepId}/${index} `) && /: finished, mean return/.test(line)
            );
            assert.equal(finishedLines.length, 1, finishedLines.join("\n"));
          }
          const [, index] = killed!.run.split("/");
          const result = (await queue.resultHistory(sweepId, Number(index)))[0];
          assert.equal(result.status, "finished");
          assert.notEqual(result.worker, killed!.worker.name);
          assert.ok(result.deliveries >= 2, JSON.stringify(result));
          // The dead worker may have stored a later checkpoint before the signal landed.
          const stored = killed!.worker.lines.flatMap((line) => {
            const match = new RegExp(`run ${killed!.run} .*checkpoint of step (\\d+) stored$`)
              .exec(line);
            return match ? [Number(match[1])] : [];
          });
          assert.ok(stored.includes(killed!.step));
          // (or the next, stored in the instant between its upload and its log line)
          assert.ok(
            [stored.at(-1), stored.at(-1)! + 1500].includes(result.resumedFrom!),
            JSON.stringify(result),
          );
          assert.ok(result.resumedFrom! > 0 && result.resumedFrom! < STEPS);
          assert.ok(
            !killed!.worker.lines.some((line) =>
              /: finished, mean return/.test(line) &&
              line.includes(killed!.run)
            ),
          );
        } finally {
          await queue.close();
        }
      });

      await t.step("each run's metrics equal the same run trained here alone", async () => {
        const local = join(root, "local");
        const alone = await runTask("sweep", [...PLAN, "--workers", "2", "--out", local]);
        assert.equal(alone.code, 0, alone.stderr);
        for (let seed = 1; seed <= 6; seed++) {
          const file = join(SETTING, `seed-${seed}`, "metrics.jsonl");
          const queued = await Deno.readFile(join(out, file));
          assert.ok(queued.length > 0);
          assert.deepEqual(queued, await Deno.readFile(join(local, file)), file);
        }
      });
    } finally {
      for (const worker of workers) {
        try {
          worker.child.kill("SIGTERM");
        } catch {
          // already ended
        }
        await worker.child.status;
        await worker.done;
      }
      await server.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});
