import assert from "node:assert/strict";
import { presetFor } from "../lib/run/presets.ts";
import { ChromiumPage, findChromium } from "./helpers/chromium.ts";
import { runTask, spawnTask } from "./helpers/mod.ts";

const chromium = findChromium();
if (chromium === null) {
  console.warn(
    "demo_chromium_test: browser steps skipped: no Chromium at CHROMIUM_PATH or /usr/bin/chromium",
  );
}

/** What demo/page.ts reports as `window.__demo`. */
interface DemoStatus {
  phase: string;
  backend: string | null;
  backendLabel: string;
  steps: number;
  episodes: number;
  points: number;
  recentReturn: number | null;
  stepsPerSecond: number;
  displaySteps: number;
  error: string | null;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

/** Serves `dir` on 127.0.0.1, recording the paths asked for. */
function serve(dir: string, requested: string[]): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    requested.push(path);
    const name = path.slice(1) || "index.html";
    if (name.includes("/") || name.includes("..")) return new Response("no", { status: 403 });
    try {
      const body = await Deno.readFile(`${dir}/${name}`);
      return new Response(body, { headers: { "content-type": TYPES[name.split(".").pop()!] } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

/** Whether the page's browser has a WebGPU adapter. */
const ADAPTER = "(async () => !!(navigator.gpu && await navigator.gpu.requestAdapter()))()";

/** Opens the demo and waits until it is done (or failed), up to `timeoutMs`. */
async function runDemo(page: ChromiumPage, url: string, timeoutMs: number): Promise<DemoStatus> {
  await page.goto(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await page.evaluate<DemoStatus>("window.__demo ?? null");
    if (status && (status.phase === "done" || status.phase === "error")) return status;
    if (Date.now() > deadline) {
      throw new Error(`the demo did not finish in ${timeoutMs} ms: ${JSON.stringify(status)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

Deno.test({
  name: "deno task demo writes a page that trains a recurrent agent live in headless Chromium",
  // Chromium, the tasks and the page's own timers.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_demo_" });
    const dir = `${root}/demo`;
    try {
      await t.step(
        "the task writes index.html and two bundles, and nothing of onnxruntime",
        async () => {
          const out = await runTask("demo", ["--out", dir, "--steps", "100000"]);
          assert.equal(out.code, 0, out.stderr);
          assert.equal(out.stderr, "", "the task is quiet");
          assert.match(out.stdout, /^wrote .*\/demo\/ \(index\.html \d+ KB, rnnrl\.js \d+ KB/);
          const names = [];
          for await (const entry of Deno.readDir(dir)) names.push(entry.name);
          assert.deepEqual(names.sort(), ["demo.js", "index.html", "rnnrl.js"]);
          for (const name of ["rnnrl.js", "demo.js"]) {
            const text = await Deno.readTextFile(`${dir}/${name}`);
            assert.ok(!/["']node:/.test(text), `${name} imports no node: module`);
            assert.ok(!/onnxruntime|protobuf/i.test(text), `${name} has nothing of onnxruntime`);
          }
          const page = await Deno.readTextFile(`${dir}/demo.js`);
          assert.match(page, /from\s*"@rnnrl\/rnnrl"/, "the page imports the library by its name");
          const html = await Deno.readTextFile(`${dir}/index.html`);
          const json = html.match(
            /<script type="application\/json" id="demo-config">(.*?)<\/script>/s,
          );
          const config = JSON.parse(json![1]);
          assert.equal(config.steps, 100_000);
          assert.deepEqual(config.agent, presetFor("cartpole-masked", "a2c").options);
          assert.match(
            html,
            /Content-Security-Policy" content="default-src 'none'; script-src 'self'/,
          );
        },
      );

      await t.step({
        name: "the page trains 3000 steps on WebGPU where Chromium has it, with a live chart",
        ignore: chromium === null,
        fn: async () => {
          const requested: string[] = [];
          const server = serve(dir, requested);
          const page = await ChromiumPage.launch(chromium!, {
            webgpu: true,
            loopback: true,
            width: 760,
            height: 900,
          });
          try {
            const base = `http://127.0.0.1:${server.addr.port}`;
            const status = await runDemo(page, `${base}/?steps=3000`, 300_000);
            const adapter = await page.evaluate<boolean>(ADAPTER);
            assert.equal(status.error, null);
            assert.equal(status.phase, "done");
            assert.deepEqual(page.errors, []);
            assert.equal(status.backend, adapter ? "webgpu" : "cpu");
            const said = await page.evaluate<string>(
              `document.getElementById("backend").textContent`,
            );
            assert.match(said, adapter ? /^Training on WebGPU/ : /^Training on the CPU backend/);
            assert.ok(status.steps >= 3000 && status.steps < 3000 + 8, `${status.steps} steps`);
            assert.ok(status.episodes > 10, `${status.episodes} episodes`);
            assert.equal(status.points, status.episodes, "every episode is a point of the curve");
            const drawn = await page.evaluate<{ marks: number; svg: number; ink: number }>(`(() => {
              const svg = document.querySelector("#chart svg");
              const canvas = document.getElementById("cart");
              const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
              let ink = 0;
              for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink++;
              return {
                svg: svg ? svg.getBoundingClientRect().width : 0,
                marks: document.querySelectorAll("#chart g.role-mark path").length,
                ink,
              };
            })()`);
            assert.ok(drawn.svg > 400, `the chart is ${drawn.svg} px wide`);
            assert.ok(
              drawn.marks >= status.points,
              `${drawn.marks} marks for ${status.points} points`,
            );
            assert.ok(drawn.ink > 1000, `the cart and pole cover ${drawn.ink} pixels`);
            assert.ok(status.displaySteps > 0, "the greedy policy played");
            const files = new Set(requested);
            files.delete("/favicon.ico");
            assert.deepEqual([...files].sort(), ["/", "/demo.js", "/rnnrl.js"]);
            assert.ok(
              page.requests.every((url) => url.startsWith(`${base}/`)),
              `the page asked only its server: ${page.requests}`,
            );
            console.log(
              `demo: ${status.steps} steps on ${status.backendLabel} at ` +
                `${Math.round(status.stepsPerSecond)} steps/s, ${status.episodes} episodes`,
            );
            const png = await page.screenshot();
            assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
            const shot = Deno.env.get("DEMO_SHOT");
            if (shot) await Deno.writeFile(shot, png);
          } finally {
            await page.close();
            await server.shutdown();
          }
        },
      });

      await t.step({
        name: "without WebGPU the page trains on the CPU backend and says so",
        ignore: chromium === null,
        fn: async () => {
          const server = serve(dir, []);
          const page = await ChromiumPage.launch(chromium!, { loopback: true });
          try {
            const base = `http://127.0.0.1:${server.addr.port}`;
            const status = await runDemo(page, `${base}/?steps=1000`, 120_000);
            const adapter = await page.evaluate<boolean>(ADAPTER);
            assert.equal(status.error, null);
            assert.deepEqual(page.errors, []);
            assert.equal(status.backend, adapter ? "webgpu" : "cpu");
            if (!adapter) assert.match(status.backendLabel, /^the CPU backend \(/);
            assert.ok(status.points > 0);
            console.log(`demo without --enable-unsafe-webgpu: ${status.backendLabel}`);
          } finally {
            await page.close();
            await server.shutdown();
          }
        },
      });

      await t.step("--serve serves the folder's files on 127.0.0.1 until SIGINT", async () => {
        const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = free.addr.port;
        free.close();
        const child = spawnTask("demo", [
          "--out",
          dir,
          "--steps",
          "500",
          "--serve",
          "--port",
          `${port}`,
        ]);
        try {
          const base = `http://127.0.0.1:${port}`;
          let index: Response | undefined;
          for (let i = 0; i < 100 && !index; i++) {
            index = await fetch(`${base}/`).catch(() => undefined);
            if (!index) await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.equal(index?.status, 200);
          assert.match(await index!.text(), /"steps":500/);
          const library = await fetch(`${base}/rnnrl.js`);
          assert.equal(library.headers.get("content-type"), "text/javascript; charset=utf-8");
          await library.body?.cancel();
          const other = await fetch(`${base}/../deno.json`);
          assert.equal(other.status, 404);
          await other.body?.cancel();
        } finally {
          child.kill("SIGINT");
        }
        const { code, stdout } = await child.output();
        assert.equal(code, 0);
        assert.match(new TextDecoder().decode(stdout), /serving .* on http:\/\/127\.0\.0\.1:\d+\//);
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
