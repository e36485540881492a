import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import {
  autoscaleValues,
  checkHaNodeCount,
  haValues,
  parseIntFlag,
  parseReplicas,
} from "../../../src/phases/app/values.js";

function thrown(fn: () => unknown): HactlError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HactlError) return e;
    throw e;
  }
  throw new Error("expected a HactlError");
}

const haDefaults = { systemReplicas: 3, evictionTimeoutSeconds: 300 };

describe("ha values", () => {
  it("accepts the bounds 10 and 300 and system replicas from 3", () => {
    expect(haValues({ systemReplicas: "3", evictionTimeout: "10" }, haDefaults)).toEqual({
      systemReplicas: 3,
      evictionTimeoutSeconds: 10,
    });
    expect(haValues({ evictionTimeout: "300" }, haDefaults)).toEqual({
      systemReplicas: 3,
      evictionTimeoutSeconds: 300,
    });
  });

  it.each(["5", "301", "9", "0"])("rejects eviction timeout %s naming the flag and the range", (value) => {
    const e = thrown(() => haValues({ systemReplicas: "3", evictionTimeout: value }, haDefaults));
    expect(e.code).toBe("USAGE");
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("--eviction-timeout");
    expect(e.message).toContain("from 10 to 300 seconds");
    expect(e.remedy).toContain("10 to 300");
  });

  it("rejects fewer than 3 system replicas", () => {
    const e = thrown(() => haValues({ systemReplicas: "2" }, haDefaults));
    expect(e.message).toMatch(/--system-replicas 2 is out of range: it must be from 3 to 100/);
  });

  it("rejects values that are not whole numbers", () => {
    expect(thrown(() => haValues({ evictionTimeout: "30s" }, haDefaults)).message).toContain("must be a whole number");
    expect(thrown(() => haValues({ evictionTimeout: "12.5" }, haDefaults)).message).toContain("must be a whole number");
  });

  it("needs at least 3 nodes", () => {
    expect(() => checkHaNodeCount(3, "the cluster")).not.toThrow();
    const e = thrown(() => checkHaNodeCount(2, "cluster.yaml"));
    expect(e.code).toBe("PREFLIGHT_FAILED");
    expect(e.message).toBe("HA mode needs at least 3 nodes; cluster.yaml has 2");
    expect(e.remedy).toContain("hactl add-node");
  });
});

describe("autoscale values", () => {
  const defaults = { minReplicas: 2, maxReplicas: 5, cpuPercent: 80 };
  it("falls back to cluster.yaml and parses flags", () => {
    expect(autoscaleValues({}, defaults)).toEqual(defaults);
    expect(autoscaleValues({ min: "3", max: "9", cpu: "60" }, defaults)).toEqual({
      minReplicas: 3,
      maxReplicas: 9,
      cpuPercent: 60,
    });
  });
  it("rejects max below min and cpu outside 1-100", () => {
    expect(thrown(() => autoscaleValues({ min: "4", max: "3" }, defaults)).message).toBe("--max 3 is below --min 4");
    expect(thrown(() => autoscaleValues({ cpu: "101" }, defaults)).message).toContain("--cpu 101 is out of range");
    expect(thrown(() => autoscaleValues({ min: "0" }, defaults)).message).toContain("--min 0 is out of range");
  });
});

describe("replicas", () => {
  it("takes 0..1000", () => {
    expect(parseReplicas("0")).toBe(0);
    expect(parseReplicas(" 3 ")).toBe(3);
    expect(thrown(() => parseReplicas("-1")).message).toContain("REPLICAS -1 is out of range");
    expect(thrown(() => parseReplicas("two")).message).toContain("REPLICAS must be a whole number");
    expect(thrown(() => parseIntFlag("--timeout", undefined, 1, 10)).message).toContain("--timeout is required");
  });
});
