/**
 * Drawings of a recorded evaluation episode (`replay.json`, documented in run_data.ts) as SVG
 * that animates without JavaScript: SVG's own animation elements (SMIL) step through the frames
 * in a loop, and the SVG's static content is the first frame. The report adds a small script
 * with pause and a frame slider on top, using the SVG's `pauseAnimations` and `setCurrentTime`.
 *
 * @module
 */

import type { CartPoleReplay, MinesweeperReplay } from "./run_data.ts";

/** An animated drawing of an episode. */
export interface ReplayDrawing {
  /** The SVG markup (class `replay-anim`). */
  svg: string;
  /** The number of frames. */
  frames: number;
  /** Seconds each frame is shown. */
  frameSeconds: number;
}

/** Gymnasium's CartPole constants used by the drawing. */
const CARTPOLE = { xThreshold: 2.4, poleLength: 1.0, tau: 0.02 };

function round(x: number, digits: number): string {
  return String(Number(x.toFixed(digits)));
}

/**
 * Draws a CartPole episode: the track with its ±2.4 m limits, the cart and the pole, animated at
 * the environment's own 50 frames a second, with a progress bar.
 *
 * @param replay The recorded states.
 * @returns The drawing.
 * @example
 * ```ts
 * import { cartPoleReplaySvg } from "@rnnrl/rnnrl/report";
 * const d = cartPoleReplaySvg({ env: "cartpole", frames: [[0, 0, 0.02, 0], [0.1, 0.2, 0.03, 0.1]] });
 * if (d.frames !== 2 || !d.svg.includes("animateTransform")) throw new Error("drawn");
 * ```
 */
export function cartPoleReplaySvg(replay: CartPoleReplay): ReplayDrawing {
  const width = 600;
  const height = 240;
  const scale = width / (2 * CARTPOLE.xThreshold * 1.2);
  const trackY = 200;
  const cartW = 52;
  const cartH = 26;
  const poleLength = CARTPOLE.poleLength * scale;
  const n = replay.frames.length;
  const dur = round(n * CARTPOLE.tau, 3);
  const xs = replay.frames.map(([x]) => round(width / 2 + x * scale, 1));
  const degrees = replay.frames.map(([, , theta]) => round((theta * 180) / Math.PI, 2));
  const limit = CARTPOLE.xThreshold * scale;
  const discrete = `calcMode="discrete" dur="${dur}s" repeatCount="indefinite"`;
  const svg = [
    `<svg class="replay-anim" xmlns="http://www.w3.org/2000/svg" width="${width}" ` +
    `height="${height}" viewBox="0 0 ${width} ${height}" role="img" ` +
    `aria-label="CartPole episode, ${n} frames">`,
    `<rect width="${width}" height="${height}" fill="#fbfbfd"/>`,
    `<line x1="0" y1="${trackY}" x2="${width}" y2="${trackY}" stroke="#333" stroke-width="2"/>`,
    ...[-limit, limit].map((dx) =>
      `<line x1="${round(width / 2 + dx, 1)}" y1="${trackY - 120}" x2="${
        round(width / 2 + dx, 1)
      }" ` +
      `y2="${trackY + 10}" stroke="#c33" stroke-dasharray="4 4"/>`
    ),
    `<g class="cart" transform="translate(${xs[0]},0)">`,
    `<animateTransform attributeName="transform" type="translate" values="${xs.join(";")}" ` +
    `${discrete}/>`,
    `<rect x="${-cartW / 2}" y="${trackY - cartH}" width="${cartW}" height="${cartH}" rx="3" ` +
    `fill="#2b2b2b"/>`,
    `<g transform="translate(0,${trackY - cartH})"><g class="pole" transform="rotate(${
      degrees[0]
    })">`,
    `<animateTransform attributeName="transform" type="rotate" values="${degrees.join(";")}" ` +
    `${discrete}/>`,
    `<rect x="-5" y="${round(-poleLength, 1)}" width="10" height="${round(poleLength, 1)}" ` +
    `fill="#ca9865" stroke="#8a5a2b"/>`,
    `</g><circle r="5" fill="#8184cb"/></g>`,
    `</g>`,
    `<rect class="progress" x="0" y="${height - 6}" width="0" height="6" fill="#4a90d9">`,
    `<animate attributeName="width" from="0" to="${width}" dur="${dur}s" repeatCount="indefinite"/>`,
    `</rect>`,
    `</svg>`,
  ].join("\n");
  return { svg, frames: n, frameSeconds: CARTPOLE.tau };
}

const COUNT_COLORS = [
  "",
  "#1f4fd1",
  "#1b7a1b",
  "#d11f1f",
  "#1a1a7a",
  "#7a1a1a",
  "#1a7a7a",
  "#111",
  "#777",
];

function cellSvg(
  value: number,
  col: number,
  row: number,
  size: number,
  exploded: boolean,
): string {
  const x = col * size;
  const y = row * size;
  if (value === -1) {
    return `<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="#aab4c3" ` +
      `stroke="#e6eaf0"/>`;
  }
  const fill = exploded ? "#e53935" : "#eef0f3";
  const parts = [
    `<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="${fill}" stroke="#c9ced6"/>`,
  ];
  const cx = x + size / 2;
  const cy = y + size / 2;
  if (value === 9) {
    parts.push(`<circle cx="${cx}" cy="${cy}" r="${round(size * 0.28, 1)}" fill="#111"/>`);
  } else if (value > 0) {
    parts.push(
      `<text x="${cx}" y="${round(cy + size * 0.22, 1)}" text-anchor="middle" ` +
        `font-family="sans-serif" font-weight="bold" font-size="${round(size * 0.62, 1)}" ` +
        `fill="${COUNT_COLORS[value]}">${value}</text>`,
    );
  }
  return parts.join("");
}

function boardSvg(replay: MinesweeperReplay, frame: number, size: number): string {
  const { board, action } = replay.frames[frame];
  return board
    .map((v, i) =>
      cellSvg(v, i % replay.width, Math.floor(i / replay.width), size, v === 9 && i === action)
    )
    .join("");
}

/**
 * Draws a Minesweeper episode. The first frame's board is drawn whole; each later frame adds,
 * at its time, only the cells that changed, and a ring marks the clicked cell. A second, static
 * SVG shows the final board.
 *
 * @param replay The recorded boards.
 * @returns The animated drawing and the final board.
 * @example
 * ```ts
 * import { minesweeperReplaySvg } from "@rnnrl/rnnrl/report";
 * const d = minesweeperReplaySvg({
 *   env: "minesweeper", width: 2, height: 1,
 *   frames: [{ board: [-1, -1], action: null }, { board: [1, -1], action: 0 }],
 * });
 * if (d.frames !== 2) throw new Error("drawn");
 * ```
 */
export function minesweeperReplaySvg(
  replay: MinesweeperReplay,
): ReplayDrawing & { finalSvg: string } {
  const { width, height, frames } = replay;
  const size = Math.max(12, Math.min(28, Math.floor(560 / width)));
  const w = width * size;
  const h = height * size;
  const n = frames.length;
  const frameSeconds = 0.6;
  const dur = round(n * frameSeconds, 3);
  const open = (cls: string, label: string) =>
    `<svg class="${cls}" xmlns="http://www.w3.org/2000/svg" width="${w + 4}" height="${h + 4}" ` +
    `viewBox="-2 -2 ${w + 4} ${h + 4}" role="img" aria-label="${label}">`;
  const parts = [
    open("replay-anim", `Minesweeper episode, ${n} frames`),
    `<g class="frame-0">${boardSvg(replay, 0, size)}</g>`,
  ];
  for (let k = 1; k < n; k++) {
    const before = frames[k - 1].board;
    const { board, action } = frames[k];
    const changed: string[] = [];
    board.forEach((v, i) => {
      if (v !== before[i]) {
        changed.push(
          cellSvg(v, i % width, Math.floor(i / width), size, v === 9 && i === action),
        );
      }
    });
    if (changed.length === 0) continue;
    parts.push(
      `<g class="frame-${k}" visibility="hidden"><animate attributeName="visibility" ` +
        `values="hidden;visible" keyTimes="0;${round(k / n, 6)}" calcMode="discrete" ` +
        `dur="${dur}s" repeatCount="indefinite"/>${changed.join("")}</g>`,
    );
  }
  const cellX = frames.map((f) => (f.action === null ? 0 : (f.action % width) * size));
  const cellY = frames.map((f) => (f.action === null ? 0 : Math.floor(f.action / width) * size));
  const shown = frames.map((f) => (f.action === null ? 0 : 1));
  const discrete = `calcMode="discrete" dur="${dur}s" repeatCount="indefinite"`;
  parts.push(
    `<rect class="click" x="${cellX[0]}" y="${cellY[0]}" width="${size}" height="${size}" ` +
      `fill="none" stroke="#ff9800" stroke-width="3" opacity="${shown[0]}">` +
      `<animate attributeName="x" values="${cellX.join(";")}" ${discrete}/>` +
      `<animate attributeName="y" values="${cellY.join(";")}" ${discrete}/>` +
      `<animate attributeName="opacity" values="${shown.join(";")}" ${discrete}/></rect>`,
    `</svg>`,
  );
  const finalSvg = open("replay-final", "Minesweeper final board") +
    boardSvg(replay, n - 1, size) + `</svg>`;
  return { svg: parts.join("\n"), frames: n, frameSeconds, finalSvg };
}
