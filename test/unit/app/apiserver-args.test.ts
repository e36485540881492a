import { describe, expect, it } from "vitest";
import { evictionSecondsIn, withEvictionArgs } from "../../../src/phases/app/apiserver-args.js";

const FILE = "--cert-dir=${SNAP_DATA}/certs\n--service-cluster-ip-range=10.152.183.0/24\n";

describe("kube-apiserver eviction arguments", () => {
  it("appends both flags and keeps the other lines in order", () => {
    const out = withEvictionArgs(FILE, 30);
    expect(out).toBe(`${FILE}--default-not-ready-toleration-seconds=30\n--default-unreachable-toleration-seconds=30\n`);
    expect(evictionSecondsIn(out)).toBe(30);
  });

  it("replaces earlier values, in either spelling, without duplicating", () => {
    const before = `${FILE}--default-not-ready-toleration-seconds 300\n--default-unreachable-toleration-seconds=120\n`;
    const out = withEvictionArgs(before, 45);
    expect(out.match(/toleration-seconds/g)).toHaveLength(2);
    expect(evictionSecondsIn(out)).toBe(45);
    expect(withEvictionArgs(out, 45)).toBe(out);
  });

  it("removes the flags to restore the default", () => {
    expect(withEvictionArgs(withEvictionArgs(FILE, 30), undefined)).toBe(FILE);
    expect(withEvictionArgs("", undefined)).toBe("");
    expect(evictionSecondsIn(FILE)).toBeUndefined();
  });
});
