import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseSpec } from "../../../src/spec/parse.js";
import { baseSpec, brokenDocuments, randomHostileSpecs, type BaseSpecInput } from "./hostile-specs.js";

const machines: BaseSpecInput = {
  addresses: ["10.0.0.11", "10.0.0.12", "10.0.0.13"],
  vip: "10.0.0.100",
  identityFile: "/home/ops/.ssh/id_ed25519",
  knownHostsFile: "/home/ops/.ssh/known_hosts",
};

describe("cluster.yaml fuzzing (in process)", () => {
  it("the base document the fuzzer mutates is valid", () => {
    const r = parseSpec(stringify(baseSpec(machines)));
    expect(r.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(r.spec?.spec.nodes).toHaveLength(3);
  });

  const cases = [...brokenDocuments(machines), ...randomHostileSpecs(machines, 0x8a7c71, 400)];
  it.each(cases.map((c) => [c.name, c.text] as const))(
    "rejects %s with a located error and never throws",
    (_name, text) => {
      const started = Date.now();
      const r = parseSpec(text, "fuzz.yaml");
      expect(Date.now() - started).toBeLessThan(2000);
      expect(r.spec).toBeUndefined();
      const errors = r.problems.filter((p) => p.severity === "error");
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) {
        expect(e.message.length).toBeGreaterThan(0);
        expect(e.line).toBeGreaterThanOrEqual(1);
        expect(e.message.length).toBeLessThan(2000);
      }
    },
  );
});
