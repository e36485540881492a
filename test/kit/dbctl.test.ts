// The node kit's `microk8s dbctl`, driven over plain ssh: dbctl.py's texts and exit codes and the migrator's
// rules (a key dump in NAME.tar.gz; a restore writes every key back and deletes none; a renamed file
// restores nothing), on the kit's real etcd.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labDown, labUp } from "../lab/lab.mjs";
import { APP_MANIFEST, ssh, sshOk } from "./helpers.js";

const deployments = async (): Promise<string> => sshOk("node-1", "microk8s kubectl get deployments -n app -o name");

describe("node kit: microk8s dbctl", () => {
  beforeAll(async () => {
    await labUp({ nodes: 2 });
    for (const n of ["node-1", "node-2"]) await sshOk(n, "snap install microk8s --classic --channel=1.29/stable");
    await sshOk("node-1", "microk8s status --wait-ready --timeout 30");
    const join = (await sshOk("node-1", "microk8s add-node --format short")).split("\n")[0] ?? "";
    await sshOk("node-2", `${join} --worker`);
    await sshOk("node-1", "microk8s kubectl apply -f -", { input: APP_MANIFEST });
  });
  afterAll(async () => {
    await labDown();
  });

  it("backs up into NAME.tar.gz in the working directory: one directory of numbered key/data pairs", async () => {
    const run = await ssh("node-1", "mkdir -p /tmp/b && cd /tmp/b && microk8s dbctl backup -o snap1");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("Backing up the datastore\nThe backup is: snap1.tar.gz\n");
    expect(run.stderr).toMatch(/level=info msg="Starting migrator" .*mode=backup-dqlite/);
    expect(run.stderr).toMatch(/level=info msg="Writing key" index=0 key=\S+ len=\d+/);
    const listing = (await sshOk("node-1", "tar -tzf /tmp/b/snap1.tar.gz")).split("\n").filter(Boolean);
    expect(listing).toContain("snap1/0.key");
    expect(listing).toContain("snap1/0.data");
    expect(listing.every((l) => /^snap1\/(\d+\.(key|data))?$/.test(l))).toBe(true);
  });

  it("restores every key of the backup and deletes none", async () => {
    const before = await deployments();
    expect(before).not.toBe("");
    await sshOk(
      "node-1",
      "for d in $(microk8s kubectl get deployments -n app -o name); do microk8s kubectl delete $d -n app; done",
    );
    await sshOk("node-1", "microk8s kubectl apply -f -", {
      input: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: later, namespace: app}\nspec: {replicas: 1}\n",
    });
    const run = await ssh("node-1", "cd /tmp/b && microk8s dbctl restore snap1.tar.gz");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("Restoring from snap1.tar.gz\n");
    expect(run.stderr).toMatch(/level=info msg="Completed database restore" entries=\d+/);
    const after = await deployments();
    for (const line of before.trim().split("\n")) expect(after).toContain(line);
    expect(after).toContain("deployment.apps/later");
  });

  it("restores nothing from a renamed file (its directory is not found)", async () => {
    await sshOk(
      "node-1",
      "for d in $(microk8s kubectl get deployments -n app -o name); do microk8s kubectl delete $d -n app; done",
    );
    const run = await ssh(
      "node-1",
      "cd /tmp/b && cp snap1.tar.gz renamed.tar.gz && microk8s dbctl restore renamed.tar.gz",
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/msg="Completed database restore" entries=0/);
    expect(await deployments()).toBe("");
  });

  it("refuses on a worker and when the API server is not running", async () => {
    const worker = await ssh("node-2", "microk8s dbctl backup");
    expect(worker.code).toBe(1);
    expect(worker.stdout).toBe(
      "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.\n",
    );
    await sshOk("node-1", "microk8s stop");
    const stopped = await ssh("node-1", "microk8s dbctl backup");
    expect(stopped.code).toBe(10);
    expect(stopped.stdout).toBe("Please ensure the kubernetes apiserver is running and HA is enabled.\n");
    await sshOk("node-1", "microk8s start");
  });
});
