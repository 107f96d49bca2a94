/**
 * Option handling that every agent shares: resolving a partial options object against the
 * defaults (an unknown option is an error with a did-you-mean, never silently ignored), the
 * range checks of single values, and naming the option that differs between two resolved sets.
 *
 * @module
 */

import { canonicalJson, type JsonValue } from "../io/json.ts";

/**
 * Lays `given` over `defaults` after checking that every key of `given` is an option: a key that
 * is not is a TypeError naming the nearest option (or all of them). Keys whose value is
 * `undefined` count as not given.
 *
 * @param agent The agent as messages name it ("DQN").
 * @param defaults Every option with its default value.
 * @param given The options the caller set.
 * @param extra Names accepted besides the defaults' keys (options without a default).
 * @returns A new object: the defaults with `given` laid over them.
 * @throws {TypeError} For an unknown option or a `given` that is not an object.
 */
export function resolveOptions<T extends object>(
  agent: string,
  defaults: Readonly<T>,
  given: Partial<T> | undefined,
  extra: readonly string[] = [],
): T {
  if (given === undefined || given === null) return { ...defaults };
  if (typeof given !== "object" || Array.isArray(given)) {
    throw new TypeError(`Cannot configure ${agent}: its options must be an object`);
  }
  const known = [...Object.keys(defaults), ...extra];
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    if (!known.includes(key)) throw unknownOption(agent, key, known);
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/** Options that were renamed, by their old name: a typo of the old name points to the new one. */
const RENAMED_OPTIONS: Readonly<Record<string, string>> = { lstmUnits: "cellUnits" };

/** The error for an option an agent does not have. */
export function unknownOption(agent: string, key: string, known: readonly string[]): TypeError {
  const renamed = Object.keys(RENAMED_OPTIONS).filter((old) =>
    known.includes(RENAMED_OPTIONS[old])
  );
  const guess = nearest(key, [...known, ...renamed]);
  const near = guess !== undefined && renamed.includes(guess) ? RENAMED_OPTIONS[guess] : guess;
  return new TypeError(
    near
      ? `Cannot use option ${key} with ${agent}: did you mean ${near}?`
      : `Cannot use option ${key} with ${agent}: its options are ${known.join(", ")}`,
  );
}

/** The candidate closest to `word` in edit distance, if it is close enough to be a typo. */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined, bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const swap = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + swap));
    }
    previous = row;
  }
  return previous[b.length];
}

/**
 * The first option (a dotted path) whose value differs between two resolved option sets, with
 * both values, or undefined when they are equal.
 *
 * @example
 * ```ts
 * import { optionDifference } from "./_options.ts";
 * const d = optionDifference({ gamma: 0.9, epsilon: { end: 0.1 } }, { gamma: 0.9, epsilon: { end: 0.05 } });
 * if (d !== "epsilon.end 0.1, not 0.05") throw new Error(d);
 * ```
 */
export function optionDifference(saved: unknown, current: unknown): string | undefined {
  const walk = (a: unknown, b: unknown, path: string): string | undefined => {
    const objects = a !== null && b !== null && typeof a === "object" && typeof b === "object" &&
      !Array.isArray(a) && !Array.isArray(b);
    if (objects) {
      const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])];
      for (const key of keys.sort()) {
        const found = walk(
          (a as Record<string, unknown>)[key],
          (b as Record<string, unknown>)[key],
          path ? `${path}.${key}` : key,
        );
        if (found) return found;
      }
      return undefined;
    }
    const text = (x: unknown) => x === undefined ? "nothing" : canonicalJson(x as JsonValue);
    return text(a) === text(b) ? undefined : `${path || "the options"} ${text(a)}, not ${text(b)}`;
  };
  return walk(saved, current, "");
}

/** Checks that an option is a positive integer. */
export function positiveInteger(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new RangeError(`Cannot use ${name} ${value}: expected a positive integer`);
  }
  return value;
}

/** Checks that an option is an integer >= 0. */
export function nonNegativeInteger(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 0)) {
    throw new RangeError(`Cannot use ${name} ${value}: expected an integer >= 0`);
  }
  return value;
}

/** Checks that a number lies in [low, high]. */
export function inRange(value: number, low: number, high: number, name: string): number {
  if (!(value >= low && value <= high)) {
    throw new RangeError(`Cannot use ${name} ${value}: expected a number in [${low}, ${high}]`);
  }
  return value;
}

/** Checks a seed (any integer). */
export function integerSeed(value: number): number {
  if (!Number.isInteger(value)) throw new RangeError(`Cannot use seed ${value}: not an integer`);
  return value;
}

/** Checks a list of positive integer layer sizes and returns a copy. */
export function layerSizes(value: number[], name: string): number[] {
  if (!Array.isArray(value)) throw new TypeError(`Cannot use ${name}: not an array`);
  return value.map((h) => positiveInteger(h, "a hidden size"));
}
