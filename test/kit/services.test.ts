// The node kit's systemctl (real keepalived, haproxy and nginx daemons in the node's private /run), its
// boot hook after a hard stop, the application commands (kubectl, linkerd) and the fault switches.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDown, labUp, startNode, stopNode, LAB_NET } from "../lab/lab.mjs";
import { APP_MANIFEST, eventually, ssh, sshOk } from "./helpers.js";

const HAPROXY_CFG = `global
    daemon
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend api
    bind *:8443
    default_backend cps
backend cps
    server node-1 ${LAB_NET}.11:16443 check
`;

const KEEPALIVED_CONF = `global_defs {
    router_id kit_test
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 101
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 42
    }
    virtual_ipaddress {
        ${LAB_NET}.100/24
    }
}
`;

describe("node kit: services, boot hook, application commands and faults", () => {
  beforeAll(async () => {
    await labUp({ nodes: 2 });
    await Promise.all(
      ["node-1", "node-2"].map((n) => sshOk(n, "snap install microk8s --classic --channel=1.30/stable")),
    );
  });
  afterAll(async () => {
    await labDown();
  });

  it("runs the real haproxy with systemctl start/reload/stop and systemd's exit codes", async () => {
    expect(await ssh("node-1", "systemctl is-active haproxy")).toMatchObject({ code: 3, stdout: "inactive\n" });
    await sshOk("node-1", "cat > /etc/haproxy/haproxy.cfg", { input: HAPROXY_CFG });
    await sshOk("node-1", "systemctl enable --now haproxy");
    expect(await ssh("node-1", "systemctl is-active haproxy")).toMatchObject({ code: 0, stdout: "active\n" });
    const pid = (await sshOk("node-1", "cat /run/haproxy.pid")).trim();
    expect(await sshOk("node-1", `cat /proc/${pid.split("\n")[0]}/comm`)).toBe("haproxy\n");
    expect(
      (await ssh("node-2", `curl -sk -o /dev/null -w '%{http_code}' https://${LAB_NET}.11:8443/livez`)).stdout,
    ).toBe("200");
    expect((await ssh("node-1", "systemctl reload haproxy")).code).toBe(0);
    await sshOk("node-1", "echo 'this is not haproxy' >> /etc/haproxy/haproxy.cfg");
    const badReload = await ssh("node-1", "systemctl reload haproxy");
    expect(badReload.code).toBe(1);
    expect(badReload.stderr).toContain(
      "Job for haproxy.service failed because the control process exited with error code.",
    );
    expect((await ssh("node-1", "systemctl is-active haproxy")).code).toBe(0);
    await sshOk("node-1", "cat > /etc/haproxy/haproxy.cfg", { input: HAPROXY_CFG });
    await sshOk("node-1", "systemctl stop haproxy");
    expect(await ssh("node-1", "systemctl is-active haproxy")).toMatchObject({ code: 3, stdout: "inactive\n" });
    const unknown = await ssh("node-1", "systemctl start nosuch");
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toBe("Failed to start nosuch.service: Unit nosuch.service not found.\n");
    // node-2 has its own /etc/haproxy and /run: nothing runs there
    expect((await ssh("node-2", "systemctl is-active haproxy")).code).toBe(3);
  });

  it("moves a keepalived VIP to the backup when the master node stops, and boot.sh restarts it", async () => {
    await sshOk("node-1", "cat > /etc/keepalived/keepalived.conf && systemctl restart keepalived", {
      input: KEEPALIVED_CONF,
    });
    await sshOk("node-2", "cat > /etc/keepalived/keepalived.conf && systemctl restart keepalived", {
      input: KEEPALIVED_CONF.replace("state MASTER", "state BACKUP").replace("priority 101", "priority 100"),
    });
    await sshOk("node-1", "systemctl start haproxy");
    expect(
      await eventually(
        async () => (await ssh("node-1", "ip -4 addr show eth0")).stdout.includes(`${LAB_NET}.100/24`),
        10_000,
      ),
    ).toBe(true);
    await stopNode("node-1");
    expect(
      await eventually(
        async () => (await ssh("node-2", "ip -4 addr show eth0")).stdout.includes(`${LAB_NET}.100/24`),
        10_000,
      ),
    ).toBe(true);
    await startNode("node-1");
    expect(
      await eventually(async () => (await ssh("node-1", "systemctl is-active keepalived haproxy")).code === 0, 15_000),
    ).toBe(true);
    expect(
      await eventually(
        async () => (await ssh("node-1", "ip -4 addr show eth0")).stdout.includes(`${LAB_NET}.100/24`),
        10_000,
      ),
    ).toBe(true);
    // the kit agent came back too: the node is Ready again and its API answers
    expect(await eventually(async () => (await ssh("node-1", "microk8s status")).code === 0, 20_000)).toBe(true);
    await sshOk("node-1", "systemctl stop keepalived haproxy");
    await sshOk("node-2", "systemctl stop keepalived");
  });

  it("serves the application's kubectl commands: scale, autoscale, secrets, cordon and drain", async () => {
    const first = await joinNode2();
    expect(first).toContain("Successfully joined the cluster.");
    await sshOk("node-1", "microk8s kubectl apply -f -", { input: APP_MANIFEST });
    expect(await sshOk("node-1", "microk8s kubectl apply -f -", { input: APP_MANIFEST })).toContain(
      "deployment.apps/web unchanged",
    );
    expect(await sshOk("node-1", "microk8s kubectl scale deployment/main --replicas=2 -n app")).toBe(
      "deployment.apps/main scaled\n",
    );
    const missing = await ssh("node-1", "microk8s kubectl scale deployment/nope --replicas=2 -n app");
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): deployments.apps "nope" not found\n',
    });
    expect(
      await sshOk("node-1", "microk8s kubectl autoscale deployment web --min=2 --max=5 --cpu-percent=80 -n app"),
    ).toBe("horizontalpodautoscaler.autoscaling/web autoscaled\n");
    const dup = await ssh("node-1", "microk8s kubectl autoscale deployment web --min=2 --max=5 -n app");
    expect(dup.stderr).toContain(
      'Error from server (AlreadyExists): horizontalpodautoscalers.autoscaling "web" already exists',
    );
    const hpa = JSON.parse(await sshOk("node-1", "microk8s kubectl get hpa -n app -o json"));
    expect(hpa.items.map((h: { metadata: { name: string } }) => h.metadata.name)).toEqual(["web"]);
    expect(await sshOk("node-1", "microk8s kubectl delete hpa web -n app")).toBe(
      'horizontalpodautoscaler.autoscaling "web" deleted\n',
    );

    const secret = await sshOk(
      "node-1",
      "microk8s kubectl create secret generic ext --from-env-file=- -n app --dry-run=client -o yaml",
      {
        input: "PG_URL=postgres://u:p@db:5432/app\n",
      },
    );
    expect(secret).toContain("kind: Secret");
    expect(await sshOk("node-1", "microk8s kubectl apply -f -", { input: secret })).toBe("secret/ext created\n");

    expect(await sshOk("node-1", "microk8s kubectl cordon node-2")).toBe("node/node-2 cordoned\n");
    expect(await sshOk("node-1", "microk8s kubectl cordon node-2")).toBe("node/node-2 already cordoned\n");
    const drained = await ssh(
      "node-1",
      "microk8s kubectl drain node-2 --ignore-daemonsets --delete-emptydir-data --timeout=60s",
    );
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain("node/node-2 drained");
    expect(await sshOk("node-1", "microk8s kubectl get nodes")).toMatch(/node-2 +Ready,SchedulingDisabled/);
    expect(await sshOk("node-1", "microk8s kubectl uncordon node-2")).toBe("node/node-2 uncordoned\n");
    expect(await sshOk("node-1", "microk8s kubectl rollout restart deployment/worker -n app")).toBe(
      "deployment.apps/worker restarted\n",
    );
    expect(await sshOk("node-1", "microk8s kubectl rollout status deployment/worker -n app --timeout=30s")).toContain(
      'deployment "worker" successfully rolled out',
    );
  });

  it("has no bare linkerd on a node: Linkerd comes from MicroK8s' community addon, checked with microk8s linkerd check", async () => {
    expect((await ssh("node-1", "command -v linkerd")).code).toBe(1);
    expect(await sshOk("node-1", "microk8s linkerd check")).toBe(
      "Linkerd not available, try enabling Linkerd. 'microk8s enable linkerd' or 'microk8s enable linkerd:--proxy-auto-inject' \n",
    );
    const noRepo = await ssh("node-1", "microk8s enable linkerd");
    expect(noRepo.code).toBe(1);
    expect(noRepo.stderr).toContain("Addon linkerd was not found in any repository");
    expect(noRepo.stderr).toContain(
      "To use the community maintained flavor enable the respective repository:\n\n    microk8s enable community",
    );
    expect(await sshOk("node-1", "microk8s enable community")).toContain("Community repository is now enabled");
    const enabled = await sshOk("node-1", "microk8s enable linkerd");
    expect(enabled).toContain("Enabling Linkerd2");
    expect(enabled).toContain("Linkerd is starting");
    expect(await sshOk("node-1", "microk8s status --addon linkerd")).toBe("enabled\n");
    expect(await sshOk("node-1", "microk8s enable linkerd")).toContain("Addon community/linkerd is already enabled");
    expect(await eventually(async () => (await ssh("node-1", "microk8s linkerd check")).code === 0, 15_000)).toBe(true);
    expect((await sshOk("node-1", "microk8s linkerd check")).trim().split("\n").pop()).toBe(
      "Status check results are √",
    );
    expect(await sshOk("node-1", "microk8s disable linkerd")).toContain("Deleting linkerd binary.");
    expect(await sshOk("node-1", "microk8s kubectl get configmap -n linkerd -o name")).toBe("");
    expect(await sshOk("node-1", "microk8s linkerd check")).toContain("Linkerd not available");
  });

  it("runs the workstation's linkerd against a kubeconfig: manifests for kubectl apply, check through the cluster", async () => {
    const cli = fileURLToPath(new URL("./workstation/linkerd", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "kit-linkerd-"));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, await sshOk("node-1", "microk8s config"));
    const env = { ...process.env, KUBECONFIG: kubeconfig, HACTL_KIT_ETCD_ENDPOINTS: `http://${LAB_NET}.11:12379` };
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(cli, args, { env }, (e, stdout, stderr) =>
          resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }),
        );
      });
    expect((await run(["version", "--client"])).stdout).toMatch(/^Client version: /);
    const before = await run(["check"]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain("Status check results are ×");
    expect((await run(["install"])).stderr).toContain(
      "Linkerd CRDs must be installed first. Run linkerd install with the --crds flag.",
    );
    await sshOk("node-1", "microk8s kubectl apply -f -", { input: (await run(["install", "--crds"])).stdout });
    await sshOk("node-1", "microk8s kubectl apply -f -", { input: (await run(["install"])).stdout });
    expect(await eventually(async () => (await run(["check"])).code === 0, 15_000)).toBe(true);
    await sshOk("node-1", "microk8s kubectl delete -f -", { input: (await run(["uninstall"])).stdout });
    expect((await run(["check"])).code).toBe(1);
    const unreachable = await run(["check", "--kubeconfig", join(dir, "missing")]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`error loading config file "${join(dir, "missing")}"`);
  });

  it("honours the fault switches: hang-<command> and fail-join-after-consume", async () => {
    await sshOk("node-2", "microk8s leave >/dev/null");
    await sshOk("node-1", "microk8s remove-node node-2");
    await sshOk("node-2", "mkdir -p /var/lib/hactl-kit/faults && touch /var/lib/hactl-kit/faults/hang-microk8s-join");
    const join = (await sshOk("node-1", "microk8s add-node --format short")).split("\n")[0] ?? "";
    const hung = await ssh("node-2", join, { timeoutMs: 3000 });
    expect(hung.code).toBe(255);
    await sshOk(
      "node-2",
      "rm /var/lib/hactl-kit/faults/hang-microk8s-join; touch /var/lib/hactl-kit/faults/fail-join-after-consume",
    );
    const failed = await ssh("node-2", join);
    expect(failed.code).toBe(1);
    const again = await ssh("node-2", join);
    expect(again).toMatchObject({ code: 6 });
    expect(again.stdout).toContain("Connection failed. Invalid token (500).");
    expect(await joinNode2()).toContain("Successfully joined the cluster.");
  });
});

async function joinNode2(): Promise<string> {
  const join = (await sshOk("node-1", "microk8s add-node --format short")).split("\n")[0] ?? "";
  return sshOk("node-2", join);
}
