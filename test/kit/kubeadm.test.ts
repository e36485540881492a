// The node kit's kubeadm stand-in, driven over plain ssh: stacked etcd grows by one real member per
// control-plane join and shrinks on reset / etcdctl member remove; tokens, certificate keys, --config.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDown, labUp, LAB_NET } from "../lab/lab.mjs";
import { ssh, sshOk } from "./helpers.js";

const ETCDCTL =
  "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt " +
  "--cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key";
const KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
const ENDPOINT = `${LAB_NET}.11:6443`;

async function members(node: string): Promise<string[]> {
  const out = await sshOk(node, `${ETCDCTL} member list`);
  return out
    .trim()
    .split("\n")
    .map((l) => l.split(", ")[2] ?? "")
    .sort();
}

describe("node kit: kubeadm with stacked etcd", () => {
  let join = "";
  let certKey = "";

  beforeAll(async () => {
    await labUp({ nodes: 4 });
  });
  afterAll(async () => {
    await labDown();
  });

  it("initialises the first control plane with one etcd member and prints the join commands", async () => {
    const r = await ssh(
      "node-1",
      `kubeadm init --control-plane-endpoint ${ENDPOINT} --upload-certs --pod-network-cidr 192.168.0.0/16`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Your Kubernetes control-plane has initialized successfully!");
    expect(r.stdout).toMatch(
      /\n {2}kubeadm join 10\.77\.0\.11:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} \\\n\t--discovery-token-ca-cert-hash sha256:[0-9a-f]{64} \\\n\t--control-plane --certificate-key [0-9a-f]{64}\n/,
    );
    expect(await members("node-1")).toEqual(["node-1"]);
    const before = JSON.parse(await sshOk("node-1", `${KUBECTL} get nodes -o json`));
    const ready = before.items[0].status.conditions.find((c: { type: string }) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "KubeletNotReady" });
    const cni = await sshOk(
      "node-1",
      `${KUBECTL} apply -f https://raw.githubusercontent.com/projectcalico/calico/v3.27.3/manifests/calico.yaml`,
    );
    expect(cni).toContain("daemonset.apps/calico-node created");
    expect(await sshOk("node-1", `${KUBECTL} get nodes`)).toMatch(/node-1 +Ready +control-plane/);
    const again = await ssh("node-1", `kubeadm init --control-plane-endpoint ${ENDPOINT}`);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]");
  });

  it("creates reusable bootstrap tokens and 64-hex certificate keys", async () => {
    join = (await sshOk("node-1", "kubeadm token create --print-join-command")).replace(/\n$/, "");
    expect(join).toMatch(
      /^kubeadm join 10\.77\.0\.11:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64} $/,
    );
    const up = await sshOk("node-1", "kubeadm init phase upload-certs --upload-certs");
    expect(up).toContain(
      '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace',
    );
    certKey = up.trim().split("\n").pop() ?? "";
    expect(certKey).toMatch(/^[0-9a-f]{64}$/);
    const bad = await ssh("node-1", "kubeadm token create --certificate-key abc");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("cannot use --certificate-key without --print-join-command");
  });

  it("adds one etcd member per control-plane join: 3 members after two joins (one through --config)", async () => {
    const second = await ssh("node-2", `${join} --control-plane --certificate-key ${certKey}`);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("This node has joined the cluster and a new control plane instance was created:");
    expect(await members("node-1")).toEqual(["node-1", "node-2"]);

    const token = /--token (\S+)/.exec(join)?.[1];
    const hash = /--discovery-token-ca-cert-hash (\S+)/.exec(join)?.[1];
    const config = [
      "apiVersion: kubeadm.k8s.io/v1beta4",
      "kind: JoinConfiguration",
      "discovery:",
      "  bootstrapToken:",
      `    apiServerEndpoint: ${ENDPOINT}`,
      `    token: ${token}`,
      "    caCertHashes:",
      `    - ${hash}`,
      "controlPlane:",
      `  certificateKey: ${certKey}`,
      "",
    ].join("\n");
    const third = await ssh("node-3", "umask 077; cat > /root/join.yaml && kubeadm join --config /root/join.yaml", {
      input: config,
    });
    expect(third.code).toBe(0);
    expect(await members("node-2")).toEqual(["node-1", "node-2", "node-3"]);
    const nodes = await sshOk("node-3", `${KUBECTL} get nodes`);
    expect(nodes.match(/Ready +control-plane/g)?.length).toBe(3);
  });

  it("joins a worker that runs no etcd member, and refuses a used node and an unknown token", async () => {
    const worker = await ssh("node-4", join);
    expect(worker.code).toBe(0);
    expect(worker.stdout).toContain("This node has joined the cluster:");
    expect((await members("node-1")).length).toBe(3);
    const twice = await ssh("node-4", join);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(
      "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists",
    );
    const unknown = await ssh(
      "node-4",
      "kubeadm reset -f >/dev/null 2>&1; " + join.replace(/--token [a-z0-9]{6}\./, "--token zzzzzz."),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'could not find a JWS signature in the cluster-info ConfigMap for token ID "zzzzzz"',
    );
  });

  it("refuses a control-plane join after the certificate key expired (kit's short expiry)", async () => {
    await sshOk("node-1", "echo HACTL_KIT_CERT_KEY_TTL_SECONDS=1 >> /var/lib/hactl-kit/env");
    const key =
      (await sshOk("node-1", "kubeadm init phase upload-certs --upload-certs")).trim().split("\n").pop() ?? "";
    await new Promise((r) => setTimeout(r, 1500));
    const late = await ssh("node-4", `${join} --control-plane --certificate-key ${key}`);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(
      'Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired.',
    );
    expect((await members("node-1")).length).toBe(3);
  });

  it("shrinks etcd to 2 members after reset + etcdctl member remove, and reset removes its own member", async () => {
    const reset = await ssh("node-3", "kubeadm reset -f --skip-phases=remove-etcd-member");
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain("[reset] Deleted contents of the etcd data directory: /var/lib/etcd");
    const list = await sshOk("node-1", `${ETCDCTL} member list`);
    const id =
      list
        .split("\n")
        .find((l) => l.includes(", node-3, "))
        ?.split(", ")[0] ?? "";
    expect(id).toMatch(/^[0-9a-f]+$/);
    const removed = await sshOk("node-1", `${ETCDCTL} member remove ${id}`);
    expect(removed).toMatch(new RegExp(`^Member ${id} removed from cluster [0-9a-f]+`));
    expect(await members("node-1")).toEqual(["node-1", "node-2"]);
    expect(await sshOk("node-1", `${KUBECTL} delete node node-3`)).toBe('node "node-3" deleted\n');

    const full = await ssh("node-2", "kubeadm reset -f");
    expect(full.code).toBe(0);
    expect(await members("node-1")).toEqual(["node-1"]);
  });
});
