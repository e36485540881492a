import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { parseSpec, type Problem } from "../../../src/spec/index.js";
import { fixture, GOOD_FIXTURES } from "./helpers.js";

/** Mutations per fixture and kind; raise with HACTL_FUZZ_ITERATIONS=2000 for a longer run. */
const ITERATIONS = Number(process.env.HACTL_FUZZ_ITERATIONS ?? 80);

/** A small deterministic PRNG (mulberry32) so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  65536,
  1e308,
  Number.MAX_SAFE_INTEGER,
  "",
  " ",
  "x",
  "node-1",
  "10.0.0.11",
  "a; rm -rf /",
  "$(id)",
  "`id`",
  "a\nb",
  "\u0000",
  "ü",
  "🙂",
  "a".repeat(5000),
  "control-plane",
  "worker",
  "keepalived-haproxy",
  "external",
  "none",
  "1.29",
  [],
  [1, 2],
  ["a"],
  {},
  { env: "X" },
  { file: "/x" },
  { env: "a b" },
  { name: "n", address: "10.0.0.1", role: "worker" },
  { "": 1 },
  { __proto__: 1 },
  { constructor: "x" },
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function mutate(doc: Json, random: () => number): Json {
  const copy = structuredClone(doc);
  const all = paths(copy).filter((p) => p.length > 0);
  const steps = 1 + Math.floor(random() * 3);
  for (let s = 0; s < steps; s++) {
    const path = all[Math.floor(random() * all.length)];
    if (!path) continue;
    let parent: unknown = copy;
    for (const seg of path.slice(0, -1)) parent = (parent as Record<string | number, unknown> | undefined)?.[seg];
    if (!parent || typeof parent !== "object") continue;
    const key = path[path.length - 1] as string | number;
    const target = parent as Record<string | number, unknown>;
    const choice = random();
    if (choice < 0.6) target[key] = structuredClone(VALUES[Math.floor(random() * VALUES.length)]);
    else if (choice < 0.75) delete target[key];
    else if (choice < 0.85) target[`${String(key)}x`] = 1;
    else if (Array.isArray(target)) target.push(structuredClone(target[0]) as Json);
    else target[key] = structuredClone(target[key]);
  }
  return copy;
}

function assertWellFormed(problems: Problem[], context: string): void {
  for (const p of problems) {
    expect(p.path.length, context).toBeGreaterThan(0);
    expect(p.message.startsWith(`${p.path}: `), `${context}: ${p.message}`).toBe(true);
    expect(p.fix.length, `${context}: ${p.message}`).toBeGreaterThan(0);
    expect(p.line, context).toBeGreaterThanOrEqual(1);
    expect(p.column, context).toBeGreaterThanOrEqual(1);
    expect(["error", "warning"]).toContain(p.severity);
  }
}

describe("fuzzing cluster.yaml never crashes the validator", { timeout: 60_000 }, () => {
  it.each(GOOD_FIXTURES)("structural mutations of %s", (name) => {
    const base = parseYaml(fixture(`good/${name}`)) as Json;
    for (let seed = 1; seed <= ITERATIONS; seed++) {
      const random = rng(seed * 7919 + name.length);
      const text = stringify(mutate(base, random));
      let result: ReturnType<typeof parseSpec> | undefined;
      expect(() => (result = parseSpec(text, name)), `seed ${seed}`).not.toThrow();
      if (!result) continue;
      assertWellFormed(result.problems, `${name} seed ${seed}`);
      if (!result.spec)
        expect(
          result.problems.some((p) => p.severity === "error"),
          `seed ${seed}`,
        ).toBe(true);
    }
  });

  it.each(GOOD_FIXTURES)("byte-level mutations of %s", (name) => {
    const base = fixture(`good/${name}`);
    const junk = [
      "{",
      "}",
      "[",
      "]",
      ":",
      "-",
      "\t",
      "\n",
      " ",
      "&a",
      "*a",
      "!!binary",
      "'",
      '"',
      "#",
      "|",
      ">",
      "%",
      "@",
      "\u0000",
      "🙂",
      "---\n",
    ];
    for (let seed = 1; seed <= ITERATIONS; seed++) {
      const random = rng(seed);
      let text = base;
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * text.length);
        const r = random();
        if (r < 0.4) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 5));
        else text = text.slice(0, at) + junk[Math.floor(random() * junk.length)] + text.slice(at);
      }
      let result: ReturnType<typeof parseSpec> | undefined;
      expect(() => (result = parseSpec(text, name)), `seed ${seed}`).not.toThrow();
      if (result) assertWellFormed(result.problems, `${name} byte seed ${seed}`);
    }
  });

  it("alias bombs and huge inputs are refused", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    ].join("\n");
    const r1 = parseSpec(bomb);
    expect(r1.spec).toBeUndefined();
    expect(r1.problems[0]?.message).toContain("(document): YAML");
    const r2 = parseSpec(`x: "${"a".repeat(2 * 1024 * 1024)}"`);
    expect(r2.problems[0]?.message).toMatch(/the limit is 1048576$/);
  });
});
