// The node kit's MicroK8s stand-in, driven over plain ssh: HA formation with add-node/join, single-use
// tokens, voter/standby roles, leave + remove-node, and loss of quorum.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDown, labUp, startNode, stopNode, LAB_NET } from "../lab/lab.mjs";
import { APP_MANIFEST, eventually, httpsStatus, ssh, sshOk } from "./helpers.js";

const NODES = ["node-1", "node-2", "node-3", "node-4"];

async function joinCommand(): Promise<string> {
  const out = await sshOk("node-1", "microk8s add-node --format short");
  const line = out.split("\n")[0] ?? "";
  expect(line).toMatch(/^microk8s join 10\.77\.0\.11:25000\/[0-9a-f]{32}\/[0-9a-f]{12}$/);
  return line;
}

describe("node kit: MicroK8s", () => {
  beforeAll(async () => {
    await labUp({ nodes: 4 });
  });
  afterAll(async () => {
    await labDown();
  });

  it("installs with snap on every node, idempotently, and serves the API and web ports", async () => {
    const before = await ssh("node-1", "command -v microk8s");
    expect(before.code).not.toBe(0);
    const installs = await Promise.all(
      NODES.map((n) => ssh(n, "snap install microk8s --classic --channel=1.29/stable")),
    );
    for (const r of installs) {
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe("microk8s (1.29/stable) v1.29.15 from Canonical✓ installed");
    }
    const again = await ssh("node-1", "snap install microk8s --classic --channel=1.29/stable");
    expect(again.stdout.trim()).toBe(`snap "microk8s" is already installed, see 'snap help refresh'`);
    const single = await sshOk("node-1", "microk8s status --wait-ready --timeout 30");
    expect(single).toContain("high-availability: no");
    expect(single).toContain("datastore master nodes: 127.0.0.1:19001");
    expect(await httpsStatus(`https://${LAB_NET}.11:16443/livez`)).toBe(200);
    expect(await httpsStatus(`https://${LAB_NET}.11:16443/readyz`)).toBe(200);
    const web = await ssh("node-2", `curl -sI -o /dev/null -w '%{http_code}' http://${LAB_NET}.11/`);
    expect(web.stdout).toBe("200");
  });

  it("forms a 3-node HA cluster with add-node/join, and a used token is refused with exit 6", async () => {
    const first = await joinCommand();
    const joined = await ssh("node-2", first);
    expect(joined.code).toBe(0);
    expect(joined.stdout).toContain(`Contacting cluster at ${LAB_NET}.11`);
    expect(joined.stdout).toContain("Successfully joined the cluster.");

    const reused = await ssh("node-3", first);
    expect(reused.code).toBe(6);
    expect(reused.stdout).toContain("Connection failed. Invalid token (500).");

    const wrongCheck = await ssh("node-3", `${(await joinCommand()).replace(/\/[0-9a-f]{12}$/, "/000000000000")}`);
    expect(wrongCheck.code).toBe(4);
    expect(wrongCheck.stdout).toContain(`Joining cluster failed. Could not verify the identity of ${LAB_NET}.11.`);

    expect((await ssh("node-3", await joinCommand())).code).toBe(0);
    const status = await sshOk("node-1", "microk8s status");
    expect(status).toContain("high-availability: yes");
    expect(status).toContain(`datastore master nodes: ${LAB_NET}.11:19001 ${LAB_NET}.12:19001 ${LAB_NET}.13:19001`);
    expect(status).toContain("datastore standby nodes: none");
    const nodes = await sshOk("node-3", "microk8s kubectl get nodes");
    expect(nodes.match(/ Ready /g)?.length).toBe(3);
  });

  it("makes the 4th control-plane node a standby", async () => {
    expect((await ssh("node-4", await joinCommand())).code).toBe(0);
    const yaml = await sshOk("node-1", "microk8s status --format yaml");
    expect(yaml).toContain(`    - address: ${LAB_NET}.14:19001\n      role: standby`);
    expect(yaml.match(/role: voter/g)?.length).toBe(3);
    expect(await sshOk("node-2", "microk8s status")).toContain(`datastore standby nodes: ${LAB_NET}.14:19001`);
  });

  it("runs the application: apply, scale and rollout follow the replicas", async () => {
    const applied = await sshOk("node-1", "microk8s kubectl apply -f -", { input: APP_MANIFEST });
    expect(applied).toContain("namespace/app created");
    expect(applied).toContain("deployment.apps/web created");
    expect(await sshOk("node-2", "microk8s kubectl scale deployment/web --replicas=3 -n app")).toBe(
      "deployment.apps/web scaled\n",
    );
    const rolled = await sshOk("node-3", "microk8s kubectl rollout status deployment/web -n app --timeout=30s");
    expect(rolled).toContain('deployment "web" successfully rolled out');
    const dep = JSON.parse(await sshOk("node-1", "microk8s kubectl get deploy web -n app -o json"));
    expect(dep.spec.replicas).toBe(3);
    expect(dep.status.readyReplicas).toBe(3);
  });

  it("shrinks the datastore with leave + remove-node, promoting the standby", async () => {
    const left = await ssh("node-3", "microk8s leave");
    expect(left.code).toBe(0);
    expect(left.stdout).toContain("Generating new cluster certificates.");
    const refused = await ssh("node-1", "microk8s remove-node node-4");
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("Removal failed. Node node-4 is registered with dqlite.");
    const removed = await ssh("node-1", "microk8s remove-node node-3");
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe("");
    const status = await sshOk("node-1", "microk8s status");
    expect(status).toContain(`datastore master nodes: ${LAB_NET}.11:19001 ${LAB_NET}.12:19001 ${LAB_NET}.14:19001`);
    expect(status).toContain("datastore standby nodes: none");
    const names = await sshOk("node-1", "microk8s kubectl get nodes -o name");
    expect(names.trim().split("\n").sort()).toEqual(["node/node-1", "node/node-2", "node/node-4"]);
    // node-3 is a fresh single node again
    expect(await sshOk("node-3", "microk8s status")).toContain("datastore master nodes: 127.0.0.1:19001");
    // the promoted standby holds a real etcd member: the cluster survives node-2 stopping
    await stopNode("node-2");
    expect(
      await eventually(
        async () => (await ssh("node-1", "microk8s kubectl get nodes")).stdout.includes("node-2   NotReady"),
        20_000,
      ),
    ).toBe(true);
    expect((await ssh("node-1", "microk8s kubectl scale deployment/main --replicas=2 -n app")).code).toBe(0);
    await startNode("node-2");
    expect(
      await eventually(
        async () => (await ssh("node-1", "microk8s kubectl get nodes")).stdout.includes("node-2   Ready"),
        30_000,
      ),
    ).toBe(true);
  });

  it("fails kubectl scale when 2 of 3 voters are stopped, and recovers when they return", async () => {
    await stopNode("node-2");
    await stopNode("node-4");
    const r = await ssh("node-1", "microk8s kubectl scale deployment/web --replicas=2 -n app");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Error from server/);
    expect(r.ms).toBeLessThan(20_000);
    expect(await httpsStatus(`https://${LAB_NET}.11:16443/readyz`)).toBe(500);
    const status = await ssh("node-1", "microk8s status");
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("microk8s is not running. Use microk8s inspect for a deeper inspection.");
    await Promise.all([startNode("node-2"), startNode("node-4")]);
    expect(
      await eventually(
        async () => (await ssh("node-1", "microk8s kubectl scale deployment/web --replicas=2 -n app")).code === 0,
        40_000,
        1000,
      ),
    ).toBe(true);
  });
});
