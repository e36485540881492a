import { describe, expect, it } from "vitest";
import { HactlError, interruptedError } from "../../../src/core/errors.js";
import { applyPlan, type ExecutorReporter } from "../../../src/core/executor.js";
import { lbMachinesOutOfDate } from "../../../src/gather/lb-state.js";
import {
  STAGE,
  kubeadmCaRotationPhases,
  marksCommand,
  parseMarks,
  planKubeadmCaRotation,
  stagedCommand,
  type RotationMark,
} from "../../../src/phases/certs-ca-kubeadm.js";
import { backInServicePhase, serviceLayoutFiles, type ServiceLayoutInput } from "../../../src/phases/out-of-service.js";
import { allHealthyFacts } from "../../fakes/facts.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

/*
 * A CA rotation stopped by Ctrl-C and run again, on scripted nodes that keep the state the real scripts
 * keep (the staged CAs, the marks file, the CA file's content): the second run finishes the rotation
 * without repeating a finished node's stage, and puts back the node the first run left out of service.
 */

const spec = specFrom(THREE_CP_ONE_WORKER.replace("type: microk8s", "type: kubeadm"));
const nodes = spec.spec.nodes;
const layout: ServiceLayoutInput = { spec, facts: allHealthyFacts(spec), backendApiPort: 6443 };
const reporter: ExecutorReporter = { phase: () => undefined, step: () => undefined, log: () => undefined };
const CA = "/etc/kubernetes/pki/ca.crt";
const pem = (what: string): string => `-----BEGIN CERTIFICATE-----\n${what}\n-----END CERTIFICATE-----\n`;
const CLUSTER_INFO_KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from(pem("OLD")).toString("base64")}
    server: https://10.0.0.100:6443
  name: ""
kind: Config
`;

const KUBELET_CONF = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from(pem("OLD")).toString("base64")}
    server: https://10.0.0.100:6443
  name: kubernetes
contexts:
- context: { cluster: kubernetes, user: node }
  name: node
current-context: node
kind: Config
users:
- name: node
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
`;

/** The shell scripts of the rotation, by the name they run under ($0), acting on the fake's files. */
function scriptedNode(name: string, onRestart: (host: FakeHost) => void): FakeHost {
  const host = new FakeHost(name, "10.0.0.1", { code: 0, stdout: "", stderr: "" });
  const script = (n: string): { regex: RegExp } => ({ regex: new RegExp(`^sh -c [\\s\\S]* ${n}( |$)`) });
  host.withFile(CA, pem("OLD"));
  host.on(script("hactl-ca-staged"), (_c, h) => ({ stdout: h.files.has(`${STAGE}/new/ca.key`) ? "staged\n" : "" }));
  host.on(script("hactl-ca-marks"), (_c, h) => ({ stdout: h.files.get(`${STAGE}/done`) ?? "" }));
  host.on(script("hactl-make-cas"), (_c, h) => {
    if (!h.files.has(`${STAGE}/new/ca.key`))
      for (const ca of ["ca", "front-proxy-ca", "etcd-ca"]) {
        h.files.set(`${STAGE}/new/${ca}.crt`, pem("NEW"));
        h.files.set(`${STAGE}/new/${ca}.key`, "NEWKEY");
        h.files.set(`${STAGE}/old/${ca}.crt`, pem("OLD"));
      }
    return {};
  });
  host.on(script("hactl-ca-files"), (c, h) => {
    const stage = c.argv[5];
    h.files.set(
      CA,
      stage === "trust" ? pem("OLD") + pem("NEW") : stage === "reissue" ? pem("NEW") + pem("OLD") : pem("NEW"),
    );
    return {};
  });
  host.on(script("hactl-ca-mark"), (c, h) => {
    h.files.set(`${STAGE}/done`, `${h.files.get(`${STAGE}/done`) ?? ""}${c.argv.at(-1) ?? ""}\n`);
    return {};
  });
  host.on(script("hactl-restart-control-plane"), (_c, h) => {
    onRestart(h);
    return {};
  });
  host.on(script("hactl-kubelet-cert"), {
    stdout: `${pem("KUBELET")}-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n`,
  });
  host.on({ equal: ["rm", "-rf", STAGE] }, (_c, h) => {
    for (const f of [...h.files.keys()]) if (f.startsWith(`${STAGE}/`)) h.files.delete(f);
    return {};
  });
  host.on({ regex: /kube-public get configmap cluster-info -o json$/ }, (_c, h) => ({
    stdout: JSON.stringify({
      kind: "ConfigMap",
      data: { kubeconfig: h.files.get("cluster-info") ?? CLUSTER_INFO_KUBECONFIG, "jws-kubeconfig-abcdef": "x..y" },
    }),
  }));
  host.on({ regex: /apply -f -$/ }, (c, h) => {
    h.files.set("cluster-info", (JSON.parse(c.stdin ?? "{}") as { data: { kubeconfig: string } }).data.kubeconfig);
    return { stdout: "configmap/cluster-info configured\n" };
  });
  host.withFile("/etc/kubernetes/kubelet.conf", KUBELET_CONF);
  return host;
}

async function planFrom(hosts: ReadonlyMap<string, FakeHost>) {
  const source = hosts.get("node-1") as FakeHost;
  const staged = (await source.run(stagedCommand)).stdout.includes("staged");
  const done = new Map<string, Set<RotationMark>>();
  for (const n of nodes) done.set(n.name, parseMarks((await (hosts.get(n.name) as FakeHost).run(marksCommand)).stdout));
  return planKubeadmCaRotation(nodes, { staged, done });
}

const probe = async (): Promise<boolean> => true;
const count = (h: FakeHost | undefined, name: string): number =>
  h?.commandsMatching({ regex: new RegExp(` ${name}( |$)`) }).length ?? 0;

describe("kubeadm CA rotation: Ctrl-C and a second run", () => {
  it("stops during node-2's re-issue, keeps what is done, and the second run puts node-2 back in service first and finishes", async () => {
    const ctrlC = new AbortController();
    let restarts = 0;
    const hosts = new Map(
      nodes.map((n) => [
        n.name,
        scriptedNode(n.name, (h) => {
          restarts += 1;
          // node-1 trust, node-2 trust, node-3 trust, node-1 re-issue, then node-2's re-issue is cut short.
          if (h.name === "node-2" && restarts === 5) {
            ctrlC.abort(
              new HactlError("INTERRUPTED", "interrupted (Ctrl-C)", { remedy: "Run the same command again." }),
            );
            throw interruptedError(ctrlC.signal);
          }
        }),
      ]),
    );
    await applyPlan([backInServicePhase(layout, new Set(serviceLayoutFiles(layout, new Set()).keys()))], {
      hosts,
      reporter,
      signal: new AbortController().signal,
    });
    expect(await lbMachinesOutOfDate(hosts, serviceLayoutFiles(layout, new Set()))).toEqual(new Set());

    const first = await planFrom(hosts);
    expect(first.resuming).toBe(false);
    const stopped = await applyPlan(
      kubeadmCaRotationPhases(layout, first, { probe, endpoint: { host: "10.0.0.100", port: 6443 } }),
      { hosts, reporter, signal: ctrlC.signal },
    ).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(HactlError);
    expect((stopped as HactlError).code, (stopped as HactlError).message).toBe("INTERRUPTED");

    const second = await planFrom(hosts);
    expect(second.resuming).toBe(true);
    expect(second.trust).toEqual([]);
    expect(second.workers).toEqual([]);
    expect(second.reissue.map((n) => n.name)).toEqual(["node-2", "node-3"]);
    const stale = await lbMachinesOutOfDate(hosts, serviceLayoutFiles(layout, new Set()));
    expect(stale.size, "node-2 was left out of every load balancer").toBeGreaterThan(0);
    const phases = kubeadmCaRotationPhases(layout, second, { probe, staleLb: stale });
    expect(phases[0]?.title).toBe("Put every node back in service");
    const titles = phases.map((p) => p.title);
    expect(titles.filter((t) => t.startsWith("Trust both CAs") || t.startsWith("Workers: both"))).toEqual([]);
    expect(titles).toContain("Re-issue the certificates with the new CAs on node-2");
    expect(titles).not.toContain("Re-issue the certificates with the new CAs on node-1");

    await applyPlan(phases, { hosts, reporter, signal: new AbortController().signal });
    const n1 = hosts.get("node-1");
    expect(count(n1, "hactl-certs-renew"), "node-1's finished re-issue is not repeated").toBe(1);
    expect(count(hosts.get("node-2"), "hactl-certs-renew"), "node-2's cut re-issue runs again").toBe(2);
    for (const [name, h] of hosts) {
      expect(h.files.get(CA), name).toBe(pem("NEW"));
      expect(
        [...h.files.keys()].filter((f) => f.startsWith(STAGE)),
        `${name}: staged CAs removed`,
      ).toEqual([]);
    }
    expect(n1?.files.get("cluster-info")).toContain(Buffer.from(pem("NEW")).toString("base64"));
    expect(await lbMachinesOutOfDate(hosts, serviceLayoutFiles(layout, new Set()))).toEqual(new Set());
    expect((await planFrom(hosts)).resuming, "done: a third run would start a new rotation").toBe(false);
  });
});
