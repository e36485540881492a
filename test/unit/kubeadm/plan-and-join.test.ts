import { afterEach, describe, expect, it } from "vitest";
import { clearSecrets, redact } from "../../../src/core/secrets.js";
import type { EtcdMember } from "../../../src/distros/kubeadm.js";
import type { KubeadmClusterState } from "../../../src/gather/kubeadm-state.js";
import { isKubeadmMember } from "../../../src/gather/kubeadm-state.js";
import { applyChanged } from "../../../src/phases/kubeadm/install.js";
import { applyPlan, type ExecutorReporter } from "../../../src/core/executor.js";
import {
  INIT_CONFIG_PATH,
  JOIN_CONFIG_PATH,
  joinKubeadmNode,
  needsCertUpload,
  type CertKeyState,
} from "../../../src/phases/kubeadm/join.js";
import {
  activeSwaps,
  commentSwapLines,
  packagedBinaries,
  withSystemdCgroup,
} from "../../../src/phases/kubeadm/prepare.js";
import { checkKubeadmRemoval } from "../../../src/phases/kubeadm/remove-safety.js";
import { kubeadmStatusView } from "../../../src/distros/kubeadm/driver.js";
import { formatStatus, viewStatusReport } from "../../../src/phases/status-report.js";
import { EMPTY_KUBEADM, kubeadmInstallPlan } from "../../fakes/kubeadm.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(
  THREE_CP_ONE_WORKER.replace(
    'distribution: { type: microk8s, version: "1.29" }',
    'distribution: { type: kubeadm, version: "1.29" }',
  ),
);
const [cp1, cp2, cp3, w1] = spec.spec.nodes as [
  (typeof spec.spec.nodes)[number],
  (typeof spec.spec.nodes)[number],
  (typeof spec.spec.nodes)[number],
  (typeof spec.spec.nodes)[number],
];
const member = (ip: string, over: Partial<EtcdMember> = {}): EtcdMember => ({
  id: `a${ip.replace(/\D/g, "")}`,
  status: "started",
  name: ip,
  peerUrls: [`https://${ip}:2380`],
  clientUrls: [`https://${ip}:2379`],
  learner: false,
  ...over,
});
const ready = (
  name: string,
): { name: string; ready: boolean; unschedulable: boolean; internalIp: undefined; labels: Record<string, string> } => ({
  name,
  ready: true,
  unschedulable: false,
  internalIp: undefined,
  labels: {},
});
const EMPTY = EMPTY_KUBEADM;
const TOKEN = "abcdef.0123456789abcdef";
const HASH = `sha256:${"ab".repeat(32)}`;
const KEY = "cd".repeat(32);

function plan(state: KubeadmClusterState): ReturnType<typeof kubeadmInstallPlan> {
  return kubeadmInstallPlan(spec, state);
}

afterEach(() => clearSecrets());

describe("planKubeadmInstall", () => {
  it("fresh cluster: prepare in parallel, LBs before init, control planes one at a time, workers in parallel", () => {
    const p = plan(EMPTY);
    expect(p.map((ph) => [ph.title, ph.mode])).toEqual([
      ["Prepare hosts", "parallel"],
      ["Configure load balancers", "parallel"],
      ["Initialise the control plane", "serial"],
      ["Join control-plane nodes", "serial"],
      ["Join workers", "parallel"],
    ]);
    expect(p[2]?.steps.map((s) => s.id)).toEqual(["init:node-1", "cni:node-1"]);
    expect(p[3]?.steps.map((s) => s.node)).toEqual(["node-2", "node-3"]);
    expect(p[4]?.steps.map((s) => s.node)).toEqual(["worker-1"]);
    expect(p[0]?.steps.filter((s) => s.node === "worker-1").map((s) => s.id.split(":")[0])).toEqual([
      "swap",
      "modules",
      "sysctl-k8s",
      "containerd",
      "kube-packages",
    ]);
  });

  it("existing cluster: no init, and only the nodes that are not members join", () => {
    const state: KubeadmClusterState = {
      ...EMPTY,
      installed: new Set(["node-1", "node-2"]),
      admins: new Set(["node-1", "node-2"]),
      leader: "node-1",
      kubeNodes: [ready("node-1"), ready("node-2")],
      members: [member(cp1.address), member(cp2.address), member(cp3.address, { learner: true })],
      etcdReadable: true,
    };
    const p = plan(state);
    expect(p[2]?.steps.map((s) => s.id)).toEqual(["cni:node-1"]);
    expect(p[3]?.steps.map((s) => s.node)).toEqual(["node-3"]);
    expect(isKubeadmMember(state, cp2)).toBe(true);
    expect(isKubeadmMember(state, cp3)).toBe(false);
    expect(isKubeadmMember(state, w1)).toBe(false);
  });

  it("dry-run descriptions never contain secrets (there are none yet) and name the config file route", () => {
    const text = plan(EMPTY)
      .flatMap((ph) => ph.steps.flatMap((s) => s.describe))
      .join("\n");
    expect(text).toMatch(/kubeadm join --config <0600 JoinConfiguration>/);
    expect(text).not.toMatch(/--token|--certificate-key [0-9a-f]/);
  });

  it("applyChanged tells created/configured from unchanged", () => {
    expect(applyChanged("daemonset.apps/calico-node unchanged\n")).toBe(false);
    expect(applyChanged("daemonset.apps/calico-node created\nserviceaccount/x unchanged\n")).toBe(true);
  });
});

describe("certificate key age", () => {
  it("uploads when no key is known or it is older than the limit", () => {
    expect(needsCertUpload({}, 1000, 500)).toBe(true);
    expect(needsCertUpload({ key: KEY, uploadedAt: 900 }, 1000, 500)).toBe(false);
    expect(needsCertUpload({ key: KEY, uploadedAt: 400 }, 1000, 500)).toBe(true);
  });
});

function leaderFake(memberLists: string[]): FakeHost {
  return new FakeHost("node-1", cp1.address, { code: 0 })
    .on(
      { prefix: ["kubeadm", "token", "create"] },
      { stdout: `kubeadm join 10.0.0.100:7443 --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH} \n` },
    )
    .on(
      { prefix: ["kubeadm", "init", "phase", "upload-certs"] },
      { stdout: `[upload-certs] Using certificate key:\n${KEY}\n` },
    )
    .on({ regex: /etcdctl .* member list/ }, ...memberLists.map((stdout) => ({ stdout })))
    .on(
      { regex: /kubectl .* get nodes -o json/ },
      {
        stdout: JSON.stringify({
          items: [{ metadata: { name: "node-3" }, status: { conditions: [{ type: "Ready", status: "True" }] } }],
        }),
      },
    );
}

describe("joinKubeadmNode", () => {
  const joined = `abc1, started, node-3, https://${cp3.address}:2380, https://${cp3.address}:2379, false\n`;
  const stale = `abc1, unstarted, , https://${cp3.address}:2380, , true\n`;

  it("re-uploads the certificates after the expired-Secret error, cleans up and retries; token and key stay in a 0600 file", async () => {
    const leader = leaderFake([stale, joined]);
    const node = new FakeHost("node-3", cp3.address, { code: 0 }).on(
      { prefix: ["kubeadm", "join"] },
      {
        code: 1,
        stderr:
          'error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired.',
      },
      { code: 0, stdout: "This node has joined the cluster" },
    );
    const certs: CertKeyState = { key: "ee".repeat(32), uploadedAt: Date.now() };
    const lines: string[] = [];
    const after = await joinKubeadmNode({
      leader,
      node,
      spec: cp3,
      version: "1.29",
      certs,
      attempts: 3,
      readyTimeoutMs: 5000,
      signal: new AbortController().signal,
      log: (l) => lines.push(l),
    });
    expect(after.key).toBe(KEY);
    expect(leader.commandsMatching({ prefix: ["kubeadm", "init", "phase", "upload-certs"] })).toHaveLength(1);
    expect(leader.commandsMatching({ regex: /member remove abc1/ })).toHaveLength(1);
    expect(node.commandsMatching({ prefix: ["kubeadm", "reset", "-f"] })).toHaveLength(1);
    const configs = node.written.filter((w) => w.path === JOIN_CONFIG_PATH);
    expect(configs).toHaveLength(2);
    expect(configs.every((c) => c.options.mode === 0o600)).toBe(true);
    expect(configs[1]?.content).toContain(KEY);
    expect(node.files.has(JOIN_CONFIG_PATH)).toBe(false);
    for (const c of [...leader.commands, ...node.commands])
      expect(c.argv.join(" ")).not.toMatch(new RegExp(`${TOKEN}|${KEY}`));
    expect(redact(`token ${TOKEN} key ${KEY}`)).not.toMatch(/0123456789abcdef|cdcd/);
    expect(lines.join("\n")).toMatch(/certificate key has expired/);
  });

  it("stops after the attempts with JOIN_FAILED, having cleaned up each failure", async () => {
    const leader = leaderFake([stale]);
    const node = new FakeHost("node-3", cp3.address, { code: 0 }).on(
      { prefix: ["kubeadm", "join"] },
      { code: 1, stderr: "etcd timeout" },
    );
    await expect(
      joinKubeadmNode({
        leader,
        node,
        spec: cp3,
        version: "1.29",
        certs: {},
        attempts: 2,
        readyTimeoutMs: 1000,
        signal: new AbortController().signal,
        log: () => undefined,
      }),
    ).rejects.toMatchObject({ code: "JOIN_FAILED" });
    expect(leader.commandsMatching({ regex: /member remove abc1/ })).toHaveLength(2);
    expect(node.commandsMatching({ prefix: ["kubeadm", "reset", "-f"] })).toHaveLength(2);
  });
});

describe("the certificate key through the executor", () => {
  it("init's key reaches the next control-plane join through the apply's values: no upload in between", async () => {
    const leader = leaderFake([
      `abc1, started, node-3, https://${cp3.address}:2380, https://${cp3.address}:2379, false\n`,
    ])
      .on({ equal: ["test", "-f", "/etc/kubernetes/admin.conf"] }, { code: 1 })
      .on({ prefix: ["kubeadm", "init"] }, { code: 0 });
    const node = new FakeHost("node-3", cp3.address, { code: 0 });
    const p = plan(EMPTY);
    const init = p[2]?.steps.find((s) => s.id === "init:node-1");
    const join = p[3]?.steps.find((s) => s.id === "join:node-3");
    if (!init || !join) throw new Error("init or join step missing");
    const reporter: ExecutorReporter = { phase: () => undefined, step: () => undefined, log: () => undefined };
    await applyPlan(
      [
        { title: "init", mode: "serial", steps: [init] },
        { title: "join", mode: "serial", steps: [join] },
      ],
      {
        hosts: new Map([
          ["node-1", leader],
          ["node-3", node],
        ]),
        reporter,
        signal: new AbortController().signal,
      },
    );
    const key = /certificateKey: "?([0-9a-f]{64})/.exec(
      leader.written.find((w) => w.path === INIT_CONFIG_PATH)?.content ?? "",
    )?.[1];
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(leader.commandsMatching({ prefix: ["kubeadm", "init", "phase", "upload-certs"] })).toHaveLength(0);
    expect(node.written.find((w) => w.path === JOIN_CONFIG_PATH)?.content).toContain(key);
  });
});

describe("checkKubeadmRemoval", () => {
  const all = new Set(["node-1", "node-2", "node-3", "worker-1"]);
  const healthy: KubeadmClusterState = {
    ...EMPTY,
    admins: new Set(["node-1", "node-2", "node-3"]),
    leader: "node-1",
    kubeNodes: ["node-1", "node-2", "node-3", "worker-1"].map(ready),
    members: [member(cp1.address), member(cp2.address), member(cp3.address)],
    etcdReadable: true,
  };

  it("allows 3 → 2 etcd members with a warning, run from another control plane", () => {
    const c = checkKubeadmRemoval(spec, healthy, cp2, all);
    expect(c.refusals).toEqual([]);
    expect(c.runner).toBe("node-1");
    expect(c.warnings.join()).toMatch(/2 member\(s\)/);
  });

  it("refuses when another control plane is down, or etcd has a learner, or quorum would be lost", () => {
    expect(checkKubeadmRemoval(spec, healthy, cp2, new Set(["node-1", "node-2", "worker-1"])).refusals.join()).toMatch(
      /node-3 is already unhealthy/,
    );
    const learner = {
      ...healthy,
      members: [member(cp1.address), member(cp2.address), member(cp3.address, { learner: true })],
    };
    expect(checkKubeadmRemoval(spec, learner, cp2, all).refusals.join()).toMatch(/not started voters/);
    const two = { ...healthy, members: [member(cp1.address), member(cp2.address)] };
    expect(checkKubeadmRemoval(spec, two, cp2, all).refusals.join()).toMatch(/below today's quorum of 2/);
    expect(checkKubeadmRemoval(spec, { ...healthy, etcdReadable: false }, cp2, all).refusals.join()).toMatch(
      /could not be read/,
    );
  });

  it("a worker's removal needs no etcd check", () => {
    expect(checkKubeadmRemoval(spec, { ...healthy, etcdReadable: false }, w1, all).refusals).toEqual([]);
  });
});

describe("host preparation helpers", () => {
  it("comments active swap lines only", () => {
    const fstab = "UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n# /old none swap sw 0 0\n";
    expect(commentSwapLines(fstab)).toBe(
      "UUID=1 / ext4 defaults 0 1\n#/swapfile none swap sw 0 0\n# /old none swap sw 0 0\n",
    );
    expect(commentSwapLines(commentSwapLines(fstab))).toBe(commentSwapLines(fstab));
  });

  it("reads active swaps and switches containerd to the systemd cgroup driver", () => {
    expect(activeSwaps("Filename\tType\tSize\tUsed\tPriority\n")).toEqual([]);
    expect(activeSwaps("Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n")).toEqual(["/swapfile"]);
    expect(withSystemdCgroup("    SystemdCgroup = false\n")).toBe("    SystemdCgroup = true\n");
  });

  it("holds only commands whose binary in PATH belongs to the package of that name", () => {
    expect(
      packagedBinaries("kubeadm kubeadm\nkubelet kubelet\nkubectl kubectl\n", ["kubelet", "kubeadm", "kubectl"]),
    ).toEqual(["kubelet", "kubeadm", "kubectl"]);
    expect(packagedBinaries("kubectl google-cloud-cli\n", ["kubelet", "kubeadm", "kubectl"])).toEqual([]);
    expect(packagedBinaries("", ["kubeadm"])).toEqual([]);
  });
});

describe("status in etcd's words", () => {
  it("voting members and learners become etcd member / etcd learner", () => {
    const state: KubeadmClusterState = {
      ...EMPTY,
      leader: "node-1",
      kubeNodes: ["node-1", "node-2", "node-3", "worker-1"].map(ready),
      members: [member(cp1.address), member(cp2.address), member(cp3.address, { learner: true })],
      etcdReadable: true,
    };
    const k = viewStatusReport({
      spec,
      unreachable: new Set(),
      view: kubeadmStatusView(state),
      loadBalancers: [],
      apiPort: 6443,
    });
    expect(k.nodes.map((n) => n.datastore)).toEqual(["etcd member", "etcd member", "etcd learner", "-"]);
    expect(k.highAvailability).toBe(false);
    expect(formatStatus(k)).toMatch(/node-3 .* etcd learner/);
  });
});
