import { describe, expect, it } from "vitest";
import { pickServices } from "../../../src/actions/app/scale.js";
import { parseExternalFlag, settingsDiff, settingsFromFlags } from "../../../src/actions/app/reconfigure.js";
import { specFrom, THREE_CP_ONE_WORKER } from "../../fakes/spec.js";

describe("service arguments", () => {
  it("'all' is every service; an unknown service lists the ones that exist", () => {
    expect(pickServices("all", ["main", "worker", "web"], "app")).toEqual(["main", "worker", "web"]);
    expect(pickServices("web", ["main", "web"], "app")).toEqual(["web"]);
    expect(() => pickServices("db", ["main", "worker", "web"], "app")).toThrow(
      "there is no service 'db' in namespace app; the services are: main, worker, web",
    );
    expect(() => pickServices("all", [], "app")).toThrow("namespace app has no Deployments");
    expect(() => pickServices("Main;rm", ["main"], "app")).toThrow("is not a service name");
  });
});

describe("reconfigure answers", () => {
  const spec = specFrom(THREE_CP_ONE_WORKER);

  it("parses --external references and refuses literal values", () => {
    expect(parseExternalFlag("postgresql=env:PG_URL")).toEqual(["postgresql", { env: "PG_URL" }]);
    expect(parseExternalFlag("redis=file:/etc/hactl/redis")).toEqual(["redis", { file: "/etc/hactl/redis" }]);
    expect(parseExternalFlag("s3=none")).toEqual(["s3", undefined]);
    expect(() => parseExternalFlag("postgresql=postgresql://u:p@h:1")).toThrow(
      "the value itself is never given on the command line",
    );
    expect(() => parseExternalFlag("mysql=env:X")).toThrow("unknown service");
  });

  it("shows each changed field as old → new, and nothing when flags repeat the file", () => {
    const next = settingsFromFlags(spec, {
      file: "x",
      dryRun: false,
      ha: "on",
      evictionTimeout: "30",
      autoscale: "on",
      min: "2",
      max: "6",
      external: ["postgresql=env:PG_URL"],
    });
    const diff = settingsDiff(spec, next);
    expect(diff.lines).toEqual([
      "  ha.enabled: false → true",
      "  ha.evictionTimeoutSeconds: 300 → 30",
      "  autoscaling.enabled: false → true",
      "  autoscaling.maxReplicas: 5 → 6",
      "  externalServices.postgresql: none → { env: PG_URL }",
    ]);
    expect(diff.edits[0]).toEqual([["spec", "ha", "enabled"], true]);
    expect(settingsDiff(spec, settingsFromFlags(spec, { file: "x", dryRun: false })).lines).toEqual([]);
    expect(() => settingsFromFlags(spec, { file: "x", dryRun: false, ha: "on", evictionTimeout: "5" })).toThrow(
      "--eviction-timeout 5 is out of range",
    );
    expect(() => settingsFromFlags(spec, { file: "x", dryRun: false, linkerd: "maybe" })).toThrow(
      "--linkerd takes on or off",
    );
  });
});
