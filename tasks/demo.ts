/**
 * `deno task demo [--out DIR] [--steps N] [--serve [--port N]]`: writes the browser demo, an
 * offline folder (default `runs/demo/`) in which a page trains an LSTM actor-critic on CartPole
 * without velocities, live: on WebGPU where the browser has it, on the CPU otherwise, with its
 * learning curve as a Vega-Lite chart and the pole drawn as the agent plays (demo/build.ts).
 *
 * Browsers load modules only over HTTP: `--serve` serves the folder on 127.0.0.1 (and nowhere
 * else) until Ctrl-C; any other static server does as well.
 *
 * Permissions: `--allow-read` (the sources, Deno's npm cache), `--allow-write` (the folder),
 * `--unstable-bundle` (bundling in-process), and `--allow-net=127.0.0.1` for `--serve` only.
 *
 * @module
 */

import { defineCli, exitWithTaskRunner, parseCli, runCli } from "../lib/io/cli.ts";
import { FileError, fileSystemError } from "../lib/io/errors.ts";
import { DEMO_FILES, writeDemo } from "../demo/build.ts";

/** The command line of the task. */
const DEMO_CLI = defineCli({
  name: "deno task demo",
  summary: "Writes the browser demo: a page that trains an LSTM agent on CartPole, live.",
  flags: {
    out: { type: "string", placeholder: "DIR", description: "The folder (default runs/demo)" },
    steps: {
      type: "integer",
      min: 1,
      description: "Environment steps the page trains for (default 100000)",
    },
    serve: { type: "boolean", description: "Serve the folder on 127.0.0.1 until Ctrl-C" },
    port: {
      type: "integer",
      min: 1,
      max: 65535,
      description: "The port of --serve (default 8000)",
    },
  },
});

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

/** Serves the demo's files (and nothing else) on 127.0.0.1. */
function serve(dir: string, port: number): Deno.HttpServer {
  return Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => {
      console.log(`serving ${dir} on http://127.0.0.1:${port}/ (Ctrl-C stops)`);
    },
  }, async (request) => {
    const name = new URL(request.url).pathname.slice(1) || "index.html";
    if (!DEMO_FILES.includes(name)) return new Response("not found", { status: 404 });
    const body = await Deno.readFile(`${dir}/${name}`);
    return new Response(body, {
      headers: {
        "content-type": CONTENT_TYPES[name.split(".").pop() ?? ""],
        "cache-control": "no-store",
      },
    });
  });
}

async function demoFromArgs(args: readonly string[]): Promise<void> {
  const { flags } = parseCli(DEMO_CLI, args);
  const dir = (flags.out ?? "runs/demo").replace(/\/+$/, "") || "/";
  const written = await writeDemo(dir, { steps: flags.steps }).catch((error) => {
    if (error instanceof FileError) throw error;
    throw fileSystemError(`Cannot write the demo to ${dir}`, error);
  });
  const total = written.files.reduce((sum, f) => sum + f.bytes, 0);
  const sizes = written.files.map((f) => `${f.path.slice(dir.length + 1)} ${kb(f.bytes)}`);
  console.log(`wrote ${dir}/ (${sizes.join(", ")}; ${kb(total)} in all)`);
  if (!flags.serve) {
    console.log(
      `serve it from localhost to open it: deno task demo --serve (or any static server)`,
    );
    return;
  }
  const server = serve(dir, flags.port ?? 8000);
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KB`;
}

if (import.meta.main) {
  exitWithTaskRunner("the demo's files are each either old or new, whole");
  await runCli(() => demoFromArgs(Deno.args));
}
