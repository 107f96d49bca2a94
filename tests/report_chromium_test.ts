import assert from "node:assert/strict";
import { renderReport } from "../lib/report/html.ts";
import { readRun } from "../lib/report/run_data.ts";
import { ChromiumPage, findChromium } from "./helpers/chromium.ts";
import { makeRunDir } from "./helpers/report_fixture.ts";

const chromium = findChromium();
if (chromium === null) {
  console.warn(
    "report_chromium_test: skipped: no Chromium at CHROMIUM_PATH or /usr/bin/chromium " +
      "(apt-get install chromium)",
  );
}

const EVIL = "<script>window.__pwned = 1</script>";

interface ChartInfo {
  name: string;
  width: number;
  marks: number;
  drawnWidth: number;
}

Deno.test({
  name: "renderReport output renders offline in headless Chromium",
  ignore: chromium === null,
  fn: async (t) => {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_report_chromium_" });
    let page: ChromiumPage | undefined;
    try {
      await Deno.mkdir(`${root}/cart`);
      await makeRunDir(`${root}/cart`, { env: "cartpole", seed: 3, episodes: 150 });
      await Deno.mkdir(`${root}/mines`);
      await makeRunDir(`${root}/mines`, { env: "minesweeper", seed: 4, episodes: 150 });
      const cart = await readRun(`${root}/cart`, { name: EVIL });
      const mines = await readRun(`${root}/mines`);
      const html = await renderReport([cart, mines]);
      const path = `${root}/report.html`;
      await Deno.writeTextFile(path, html);
      const expectedCharts = (html.match(/<figure class="chart"/g) ?? []).length;

      page = await ChromiumPage.launch(chromium!, { width: 1200, height: 900 });
      await page.goto(`file://${path}`);
      const p = page;

      await t.step("every chart is an SVG with visible marks", async () => {
        const charts = await p.evaluate<ChartInfo[]>(`[...document.querySelectorAll("figure.chart")]
          .map((f) => {
            const svg = f.querySelector("svg");
            const drawn = [...f.querySelectorAll("g.role-mark > path, g.role-mark > line")];
            return {
              name: f.dataset.chart,
              width: svg ? svg.getBoundingClientRect().width : 0,
              marks: drawn.length,
              // The horizontal extent of all marks together.
              drawnWidth: Math.max(...drawn.map((e) => e.getBoundingClientRect().right)) -
                Math.min(...drawn.map((e) => e.getBoundingClientRect().left)),
            };
          })`);
        assert.equal(charts.length, expectedCharts);
        assert.ok(charts.length >= 15, `${charts.length} charts`);
        for (const c of charts) {
          assert.ok(c.width > 200, `${c.name} is ${c.width} px wide`);
          assert.ok(c.marks > 0 && c.drawnWidth > 50, `${c.name}: ${c.marks} marks`);
        }
      });

      await t.step("a run named like a script shows as text and runs nothing", async () => {
        const facts = await p.evaluate<{
          pwned: boolean;
          scripts: number;
          heading: string;
          title: string;
        }>(`({
          pwned: window.__pwned !== undefined,
          scripts: document.querySelectorAll("script").length,
          heading: document.querySelector("section.run h2").textContent,
          title: document.title,
        })`);
        assert.equal(facts.pwned, false);
        assert.equal(facts.scripts, 1);
        assert.equal(facts.heading, EVIL);
        assert.ok(facts.title.includes(EVIL));
      });

      await t.step("the CartPole replay follows the recorded states", async () => {
        assert.ok(cart.replay?.env === "cartpole");
        const frames = cart.replay.frames;
        for (const k of [0, Math.floor(frames.length / 2), frames.length - 1]) {
          const angle = await p.evaluate<number>(`(() => {
            const svg = document.querySelector("#run-0 svg.replay-anim");
            svg.pauseAnimations();
            svg.setCurrentTime(${(k + 0.5) * 0.02});
            return svg.querySelector("g.pole").transform.animVal[0].angle;
          })()`);
          const expected = (frames[k][2] * 180) / Math.PI;
          assert.ok(Math.abs(angle - expected) < 0.01, `frame ${k}: ${angle} vs ${expected}`);
        }
        const moved = await p.evaluate<number[]>(`(() => {
          const svg = document.querySelector("#run-0 svg.replay-anim");
          const x = (t) => {
            svg.setCurrentTime(t);
            return svg.querySelector("g.cart").transform.animVal[0].matrix.e;
          };
          return [x(0.01), x(${(frames.length - 0.5) * 0.02})];
        })()`);
        const scale = 600 / (2 * 2.4 * 1.2);
        const dx = (frames[frames.length - 1][0] - frames[0][0]) * scale;
        assert.ok(Math.abs(moved[1] - moved[0] - dx) < 0.2, `${moved} vs ${dx}`);
      });

      await t.step("the Minesweeper replay reveals each frame's cells at its time", async () => {
        assert.ok(mines.replay?.env === "minesweeper");
        const n = mines.replay.frames.length;
        assert.ok(n >= 3, `${n} frames`);
        const visible = await p.evaluate<string[][]>(`(() => {
          const svg = document.querySelector("#run-1 svg.replay-anim");
          svg.pauseAnimations();
          const at = (k) => {
            svg.setCurrentTime((k + 0.5) * 0.6);
            return [...svg.querySelectorAll("g[class^=frame-]")]
              .filter((g) => getComputedStyle(g).visibility === "visible")
              .map((g) => g.getAttribute("class"));
          };
          return [at(0), at(1), at(${n - 1})];
        })()`);
        assert.deepEqual(visible[0], ["frame-0"]);
        assert.deepEqual(visible[1], ["frame-0", "frame-1"]);
        assert.equal(visible[2].at(-1), `frame-${n - 1}`);
      });

      await t.step(
        "the inline script is allowed by the page's CSP and drives the slider",
        async () => {
          const label = await p.evaluate<string>(`(() => {
          const fig = document.querySelector("#run-0 figure.replay");
          const controls = fig.querySelector(".controls");
          if (controls.hidden) return "controls hidden: script did not run";
          const slider = controls.querySelector("input");
          slider.value = "10";
          slider.dispatchEvent(new Event("input"));
          return controls.querySelector("span").textContent;
        })()`);
          assert.equal(label, `frame 11 / ${cart.replay!.frames.length}`);
        },
      );

      await t.step("the page requested nothing but itself", () => {
        assert.deepEqual(p.requests, [`file://${path}`]);
      });

      await t.step("a screenshot of the whole page is a large PNG", async () => {
        const png = await p.screenshot();
        assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
        const view = new DataView(png.buffer, png.byteOffset);
        const [width, height] = [view.getUint32(16), view.getUint32(20)];
        assert.ok(width >= 1000 && height > 3000, `${width}×${height}`);
        const out = Deno.env.get("REPORT_SHOT");
        if (out) await Deno.writeFile(out, png);
      });
    } finally {
      await page?.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
