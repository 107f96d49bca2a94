/**
 * Turns the JSON of `deno bench --json` into the Markdown tables of bench/RESULTS.md: one table
 * per group, the mean and minimum time per iteration, the speed-up over the slowest peer in the
 * group, and GFLOP/s where the group's name fixes the work (matmul, LSTM and GRU workloads).
 *
 *     deno bench --json --allow-read --allow-env bench/lstm_bench.ts > lstm.json
 *     deno run --allow-read bench/to_markdown.ts lstm.json
 *
 * @module
 */

import { gruForwardFlops, lstmForwardFlops } from "./_workloads.ts";

interface BenchResult {
  group: string | null;
  name: string;
  results: { ok?: { n: number; avg: number; min: number } }[];
}

/** FLOPs of one iteration, from the group's name, or undefined when it does not say. */
function flopsOf(group: string): number | undefined {
  const matmul = group.match(/^(?:matmul|cpu gemm) (\d+)x(\d+)x(\d+)$/);
  if (matmul) return 2 * Number(matmul[1]) * Number(matmul[2]) * Number(matmul[3]);
  const rnn = group.match(/^(lstm|gru)_(forward|train_step) B=(\d+) T=(\d+) I=(\d+) H=(\d+)$/);
  if (rnn) {
    const [B, T, I, H] = rnn.slice(3).map(Number);
    const forward = (rnn[1] === "lstm" ? lstmForwardFlops : gruForwardFlops)({ B, T, I, H });
    return rnn[2] === "forward" ? forward : 3 * forward;
  }
  return undefined;
}

function formatTime(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** The Markdown tables for one `deno bench --json` document. */
export function benchTables(json: { benches: BenchResult[] }): string {
  const groups = new Map<string, { name: string; avg: number; min: number; n: number }[]>();
  for (const bench of json.benches) {
    const ok = bench.results[0]?.ok;
    if (!ok) continue;
    const group = bench.group ?? "(no group)";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group)!.push({ name: bench.name, avg: ok.avg, min: ok.min, n: ok.n });
  }
  const out: string[] = [];
  for (const [group, rows] of groups) {
    const flops = flopsOf(group);
    const slowest = Math.max(...rows.map((r) => r.avg));
    out.push(`**${group}**`, "");
    out.push(`| bench | mean | min | n | vs slowest |${flops ? " GFLOP/s (mean) |" : ""}`);
    out.push(`| --- | --- | --- | --- | --- |${flops ? " --- |" : ""}`);
    for (const r of rows) {
      const gflops = flops ? ` ${(flops / r.avg).toFixed(2)} |` : "";
      const speedup = `${(slowest / r.avg).toFixed(1)}×`;
      out.push(
        `| ${r.name} | ${formatTime(r.avg)} | ${
          formatTime(r.min)
        } | ${r.n} | ${speedup} |${gflops}`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

if (import.meta.main) {
  for (const path of Deno.args) {
    console.log(benchTables(JSON.parse(await Deno.readTextFile(path))));
  }
}
