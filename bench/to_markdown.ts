/**
 * Turns the JSON of `deno bench --json` into the Markdown tables of bench/RESULTS.md: one table
 * per group, the mean and minimum time per iteration, the speed-up over the slowest peer in the
 * group, and GFLOP/s where the group's name fixes the work (matmul, LSTM and GRU workloads).
 *
 *     deno bench --json --allow-read --allow-env bench/lstm_bench.ts > lstm.json
 *     deno run --allow-read bench/to_markdown.ts lstm.json
 *     deno run --allow-read bench/to_markdown.ts --peak-gflops 66900 matmul.json  # share of peak
 *
 * @module
 */

import { parseArgs } from "node:util";
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

/**
 * Environment steps of one iteration, from a `device_*_step N=…` group's name (N) or a
 * `ppo_loop N=… T=…` one's (N·T).
 */
function envStepsOf(group: string): number | undefined {
  const device = group.match(/^device_\w+_step N=(\d+)$/);
  if (device) return Number(device[1]);
  const loop = group.match(/^ppo_loop N=(\d+) T=(\d+)$/);
  return loop ? Number(loop[1]) * Number(loop[2]) : undefined;
}

/** Options of {@linkcode benchTables}. */
export interface TableOptions {
  /** The device's FP32 peak in GFLOP/s: adds each bench's share of it. */
  peakGflops?: number;
}

/**
 * The Markdown tables for one `deno bench --json` document; GFLOP/s (and the share of the FP32
 * peak when given) where the group's name fixes the work, environment steps per second for the
 * device-environment groups.
 */
export function benchTables(json: { benches: BenchResult[] }, options: TableOptions = {}): string {
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
    const flops = flopsOf(group), steps = envStepsOf(group), peak = options.peakGflops;
    const slowest = Math.max(...rows.map((r) => r.avg));
    const extra = [
      ...(flops ? ["GFLOP/s (mean)"] : []),
      ...(flops && peak ? ["share of FP32 peak"] : []),
      ...(steps ? ["env steps/s"] : []),
    ];
    out.push(`**${group}**`, "");
    out.push(`| bench | mean | min | n | vs slowest |${extra.map((e) => ` ${e} |`).join("")}`);
    out.push(`| --- | --- | --- | --- | --- |${extra.map(() => " --- |").join("")}`);
    for (const r of rows) {
      const cells = [
        ...(flops ? [(flops / r.avg).toFixed(2)] : []),
        ...(flops && peak ? [`${(100 * flops / r.avg / peak).toFixed(1)}%`] : []),
        ...(steps ? [formatRate(steps / (r.avg / 1e9))] : []),
      ];
      const speedup = `${(slowest / r.avg).toFixed(1)}×`;
      out.push(
        `| ${r.name} | ${formatTime(r.avg)} | ${formatTime(r.min)} | ${r.n} | ${speedup} |${
          cells.map((c) => ` ${c} |`).join("")
        }`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

/** 1.2 M, 85 k: a rate with its unit's prefix. */
function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(0)} k`;
  return perSecond.toFixed(0);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { "peak-gflops": { type: "string" } },
    allowPositionals: true,
  });
  const peakGflops = values["peak-gflops"] ? Number(values["peak-gflops"]) : undefined;
  if (peakGflops !== undefined && !(peakGflops > 0)) {
    console.error(
      `to_markdown: --peak-gflops is "${values["peak-gflops"]}", expected a number > 0`,
    );
    Deno.exit(2);
  }
  for (const path of positionals) {
    console.log(benchTables(JSON.parse(await Deno.readTextFile(path)), { peakGflops }));
  }
}
