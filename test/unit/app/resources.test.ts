import { describe, expect, it } from "vitest";
import {
  capacityReport,
  parseCpu,
  parseMemory,
  parseNodeCapacity,
  parseNodeProbe,
  parseServiceRequests,
} from "../../../src/phases/app/resources.js";

describe("quantities", () => {
  it("parses CPU and memory the way Kubernetes writes them", () => {
    expect(parseCpu("250m")).toBe(250);
    expect(parseCpu("2")).toBe(2000);
    expect(parseCpu("0.5")).toBe(500);
    expect(parseCpu("lots")).toBeUndefined();
    expect(parseMemory("128Mi")).toBe(128 * 1024 * 1024);
    expect(parseMemory("1G")).toBe(1e9);
    expect(parseMemory("16393972Ki")).toBe(16393972 * 1024);
    expect(parseMemory("1 GB")).toBeUndefined();
  });
});

describe("autoscaling capacity warning", () => {
  const deployments = JSON.stringify({
    items: [
      {
        metadata: { name: "main" },
        spec: {
          template: {
            spec: {
              containers: [
                { resources: { requests: { cpu: "500m", memory: "512Mi" } } },
                { resources: { requests: { cpu: "100m" } } },
              ],
            },
          },
        },
      },
      { metadata: { name: "web" }, spec: { template: { spec: { containers: [{}] } } } },
    ],
  });

  it("multiplies each service's requests by the minimum replicas and compares with the nodes", () => {
    const services = parseServiceRequests(deployments);
    expect(services).toEqual([
      { name: "main", cpuMilli: 600, memoryBytes: 512 * 1024 ** 2 },
      { name: "web", cpuMilli: undefined, memoryBytes: undefined },
    ]);
    const nodes = [
      { name: "n1", cpuMilli: 2000, memoryBytes: 4 * 1024 ** 3 },
      { name: "n2", cpuMilli: 2000, memoryBytes: 4 * 1024 ** 3 },
    ];
    const r = capacityReport(services, 3, nodes);
    expect(r.data.need).toEqual({ cpuMilli: 1800, memoryBytes: 1536 * 1024 ** 2 });
    expect(r.data.cluster).toEqual({ nodes: 2, cpuMilli: 4000, memoryBytes: 8 * 1024 ** 3 });
    expect(r.exceeds).toBe(false);
    expect(r.lines.join("\n")).toContain("main");
    expect(r.lines.join("\n")).toContain("1.80 CPU, 1.5 GiB");
    expect(r.lines.join("\n")).toContain("declares no resource requests");
    expect(r.lines.join("\n")).toContain("cluster: 2 node(s), 4 CPU, 8.0 GiB in total");
    expect(capacityReport(services, 10, nodes).exceeds).toBe(true);
  });

  it("reads node capacity from kubectl, or from the node probe when Kubernetes reports none", () => {
    const nodes = JSON.stringify({
      items: [
        { metadata: { name: "a" }, status: { capacity: { cpu: "4", memory: "8Gi" } } },
        { metadata: { name: "b" }, status: {} },
      ],
    });
    expect(parseNodeCapacity(nodes)).toEqual([{ name: "a", cpuMilli: 4000, memoryBytes: 8 * 1024 ** 3 }]);
    expect(parseNodeProbe("b", "2\n4194304\n")).toEqual({ name: "b", cpuMilli: 2000, memoryBytes: 4 * 1024 ** 3 });
    expect(parseNodeProbe("b", "")).toBeUndefined();
  });
});
