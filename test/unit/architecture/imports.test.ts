import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The same order as eslint.config.js: a layer imports only from itself or the layers after it.
const LAYERS = [
  ["cli"],
  ["actions", "wizard"],
  ["phases", "bundle"],
  ["gather", "lb", "distros", "ssh"],
  ["spec", "ui"],
  ["core"],
];
const SRC = fileURLToPath(new URL("../../../src", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of a file, static or dynamic, type-only included: a cycle of types is still a cycle to a reader. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^"'`;]*?from\s+["'](\.[^"']+)["']/g),
    ...text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g),
  ].map((m) => m[1] as string);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, ".ts")));
}

const layerOf = (file: string): number => {
  const top = relative(SRC, file).split("/")[0] ?? "";
  return LAYERS.findIndex((l) => l.includes(top));
};

const graph = new Map(sourceFiles(SRC).map((f) => [f, importsOf(f)]));
const name = (f: string): string => relative(SRC, f);

describe("src imports", () => {
  it("every top-level folder of src has a layer", () => {
    const tops = new Set([...graph.keys()].map((f) => relative(SRC, f).split("/")[0] ?? ""));
    expect([...tops].filter((t) => !t.endsWith(".ts") && !LAYERS.flat().includes(t))).toEqual([]);
  });

  it("only go down the layers", () => {
    const upward = [...graph].flatMap(([file, deps]) =>
      deps.filter((d) => layerOf(d) >= 0 && layerOf(d) < layerOf(file)).map((d) => `${name(file)} → ${name(d)}`),
    );
    expect(upward).toEqual([]);
  });

  it("form no cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, "open");
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (!graph.has(d)) continue;
        if (state.get(d) === "open") cycles.push([...stack.slice(stack.indexOf(d)), d].map(name).join(" → "));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, "done");
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it("resolve to files that exist", () => {
    const missing = [...graph].flatMap(([file, deps]) =>
      deps.filter((d) => !graph.has(d)).map((d) => `${name(file)} → ${name(d)}`),
    );
    expect(missing).toEqual([]);
  });
});
