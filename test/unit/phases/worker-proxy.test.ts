import { describe, expect, it } from "vitest";
import {
  PROVIDER_FILE,
  PROXY_ARGS_FILE,
  renderProvider,
  withRefreshDisabled,
} from "../../../src/distros/microk8s-apiserver-proxy.js";
import {
  pointWorkerProxy,
  workerProxyDrift,
  workersToPoint,
  workerProxyStep,
} from "../../../src/phases/worker-proxy.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const ARGS =
  "--traefik-config ${SNAP_DATA}/args/traefik/traefik.yaml\n--kubeconfig ${SNAP_DATA}/credentials/kubelet.config\n--refresh-interval 30s\n";
const VIP = "10.0.0.100:16443";
const nodes = specFrom(THREE_CP_ONE_WORKER).spec.nodes;
const joined = { provider: renderProvider(["10.0.0.11:16443"]), args: ARGS };
const pointed = { provider: renderProvider([VIP]), args: withRefreshDisabled(ARGS) };

describe("workersToPoint", () => {
  it("takes a joining worker and a joined one whose proxy is elsewhere, never a control plane", () => {
    expect(workersToPoint(nodes, new Map(), new Set(["worker-1", "node-2"]), VIP).map((n) => n.name)).toEqual([
      "worker-1",
    ]);
    expect(workersToPoint(nodes, new Map([["worker-1", joined]]), new Set(), VIP).map((n) => n.name)).toEqual([
      "worker-1",
    ]);
  });

  it("leaves a worker already pointed, and everything when there is no load balancer", () => {
    expect(workersToPoint(nodes, new Map([["worker-1", pointed]]), new Set(), VIP)).toEqual([]);
    expect(workersToPoint(nodes, new Map([["worker-1", joined]]), new Set(["worker-1"]), undefined)).toEqual([]);
  });

  it("orders a joining worker's step after its join", () => {
    const worker = nodes.find((n) => n.name === "worker-1");
    if (!worker) throw new Error("fixture");
    expect(workerProxyStep(worker, VIP, ["join:worker-1"]).after).toEqual(["join:worker-1"]);
  });
});

describe("pointWorkerProxy", () => {
  const worker = (files: { provider: string; args: string }): FakeHost =>
    new FakeHost("worker-1")
      .withFile(PROVIDER_FILE, files.provider)
      .withFile(PROXY_ARGS_FILE, files.args)
      .on({ prefix: ["rm", "-f"] }, { code: 0 })
      .on({ equal: ["systemctl", "restart", "snap.microk8s.daemon-apiserver-proxy"] }, { code: 0 });

  it("writes both files with a backup, staged first, then restarts the proxy", async () => {
    const host = worker(joined);
    expect(await pointWorkerProxy(host, VIP)).toBe("changed");
    expect(host.files.get(PROVIDER_FILE)).toBe(renderProvider([VIP]));
    expect(host.files.get(PROXY_ARGS_FILE)).toBe(withRefreshDisabled(ARGS));
    expect(host.files.get(`${PROVIDER_FILE}.hactl-bak`)).toBe(joined.provider);
    expect(host.files.get(`${PROXY_ARGS_FILE}.hactl-bak`)).toBe(ARGS);
    expect([...host.files.keys()].filter((p) => p.endsWith(".hactl-new"))).toEqual([]);
    expect(host.commandsMatching({ prefix: ["systemctl", "restart"] })).toHaveLength(1);
  });

  it("changes nothing and restarts nothing when the proxy already points at the load balancer", async () => {
    const host = worker(pointed);
    expect(await pointWorkerProxy(host, VIP)).toBe("unchanged");
    expect(host.commandsMatching({ prefix: ["systemctl"] })).toHaveLength(0);
    expect(host.files.has(`${PROVIDER_FILE}.hactl-bak`)).toBe(false);
  });

  it("writes only the file that differs", async () => {
    const host = worker({ provider: renderProvider([VIP]), args: ARGS });
    expect(await pointWorkerProxy(host, VIP)).toBe("changed");
    expect(host.files.has(`${PROVIDER_FILE}.hactl-bak`)).toBe(false);
    expect(host.files.get(PROXY_ARGS_FILE)).toBe(withRefreshDisabled(ARGS));
  });

  it("refuses a node without the proxy's args file (not a worker) and writes nothing", async () => {
    const host = new FakeHost("node-1");
    await expect(pointWorkerProxy(host, VIP)).rejects.toThrow(/apiserver-proxy does not exist on node-1/);
    expect(host.files.size).toBe(0);
  });
});

describe("workerProxyDrift", () => {
  it("names the servers the proxy uses and the refresh interval", () => {
    expect(workerProxyDrift("worker-1", joined, VIP)).toBe(
      `worker-1: its API proxy sends to 10.0.0.11:16443, refresh interval 30s, not only to ${VIP} with refresh interval 0 (drift; run hactl install)`,
    );
    expect(workerProxyDrift("worker-1", { provider: undefined, args: ARGS }, VIP)).toMatch(
      /provider\.yaml is missing or unreadable/,
    );
    expect(workerProxyDrift("worker-1", pointed, VIP)).toBeUndefined();
  });
});
