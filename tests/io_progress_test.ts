import assert from "node:assert/strict";
import { formatDuration, Progress, type ProgressOptions } from "../lib/io/progress.ts";

/** A reporter on a fake clock that records what it writes. */
function fake(options: Partial<ProgressOptions> & { total: number }) {
  const clock = { ms: 1000 };
  const writes: string[] = [];
  const progress = new Progress({
    terminal: false,
    columns: 200,
    now: () => clock.ms,
    write: (text) => writes.push(text),
    ...options,
  });
  return { clock, writes, progress };
}

Deno.test("Progress plain mode prints a line at every 10 percent", () => {
  const { clock, writes, progress } = fake({ total: 2000 });
  for (let step = 1; step <= 2000; step++) {
    clock.ms += 1; // 1000 steps per second
    if (step % 20 === 0) progress.episode(step / 20); // returns 1, 2, …, 100
    progress.update(step);
  }
  progress.finish();
  assert.equal(writes.length, 10);
  assert.ok(writes.every((w) => w.endsWith("\n") && w.indexOf("\n") === w.length - 1));
  assert.equal(
    writes[0],
    "train 200/2,000 steps (10%) | 10 episodes | mean return 5.5 (last 10) | 1,000 steps/s | ETA 2s\n",
  );
  assert.equal(
    writes[9],
    "train 2,000/2,000 steps (100%) | 100 episodes | mean return 50.5 (last 100) | " +
      "1,000 steps/s | took 2s\n",
  );
  progress.finish();
  assert.equal(writes.length, 10, "finish does not repeat a line already printed");
});

Deno.test("Progress mean return covers the last 100 episodes only", () => {
  const { progress } = fake({ total: 10 });
  assert.equal(progress.meanReturn, undefined);
  for (let r = 1; r <= 150; r++) progress.episode(r);
  assert.equal(progress.meanReturn, 100.5); // mean of 51..150
  const short = fake({ total: 10, window: 3 }).progress;
  for (const r of [10, 20, 30, 40]) short.episode(r);
  assert.equal(short.meanReturn, 30);
});

Deno.test("Progress plain mode also prints when the interval passes", () => {
  const { clock, writes, progress } = fake({ total: 1e6, intervalMs: 30000 });
  for (let step = 1; step <= 500; step++) {
    clock.ms += 100; // 10 steps per second: 500 steps take 50 s, far from 10%
    progress.update(step);
  }
  assert.equal(writes.length, 1, "one line after the first 30 s");
  assert.match(
    writes[0],
    /^train 300\/1,000,000 steps \(0%\) \| 0 episodes \| mean return - \| 10 steps\/s/,
  );
  assert.match(writes[0], /ETA 27h46m\n$/);
  progress.finish();
  assert.equal(writes.length, 2);
  assert.match(writes[1], /^train 500\/1,000,000/);
});

Deno.test("Progress terminal mode redraws one line, throttled", () => {
  const { clock, writes, progress } = fake({ total: 1000, terminal: true, redrawMs: 100 });
  for (let step = 1; step <= 1000; step++) {
    clock.ms += 10;
    progress.update(step);
  }
  // Drawn at the first update and then once per 100 ms of 10 s.
  assert.equal(writes.length, 100);
  for (const w of writes) {
    assert.ok(w.startsWith("\r\x1b[2K"), JSON.stringify(w));
    assert.ok(!w.includes("\n"));
  }
  assert.ok(
    writes[50].startsWith("\r\x1b[2Ktrain [##########----------] 501/1,000 50% | 0 episodes"),
    writes[50],
  );
  progress.finish();
  assert.match(writes[100], /\[####################\] 1,000\/1,000 100% .* took 10s$/);
  assert.equal(writes[101], "\n");
});

Deno.test("Progress terminal mode keeps lines within the width and logs above the bar", () => {
  const { writes, progress } = fake({ total: 100, terminal: true, columns: 40 });
  progress.update(1);
  assert.equal(writes[0], "\r\x1b[2K" + "train [--------------------] 1/100 1% | 0".slice(0, 39));
  progress.log("checkpoint saved");
  assert.equal(writes[1], "\r\x1b[2Kcheckpoint saved\n");
  assert.ok(writes[2].startsWith("\r\x1b[2Ktrain ["), "the bar is drawn again");
  const plain = fake({ total: 100 });
  plain.progress.log("hello");
  assert.deepStrictEqual(plain.writes, ["hello\n"]);
});

Deno.test("Progress of a resumed run counts speed from where it resumed", () => {
  const { clock, writes, progress } = fake({
    total: 1000,
    startStep: 500,
    startEpisodes: 40,
    percentStep: 25,
  });
  clock.ms += 2000;
  progress.episode(7);
  progress.update(750);
  assert.equal(
    writes[0],
    "train 750/1,000 steps (75%) | 41 episodes | mean return 7.0 (last 1) | 125 steps/s | ETA 2s\n",
  );
});

Deno.test("Progress rejects a total that is not positive", () => {
  for (const total of [0, -5, NaN]) assert.throws(() => new Progress({ total }), RangeError);
});

Deno.test("formatDuration writes seconds, minutes and hours", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [59.4, "59s"],
    [60, "1m00s"],
    [725, "12m05s"],
    [3599, "59m59s"],
    [3600, "1h00m"],
    [100000, "27h46m"],
    [-1, "-"],
    [Infinity, "-"],
  ];
  for (const [seconds, text] of cases) assert.equal(formatDuration(seconds), text, `${seconds}`);
});
