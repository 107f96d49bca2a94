import assert from "node:assert/strict";
import { Rng } from "../lib/io/rng.ts";
import { alignRuns, bucketStats, minMaxIndices, rollingMean } from "../lib/report/_series.ts";
import { formatMeanSpread, withinProblemSpec } from "../lib/report/charts.ts";
import { escapeHtml, renderReport, renderTestbedReport } from "../lib/report/html.ts";
import {
  parseMetrics,
  parseReplay,
  parseTestbed,
  readRun,
  readTestbed,
} from "../lib/report/run_data.ts";
import type { RunData, Testbed } from "../lib/report/run_data.ts";
import { makeRunDir } from "./helpers/report_fixture.ts";

/** The `<figure class="chart" data-chart="NAME">…</figure>` blocks of a page, by name. */
function figures(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<figure class="chart" data-chart="([^"]+)">(.*?)<\/figure>/gs)) {
    out.set(m[1], m[2]);
  }
  return out;
}

/** The number of drawn items in each vega mark group of an SVG, e.g. {"line": 1, "symbol": 40}. */
function marks(svg: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of svg.matchAll(/<g class="mark-(\w+) role-mark[^>]*>(.*?)<\/g>/gs)) {
    const drawn = [...m[2].matchAll(/<(path|line) [^>]*?(d="M[^"]+"|x2=)/g)].length;
    counts[m[1]] = (counts[m[1]] ?? 0) + drawn;
  }
  return counts;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnrl_report_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function fakeRun(
  root: string,
  name: string,
  options: Parameters<typeof makeRunDir>[1],
): Promise<string> {
  const dir = `${root}/${name}`;
  await Deno.mkdir(dir);
  await makeRunDir(dir, options);
  return dir;
}

const FIXED_DATE = new Date("2025-01-02T03:04:05Z");

Deno.test("parseMetrics reads episode, train and eval records sorted by step", () => {
  const text = [
    '{"kind":"episode","step":30,"episode":2,"return":12,"length":12,"won":true}',
    '{"kind":"train","step":25,"loss":0.5,"epsilon":0.9,"note":"x","time":1.5}',
    "",
    '{"kind":"episode","step":18,"episode":1,"return":18,"length":18}',
    '{"kind":"eval","step":30,"meanReturn":20.5,"winRate":0.25}',
    '{"kind":"custom","step":31,"note":"other kinds are ignored"}',
    '{"kind":"episode","step":40,"epis', // a last line cut short
  ].join("\n");
  const m = parseMetrics(text);
  assert.deepEqual(m.episodes.map((e) => e.step), [18, 30]);
  assert.equal(m.episodes[1].won, true);
  assert.equal(m.episodes[0].won, undefined);
  assert.deepEqual(m.train, [{ step: 25, values: { loss: 0.5, epsilon: 0.9 } }]);
  assert.deepEqual(m.evals, [{ step: 30, meanReturn: 20.5, winRate: 0.25 }]);
  assert.equal(m.lastTime, 1.5);
});

Deno.test("parseMetrics names the line of a damaged record", () => {
  assert.throws(
    () => parseMetrics('{"kind":"train","step":1}\nnot json\n{"kind":"train","step":2}\n'),
    { name: "TypeError", message: "Cannot read metrics.jsonl: line 2 is not valid JSON" },
  );
  assert.throws(
    () => parseMetrics('{"kind":"episode","step":5,"episode":1,"length":5}\n'),
    /line 1 is an episode without a numeric return/,
  );
  assert.throws(() => parseMetrics("[1,2]\n"), /line 1 is not a record with kind and step/);
  // The same rule as the run directory's reader: a record needs a string kind and a numeric step.
  assert.throws(() => parseMetrics('{"kind":"custom","step":"x"}\n'), /line 1 is not a record/);
  // A last line without its newline is cut short, even when it happens to parse.
  assert.equal(
    parseMetrics('{"kind":"episode","step":5,"episode":1,"return":5,"length":5}').episodes.length,
    0,
  );
});

Deno.test("parseReplay accepts both games and rejects malformed frames", () => {
  const cart = parseReplay({ env: "cartpole", frames: [[0, 0, 0.1, 0], [0.1, 0, 0.2, 0]] });
  assert.equal(cart.frames.length, 2);
  const ms = parseReplay({
    env: "minesweeper",
    width: 3,
    height: 2,
    frames: [{ board: [[-1, -1, -1], [-1, -1, -1]] }, { board: [0, 1, -1, 0, 1, 9], action: 5 }],
  });
  assert.equal(ms.env, "minesweeper");
  if (ms.env !== "minesweeper") return;
  assert.deepEqual(ms.frames[0], { board: [-1, -1, -1, -1, -1, -1], action: null });
  assert.equal(ms.frames[1].action, 5);
  assert.throws(() => parseReplay({ env: "cartpole", frames: [[0, 0, 0]] }), /frame 0/);
  assert.throws(
    () => parseReplay({ env: "minesweeper", width: 2, height: 1, frames: [{ board: [0, 10] }] }),
    /frame 0 board is not 2 cells in -1\.\.9/,
  );
  assert.throws(
    () =>
      parseReplay({
        env: "minesweeper",
        width: 2,
        height: 1,
        frames: [{ board: [0, 0], action: 2 }],
      }),
    /action is not a cell index/,
  );
  assert.throws(() => parseReplay({ env: "pong", frames: [1] }), /"env" is "pong"/);
});

Deno.test("parseTestbed rejects series of the wrong length", () => {
  const ok = { runs: 5, steps: 2, methods: { "epsilon=0": { reward: [0, 1], optimal: [0, 1] } } };
  assert.equal(parseTestbed(ok).runs, 5);
  assert.throws(
    () => parseTestbed({ ...ok, methods: { "ucb c=2": { reward: [0], optimal: [0, 1] } } }),
    { name: "TypeError", message: 'Cannot read testbed.json: "ucb c=2".reward is not 2 numbers' },
  );
});

Deno.test("rollingMean matches a direct average over the window", () => {
  const rng = new Rng(3);
  const xs = Array.from({ length: 57 }, () => rng.normal(0, 10));
  const window = 7;
  const fast = rollingMean(xs, window);
  for (let i = 0; i < xs.length; i++) {
    const slice = xs.slice(Math.max(0, i - window + 1), i + 1);
    const direct = slice.reduce((s, x) => s + x, 0) / slice.length;
    assert.ok(Math.abs(fast[i] - direct) < 1e-9, `index ${i}: ${fast[i]} vs ${direct}`);
  }
  assert.throws(() => rollingMean(xs, 0), RangeError);
});

Deno.test("minMaxIndices keeps every bucket's extremes, in order, within budget", () => {
  const rng = new Rng(4);
  const xs = Array.from({ length: 10000 }, () => rng.normal(0, 1));
  const kept = minMaxIndices(xs, 100);
  assert.ok(kept.length <= 200);
  assert.ok(kept.every((k, i) => i === 0 || k > kept[i - 1]));
  const lowest = xs.indexOf(Math.min(...xs));
  const highest = xs.indexOf(Math.max(...xs));
  assert.ok(kept.includes(lowest) && kept.includes(highest));
  assert.deepEqual(minMaxIndices([3, 1, 2], 100), [0, 1, 2]);
});

Deno.test("bucketStats gives mean, min and max of consecutive points", () => {
  const stats = bucketStats([1, 2, 3, 4, 5, 6], [1, 5, 3, 2, 2, 8], 2);
  assert.deepEqual(stats, [{ step: 3, mean: 3, min: 1, max: 5 }, {
    step: 6,
    mean: 4,
    min: 2,
    max: 8,
  }]);
});

Deno.test("alignRuns carries each run's last value onto a common step grid", () => {
  const a = { steps: [10, 20, 30, 40], values: [1, 2, 3, 4] };
  const b = { steps: [15, 25, 40, 80], values: [10, 20, 30, 40] };
  // Grid up to the shorter run's last step (40), 4 bins: 10, 20, 30, 40; b has no value at 10.
  assert.deepEqual(alignRuns([a, b], 4), [
    { step: 20, mean: 6, min: 2, max: 10 },
    { step: 30, mean: 11.5, min: 3, max: 20 },
    { step: 40, mean: 17, min: 4, max: 30 },
  ]);
  assert.deepEqual(alignRuns([a, { steps: [], values: [] }], 4), []);
});

Deno.test("readRun reads a fake run directory", async () => {
  await withTempDir(async (root) => {
    const dir = await fakeRun(root, "cart-1", { env: "cartpole", seed: 11, episodes: 120 });
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n");
    const count = (kind: string) => lines.filter((l) => JSON.parse(l).kind === kind).length;
    const run = await readRun(dir);
    assert.equal(run.name, "cart-1");
    assert.equal(run.config.env, "cartpole");
    assert.equal(run.episodes.length, 120);
    assert.equal(run.train.length, count("train"));
    assert.equal(run.evals.length, count("eval"));
    assert.ok(run.train.length > 50);
    assert.equal(run.evalResult?.returns.length, 20);
    assert.equal(run.replay?.env, "cartpole");
    assert.deepEqual(run.wallTime, { seconds: 12.5, source: 'metrics.jsonl "time"' });
    assert.ok(run.episodes.every((e, i) => i === 0 || e.step >= run.episodes[i - 1].step));
  });
});

Deno.test("readRun rejects a missing directory and one that is not a run", async () => {
  await withTempDir(async (root) => {
    await assert.rejects(readRun(`${root}/nope`), {
      name: "TypeError",
      message: `Cannot read run: ${root}/nope does not exist`,
    });
    await Deno.mkdir(`${root}/half`);
    await Deno.writeTextFile(`${root}/half/config.json`, "{}");
    await assert.rejects(readRun(`${root}/half`), /not a run directory \(no metrics\.jsonl\)/);
    await Deno.writeTextFile(`${root}/half/metrics.jsonl`, "");
    await Deno.writeTextFile(`${root}/half/eval.json`, '{"episodes":1}');
    await assert.rejects(readRun(`${root}/half`), /eval\.json: "meanReturn" is not a number/);
    await Deno.remove(`${root}/half/eval.json`);
    const run = await readRun(`${root}/half`);
    assert.equal(run.episodes.length, 0);
  });
});

Deno.test("renderReport draws an SVG with marks for every chart of a CartPole run", async () => {
  await withTempDir(async (root) => {
    const run = await readRun(
      await fakeRun(root, "cart", { env: "cartpole", seed: 5, episodes: 200 }),
    );
    const html = await renderReport([run], { generated: FIXED_DATE });
    const figs = figures(html);
    assert.deepEqual([...figs.keys()], [
      "episode-return",
      "train-loss",
      "train-epsilon",
      "train-qMean",
      "train-qMax",
      "eval-curve",
      "eval-returns",
    ]);
    for (const [name, body] of figs) assert.ok(body.startsWith("<svg"), `${name} is an SVG`);
    const episode = marks(figs.get("episode-return")!);
    assert.equal(episode.symbol, 200); // every episode is a point when there are few
    assert.equal(episode.line, 1);
    const loss = marks(figs.get("train-loss")!);
    assert.deepEqual([loss.area, loss.line], [1, 1]);
    assert.ok(marks(figs.get("eval-returns")!).rect >= 2);
    assert.equal(marks(figs.get("eval-returns")!).rule, 1);
    // One replay, animated without script, and the config table with the wall time.
    assert.equal((html.match(/<animateTransform /g) ?? []).length, 2);
    assert.match(html, /<td>wall time<\/td><td>12\.5 s \(metrics\.jsonl &quot;time&quot;\)<\/td>/);
    assert.match(html, /<td>versions\.rnnrl<\/td><td>0\.1\.0<\/td>/);
    // Ids are unique across the inlined SVGs, and every url(#id) points at one of them.
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length);
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(m[1]), m[1]);
    // Nothing is fetched: no src or href attributes, and a CSP that forbids it.
    assert.doesNotMatch(html, /\s(src|href)=/);
    assert.match(html, /default-src 'none'/);
  });
});

Deno.test("renderReport shows Minesweeper win rates and the board replay", async () => {
  await withTempDir(async (root) => {
    const dir = await fakeRun(root, "mines", { env: "minesweeper", seed: 2, episodes: 300 });
    const run = await readRun(dir);
    const html = await renderReport([run], { generated: FIXED_DATE });
    const figs = figures(html);
    assert.ok(figs.has("win-rate"));
    const win = marks(figs.get("win-rate")!);
    assert.equal(win.line, 2); // training rolling rate and evaluation win rate
    assert.ok(run.replay?.env === "minesweeper");
    const frames = run.replay.frames.length;
    assert.match(html, new RegExp(`data-frames="${frames}"`));
    assert.match(html, /class="replay-final"/);
    // Every cell of the final board is drawn, with a mine symbol for each revealed mine.
    const final = html.match(/<svg class="replay-final".*?<\/svg>/s)![0];
    assert.equal((final.match(/<rect /g) ?? []).length, 81);
    const mines = run.replay.frames.at(-1)!.board.filter((c) => c === 9).length;
    assert.equal((final.match(/<circle /g) ?? []).length, mines);
  });
});

Deno.test("renderReport escapes run names and configuration strings", async () => {
  await withTempDir(async (root) => {
    const config = { env: "<b>bold</b>", note: `"><img src=x onerror=alert(2)>` };
    const a = await readRun(await fakeRun(root, "a", { env: "cartpole", seed: 1, episodes: 50 }));
    const b = await readRun(
      await fakeRun(root, "b", { env: "cartpole", seed: 2, episodes: 50, config }),
    );
    a.name = "<script>alert(1)</script>";
    const html = await renderReport([a, b], { generated: FIXED_DATE });
    assert.equal((html.match(/<script/g) ?? []).length, 1); // only the replay controls
    assert.doesNotMatch(html, /<img|<b>/);
    assert.match(html, /<h2>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/h2>/);
    assert.match(html, /<title>rnnrl report: &lt;script&gt;alert\(1\)&lt;\/script&gt;, b<\/title>/);
    assert.match(html, /&quot;&gt;&lt;img src=x onerror=alert\(2\)&gt;/);
    // The group label reaches the comparison chart's legend, escaped by vega.
    assert.match(figures(html).get("compare")!, /&lt;b&gt;bold&lt;\/b&gt; \/ dqn/);
    assert.equal(escapeHtml(`&<>"'`), "&amp;&lt;&gt;&quot;&#39;");
  });
});

Deno.test("renderReport compares runs with a mean line and a min–max band per group", async () => {
  await withTempDir(async (root) => {
    const runs: RunData[] = [];
    for (const seed of [1, 2, 3]) {
      runs.push(
        await readRun(await fakeRun(root, `s${seed}`, { env: "cartpole", seed, episodes: 150 })),
      );
    }
    const mines = await readRun(
      await fakeRun(root, "m", { env: "minesweeper", seed: 9, episodes: 150, bare: true }),
    );
    const html = await renderReport([...runs, mines], { generated: FIXED_DATE });
    const compare = figures(html).get("compare")!;
    // Two groups (cartpole / dqn with 3 runs, minesweeper / dqn with 1): a band and a line each.
    assert.deepEqual([marks(compare).area, marks(compare).line], [2, 2]);
    assert.match(compare, /runs per group: 3, 1/);
    assert.equal((html.match(/<section class="run"/g) ?? []).length, 4);
    assert.match(html, /<td>s2<\/td><td>cartpole<\/td><td>dqn<\/td><td>2<\/td>/);
  });
});

Deno.test("renderReport downsamples long series to a bounded number of marks", async () => {
  const rng = new Rng(8);
  const n = 10000;
  const run: RunData = {
    name: "long",
    config: {},
    episodes: Array.from({ length: n }, (_, i) => ({
      step: 20 * (i + 1),
      episode: i + 1,
      return: 20 + rng.normal(0, 5),
      length: 20,
    })),
    train: Array.from({ length: n }, (_, i) => ({
      step: 20 * (i + 1),
      values: { loss: Math.abs(rng.normal(0, 1)) },
    })),
    evals: [],
  };
  const figs = figures(await renderReport([run], { generated: FIXED_DATE }));
  const episode = marks(figs.get("episode-return")!);
  assert.ok(episode.symbol > 500 && episode.symbol <= 1200, `${episode.symbol} points`);
  // The line's path has at most 1000 vertices.
  const line = figs.get("episode-return")!.match(/<g class="mark-line[^>]*>.*?d="([^"]+)"/s)![1];
  assert.ok(line.split("L").length <= 1000);
  assert.match(figs.get("train-loss")!, /10000 records in 250 buckets/);
});

Deno.test("renderTestbedReport plots average reward and % optimal action per method", async () => {
  const rng = new Rng(6);
  const steps = 300;
  const methods: Testbed["methods"] = {};
  for (const [name, rate] of [["epsilon=0", 0], ["epsilon=0.01", 0.01], ["ucb c=2", 0.1]]) {
    methods[name as string] = {
      reward: Array.from(
        { length: steps },
        (_, t) => 1 - Math.exp(-t * (rate as number)) + rng.normal(0, 0.05),
      ),
      optimal: Array.from(
        { length: steps },
        (_, t) => Math.min(1, 0.1 + t * (rate as number) / 10),
      ),
    };
  }
  const testbed = parseTestbed({ runs: 2000, steps, methods });
  const html = await renderTestbedReport(testbed, { generated: FIXED_DATE });
  const figs = figures(html);
  assert.deepEqual([...figs.keys()], ["testbed-reward", "testbed-optimal"]);
  for (const body of figs.values()) {
    assert.equal(marks(body).line, 3);
    for (const name of Object.keys(methods)) assert.ok(body.includes(`>${name}</text>`), name);
  }
  assert.match(html, /2000 runs of 300 steps/);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/testbed.json`, JSON.stringify(testbed));
    assert.deepEqual(await readTestbed(dir), testbed);
  });
});

Deno.test("renderReport shows a bandit's reward and % optimal action by pull, averaged over problems", async () => {
  // Two problems of 300 pulls logged every 100: pulls 100, 200, 300 in each.
  const lines = [
    { step: 100, pull: 100, reward: 0.5, optimalAction: 0.2 },
    { step: 200, pull: 200, reward: 1.0, optimalAction: 0.5 },
    { step: 300, pull: 300, reward: 1.5, optimalAction: 0.8 },
    { step: 400, pull: 100, reward: 0.7, optimalAction: 0.4 },
    { step: 500, pull: 200, reward: 1.2, optimalAction: 0.7 },
    { step: 600, pull: 300, reward: 1.3, optimalAction: 1.0 },
  ].map((r) => JSON.stringify({ kind: "train", ...r }));
  lines.push(JSON.stringify({ kind: "episode", step: 300, episode: 1, return: 300, length: 300 }));
  lines.push(JSON.stringify({ kind: "episode", step: 600, episode: 2, return: 320, length: 300 }));
  const { episodes, train, evals } = parseMetrics(lines.join("\n") + "\n");
  const run: RunData = {
    name: "bandit",
    config: { env: "bandit", algo: "ucb", seed: 1 },
    episodes,
    train,
    evals,
  };
  const html = await renderReport([run], { generated: FIXED_DATE });
  const figs = figures(html);
  // The statistics by pull replace the sawtooth they would draw against the step.
  assert.ok(figs.has("bandit-reward") && figs.has("bandit-optimalAction"));
  assert.ok(
    !figs.has("train-reward") && !figs.has("train-optimalAction") && !figs.has("train-pull"),
  );
  const spec = withinProblemSpec(train, "optimalAction") as { data: { values: unknown[] } };
  // Means over the two problems at each pull, in percent: (20+40)/2, (50+70)/2, (80+100)/2.
  const values = spec.data.values as { pull: number; value: number }[];
  assert.deepEqual(values.map((v) => v.pull), [100, 200, 300]);
  for (const [i, expected] of [30, 60, 90].entries()) {
    assert.ok(
      Math.abs(values[i].value - expected) < 1e-9,
      `${values[i].value} at ${values[i].pull}`,
    );
  }
  assert.match(figs.get("bandit-reward")!, /mean over 2 problems/);
  assert.match(figs.get("episode-return")!, /rolling mean \(1 episode\)/);
});

Deno.test("renderReport lists each agent option once, marks defaults, and drops an empty win-rate column", async () => {
  await withTempDir(async (root) => {
    const config = {
      env: "cartpole",
      algo: "dqn",
      agent: { gamma: 0.9, epsilon: { start: 1, end: 0.1, steps: 100 } },
      agentOptions: { gamma: 0.9, batchSize: 32, epsilon: { start: 1, end: 0.1, steps: 100 } },
    };
    const run = await readRun(
      await fakeRun(root, "opts", { env: "cartpole", seed: 1, episodes: 30, config }),
    );
    const html = await renderReport([run], { generated: FIXED_DATE });
    assert.doesNotMatch(html, /agentOptions/);
    assert.match(html, /<td>agent\.gamma<\/td><td>0\.9<\/td>/);
    assert.match(html, /<td>agent\.batchSize<\/td><td>32 \(default\)<\/td>/);
    assert.match(html, /<td>agent\.epsilon\.end<\/td><td>0\.1<\/td>/);
    assert.equal((html.match(/<td>agent\.gamma<\/td>/g) ?? []).length, 1);
    // CartPole has no wins: no win-rate column in the summary.
    assert.doesNotMatch(html, /win rate \(eval\)/);
    // The training charts count records (loggings), not updates.
    assert.match(figures(html).get("train-loss")!, /\d+ records/);
  });
  await withTempDir(async (root) => {
    const dir = await fakeRun(root, "mines", { env: "minesweeper", seed: 2, episodes: 50 });
    const html = await renderReport([await readRun(dir)], { generated: FIXED_DATE });
    assert.match(html, /win rate \(eval\)/);
  });
});

Deno.test("formatMeanSpread shows rounding noise as 0 and a real spread to 4 digits", () => {
  assert.equal(formatMeanSpread(0.96, 1.554e-15), "0.96 ± 0");
  assert.equal(formatMeanSpread(500, 0), "500 ± 0");
  assert.equal(formatMeanSpread(6.399999999999999, 0.123456), "6.4 ± 0.1235");
  assert.equal(formatMeanSpread(0, 0.25), "0 ± 0.25");
});

Deno.test("a contextual bandit's run report plots its cumulative regret against uniform random", async () => {
  await withTempDir(async (root) => {
    const dir = await fakeRun(root, "digits", { env: "cartpole", seed: 1, episodes: 50 });
    // Rounds of one step whose regrets are 1, 0, 0, 1, 0, …: two in five missed, 20 in all.
    const lines = Array.from({ length: 50 }, (_, i) => {
      const regret = i % 5 === 0 || i % 5 === 3 ? 1 : 0;
      return JSON.stringify({
        kind: "episode",
        step: i + 1,
        episode: i + 1,
        return: 1 - regret,
        length: 1,
        regret,
      });
    });
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, lines.join("\n") + "\n");
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ ...config, env: "mnist-bandit" }),
    );
    const run = await readRun(dir);
    assert.equal(run.episodes[3].regret, 1);
    const html = await renderReport([run], { generated: FIXED_DATE });
    const chart = figures(html).get("regret");
    assert.ok(chart, "a regret chart");
    assert.match(chart, /50 rounds; final 20/);
    assert.match(chart, /uniform random \(0\.9 a round\)/);
    assert.equal(marks(chart).line, 2, "the agent's line and random's");
    // Runs without regrets get no such chart.
    const plain = await readRun(
      await fakeRun(root, "plain", { env: "cartpole", seed: 1, episodes: 20 }),
    );
    assert.ok(!figures(await renderReport([plain], { generated: FIXED_DATE })).has("regret"));
  });
});

Deno.test("renderReport charts the logged mean return of a run that logs no single episodes", async () => {
  const train = Array.from({ length: 12 }, (_, k) => ({
    step: 1024 * (k + 1),
    values: { loss: 1 / (k + 1), episodes: 40 - k, meanReturn: 20 + 10 * k },
  }));
  const run: RunData = {
    name: "resident",
    config: { env: "cartpole" },
    episodes: [],
    train,
    evals: [],
  };
  const html = await renderReport([run], { generated: FIXED_DATE });
  const figs = figures(html);
  assert.deepEqual([...figs.keys()], ["logged-return", "train-loss", "train-episodes"]);
  assert.doesNotMatch(html, /No finished episodes/);
  const logged = figs.get("logged-return")!;
  assert.equal(marks(logged).line, 1);
  assert.match(logged, /12 records of 414 episodes/);
  // The summary counts the logged episodes and averages the latest records that hold 100 of
  // them: 29 + 30 + 31 + 32 episodes returning 130, 120, 110 and 100.
  const summary = html.slice(html.indexOf('<table class="summary">'));
  const row = summary.slice(summary.indexOf("<td>resident</td>"));
  assert.ok(row.length > 0, "a summary row for the run");
  assert.match(row, /<td class="num">12288<\/td><td class="num">414<\/td>/);
  assert.match(row, new RegExp(`<td class="num">${(13980 / 122).toPrecision(4)}</td>`));
});
