// Two losses composed from the elementwise building blocks of the Backend interface, for the
// tests of those ops on every backend: a masked Huber loss (checked against the fused
// `huberLoss`) and PPO's clipped surrogate with its gradient (checked against finite
// differences). Each composition disposes every intermediate; the caller owns loss and grad.
import type { Backend, LossResult, Tensor } from "../../lib/backend/backend.ts";
import { Rng } from "../../lib/io/rng.ts";

/** Runs `body` with a `keep` that records intermediates, and disposes them all afterwards. */
function withTemps<T>(backend: Backend, body: (keep: (t: Tensor) => Tensor) => T): T {
  const temps: Tensor[] = [];
  try {
    return body((t) => {
      temps.push(t);
      return t;
    });
  } finally {
    for (const t of temps) backend.dispose(t);
  }
}

/**
 * The Huber loss of the elements where `mask` is non-zero, summed and divided by the number of
 * all elements (so with a mask of ones it is `huberLoss`), and its gradient with respect to the
 * prediction. With `q = min(|d|, δ)` for `d = p − t`, Huber is `q²/2 + δ·(|d| − q)` and its
 * derivative is `clamp(d, −δ, δ)`. Masked elements are dropped with `where`, not multiplied by
 * 0, so a NaN or an infinity there does not leak into the loss.
 */
export function maskedHuberLoss(
  backend: Backend,
  prediction: Tensor,
  target: Tensor,
  mask: Tensor,
  delta: number,
): LossResult {
  const n = prediction.size;
  return withTemps(backend, (keep) => {
    const zeros = keep(backend.zeros(prediction.shape));
    const d = keep(backend.sub(prediction, target));
    const ad = keep(backend.abs(d));
    const q = keep(backend.minimum(ad, keep(backend.addScalar(zeros, delta))));
    const quadratic = keep(backend.scale(keep(backend.mul(q, q)), 0.5));
    const linear = keep(backend.scale(keep(backend.sub(ad, q)), delta));
    const each = keep(backend.add(quadratic, linear));
    const total = keep(backend.sum(keep(backend.where(mask, each, zeros))));
    const slope = keep(backend.where(mask, keep(backend.clamp(d, -delta, delta)), zeros));
    return { loss: backend.scale(total, 1 / n), grad: backend.scale(slope, 1 / n) };
  });
}

/**
 * PPO's clipped surrogate loss `−mean(min(r·A, clamp(r, 1 − ε, 1 + ε)·A))` with the ratio
 * `r = exp(logp − logpOld)`, and its gradient with respect to `logp`. Since `dr/dlogp = r`, the
 * gradient of each term is `r·A` where the unclipped term is the minimum, else the clipped
 * term's, `r·A` inside the clip range and 0 outside it.
 */
export function ppoClippedLoss(
  backend: Backend,
  logp: Tensor,
  logpOld: Tensor,
  advantages: Tensor,
  epsilon: number,
): LossResult {
  const n = logp.size;
  return withTemps(backend, (keep) => {
    const zeros = keep(backend.zeros(logp.shape));
    const ratio = keep(backend.exp(keep(backend.sub(logp, logpOld))));
    const unclipped = keep(backend.mul(ratio, advantages));
    const clippedRatio = keep(backend.clamp(ratio, 1 - epsilon, 1 + epsilon));
    const clipped = keep(backend.mul(clippedRatio, advantages));
    const total = keep(backend.sum(keep(backend.minimum(unclipped, clipped))));
    // d(r·A)/dlogp = r·A, which is `unclipped` itself.
    const above = keep(backend.greater(ratio, keep(backend.addScalar(zeros, 1 - epsilon))));
    const below = keep(backend.greater(keep(backend.addScalar(zeros, 1 + epsilon)), ratio));
    const dClipped = keep(backend.mul(unclipped, keep(backend.mul(above, below))));
    const unclippedIsMin = keep(backend.greaterEqual(clipped, unclipped));
    const dSurrogate = keep(backend.where(unclippedIsMin, unclipped, dClipped));
    return { loss: backend.scale(total, -1 / n), grad: backend.scale(dSurrogate, -1 / n) };
  });
}

/**
 * A PPO problem of `n` terms: log-ratios spread over and beyond the clip range but kept 1e-3
 * away from its kinks at 1 ± ε (where float32 rounding could flip a branch), and advantages of
 * both signs.
 */
export function ppoProblem(
  seed: number,
  n: number,
  eps: number,
): { logp: number[]; logpOld: number[]; adv: number[] } {
  const rng = new Rng(seed);
  const logpOld = Array.from({ length: n }, () => -1 - rng.uniform());
  const logp = logpOld.map((l, i) => {
    let diff: number;
    do diff = (rng.uniform() * 2 - 1) * 0.6; while (
      Math.abs(Math.exp(diff) - (1 - eps)) < 1e-3 || Math.abs(Math.exp(diff) - (1 + eps)) < 1e-3
    );
    return l + (i % 5 === 0 ? 0 : diff);
  });
  const adv = Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (0.1 + rng.uniform()));
  return { logp, logpOld, adv };
}
