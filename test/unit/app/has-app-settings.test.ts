import { describe, expect, it } from "vitest";
import { hasAppSettings } from "../../../src/actions/app/state.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

describe("hasAppSettings", () => {
  it("is false for a cluster.yaml that records no application state", () => {
    expect(hasAppSettings(specFrom(THREE_CP_ONE_WORKER))).toBe(false);
  });

  it.each([
    ["replicas", "  replicas: { main: 2 }"],
    ["autoscaling", "  autoscaling: { enabled: true }"],
    ["Linkerd", "  linkerd: { enabled: true }"],
    ["HA settings", "  ha: { enabled: true }"],
    ["an external service", "  externalServices: { redis: { env: REDIS_URL } }"],
  ])("is true when it records %s", (_what, line) => {
    expect(hasAppSettings(specFrom(`${THREE_CP_ONE_WORKER.trimEnd()}\n${line}\n`))).toBe(true);
  });
});
