/**
 * JSON value types and a strict check that a value survives `JSON.stringify` unchanged (no NaN,
 * no undefined, no class instances), for headers and logs that must round-trip exactly.
 *
 * @module
 */

/** A value that `JSON.stringify` writes and `JSON.parse` reads back unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  /** Any key maps to a JSON value. */
  [key: string]: JsonValue;
}

/**
 * Throws a TypeError naming the first part of `value` that is not plain JSON: a non-finite number,
 * `undefined`, a function, a bigint, a symbol, a cycle, or an object that is not a plain object or
 * array (a Date, a Map, a typed array).
 *
 * @param value The value to check.
 * @param what How to name the value in the error, e.g. "checkpoint header".
 *
 * @example
 * ```ts
 * import { assertJsonValue } from "./json.ts";
 * assertJsonValue({ step: 10, rng: [1, 2, 3, 4] }, "header");
 * let threw = false;
 * try {
 *   assertJsonValue({ loss: NaN }, "header");
 * } catch {
 *   threw = true;
 * }
 * if (!threw) throw new Error("NaN is not JSON");
 * ```
 */
export function assertJsonValue(value: unknown, what: string): asserts value is JsonValue {
  const problem = findNonJson(value, what, new Set());
  if (problem !== null) throw new TypeError(`Cannot store ${what} as JSON: ${problem}`);
}

function findNonJson(value: unknown, path: string, open: Set<object>): string | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : `${path} is ${value}`;
    case "object": {
      if (value === null) return null;
      if (open.has(value)) return `${path} is a cycle`;
      if (Array.isArray(value)) {
        open.add(value);
        for (let i = 0; i < value.length; i++) {
          const problem = findNonJson(value[i], `${path}[${i}]`, open);
          if (problem !== null) return problem;
        }
        open.delete(value);
        return null;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        return `${path} is a ${proto?.constructor?.name ?? "non-plain object"}, not a plain object`;
      }
      open.add(value);
      for (const [key, item] of Object.entries(value)) {
        const problem = findNonJson(item, `${path}.${key}`, open);
        if (problem !== null) return problem;
      }
      open.delete(value);
      return null;
    }
    default:
      return `${path} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}`;
  }
}

/**
 * Writes `value` as JSON with object keys sorted at every level, so that equal values give equal
 * text whatever order their keys were set in (for hashing configurations).
 *
 * @param value A JSON value (checked with {@linkcode assertJsonValue}).
 * @returns Compact JSON text with sorted keys.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./json.ts";
 * if (canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) !== '{"a":[2,{"c":4,"d":3}],"b":1}') {
 *   throw new Error("keys are sorted");
 * }
 * ```
 */
export function canonicalJson(value: unknown): string {
  assertJsonValue(value, "value");
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  // A null prototype keeps a "__proto__" key an ordinary property.
  const sorted: JsonObject = Object.create(null);
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
  return sorted;
}
