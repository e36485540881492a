import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { clusterJsonSchema } from "../../../src/spec/index.js";

const DOC = readFileSync(fileURLToPath(new URL("../../../docs/cluster-yaml.md", import.meta.url)), "utf8");

type Schema = Record<string, unknown>;

/** What a map's keys are called in the docs, by the map's path (default: services, as in spec.replicas). */
const KEY_NAMES: Record<string, string> = { "spec.deploy[].secretValues": "<value path>" };

/** Every leaf field of the schema as a documented path: spec.nodes[].name, spec.replicas.<service>, ... */
function fieldPaths(schema: Schema, prefix: string, out: Set<string>): void {
  const alternatives = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (alternatives) {
    const objects = alternatives.filter((a) => a.type === "object" && a.properties);
    if (objects.some((o) => "env" in (o.properties as Schema))) {
      out.add(prefix);
      return;
    }
    for (const a of alternatives) fieldPaths(a, prefix, out);
    return;
  }
  if (schema.type === "array" && schema.items) {
    const items = schema.items as Schema;
    if (items.type === "object") fieldPaths(items, `${prefix}[]`, out);
    else out.add(prefix);
    return;
  }
  if (schema.type === "object" && schema.properties) {
    for (const [key, sub] of Object.entries(schema.properties as Record<string, Schema>)) {
      const path = prefix ? `${prefix}.${key}` : key;
      // Per-node and per-host ssh overrides are documented once, as "any subset of spec.ssh".
      if (key === "ssh" && prefix !== "spec") out.add(path);
      else fieldPaths(sub, path, out);
    }
    return;
  }
  if (schema.type === "object" && typeof schema.additionalProperties === "object") {
    out.add(`${prefix}.${KEY_NAMES[prefix] ?? "<service>"}`);
    return;
  }
  out.add(prefix);
}

describe("docs/cluster-yaml.md", () => {
  const paths = new Set<string>();
  fieldPaths(clusterJsonSchema(), "", paths);

  it("finds the fields of the schema", () => {
    expect(paths.size).toBeGreaterThan(60);
    expect(paths).toContain("spec.nodes[].ssh");
  });

  it.each([...paths])("documents %s", (path) => {
    expect(DOC).toContain(`\`${path}\``);
  });
});
