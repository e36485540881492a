import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { clusterJsonSchema, SCHEMA_ID } from "../../../src/spec/index.js";
import { fixture, GOOD_FIXTURES } from "./helpers.js";

type Schema = Record<string, unknown>;

/**
 * A deliberately small JSON Schema checker (the keywords z.toJSONSchema emits for cluster.yaml), so the
 * test shows that editors using the schema accept the good files and reject bad ones.
 */
function validate(schema: Schema, value: unknown, path = "$"): string[] {
  const errors: string[] = [];
  const anyOf = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (anyOf) {
    const ok = anyOf.filter((s) => validate(s, value, path).length === 0);
    if (ok.length === 0) errors.push(`${path}: matches no alternative`);
  }
  if ("const" in schema && schema.const !== value) errors.push(`${path}: not ${String(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: not in enum`);
  const type = schema.type;
  const actual = Array.isArray(value)
    ? "array"
    : value === null
      ? "null"
      : Number.isInteger(value)
        ? "integer"
        : typeof value;
  if (typeof type === "string" && type !== actual && !(type === "number" && actual === "integer"))
    return [...errors, `${path}: ${actual} is not ${type}`];
  if (typeof value === "string") {
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
      errors.push(`${path}: pattern`);
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) errors.push(`${path}: too long`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${path}: below minimum`);
    if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${path}: above maximum`);
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, `${path}[${i}]`)));
  if (actual === "object" && value) {
    const record = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[])
      if (!(key in record)) errors.push(`${path}.${key}: required`);
    for (const [key, v] of Object.entries(record)) {
      const sub = props[key];
      if (sub) errors.push(...validate(sub, v, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}.${key}: not allowed`);
      else if (typeof schema.additionalProperties === "object")
        errors.push(...validate(schema.additionalProperties as Schema, v, `${path}.${key}`));
    }
  }
  return errors;
}

describe("clusterJsonSchema", () => {
  const schema = clusterJsonSchema();

  it("is a draft 2020-12 schema with an id and a title", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toBe(SCHEMA_ID);
    expect(schema.title).toBe("hactl cluster.yaml");
    expect(schema.required).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it("describes the fields editors complete, with enums and defaults", () => {
    const text = JSON.stringify(schema);
    for (const needle of [
      '"control-plane"',
      '"keepalived-haproxy"',
      '"external"',
      '"kubeadm"',
      '"default":7443',
      '"default":"10.244.0.0/16"',
      '"evictionTimeoutSeconds"',
      '"sudoPassword"',
    ]) {
      expect(text).toContain(needle);
    }
  });

  it("every pattern is a valid JavaScript regular expression with the u flag", () => {
    const patterns = [...JSON.stringify(schema).matchAll(/"pattern":("(?:[^"\\]|\\.)*")/g)].map(
      (m) => JSON.parse(m[1] ?? '""') as string,
    );
    expect(patterns.length).toBeGreaterThan(10);
    for (const p of patterns) expect(() => new RegExp(p, "u")).not.toThrow();
  });

  it.each(GOOD_FIXTURES)("accepts %s", (name) => {
    expect(validate(schema, parseYaml(fixture(`good/${name}`)))).toEqual([]);
  });

  it("rejects a wrong role, a shell string in a name, a literal secret and an unknown field", () => {
    const doc = parseYaml(fixture("good/microk8s-minimal.yaml")) as {
      spec: Record<string, unknown> & { nodes: Record<string, unknown>[] };
    };
    const bad = structuredClone(doc);
    const [first, second] = bad.spec.nodes;
    if (!first || !second) throw new Error("fixture has nodes");
    first.role = "master";
    second.name = "x;reboot";
    bad.spec.ssh = { sudoPassword: "hunter2" };
    bad.spec.colour = "blue";
    const errors = validate(schema, bad);
    expect(errors).toEqual(
      expect.arrayContaining([
        "$.spec.ssh.sudoPassword: matches no alternative",
        "$.spec.nodes[0].role: not in enum",
        "$.spec.nodes[1].name: pattern",
        "$.spec.colour: not allowed",
      ]),
    );
  });
});
