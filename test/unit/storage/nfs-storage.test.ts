// Issue 17.2: spec.storage.nfs (schema and rules, the cluster-state gather, the plan and its step bodies on FakeHost).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describePlan } from "../../../src/core/plan.js";
import { gatherNfsClassState, parseStorageClass, type NfsClassState } from "../../../src/gather/nfs-storage.js";
import { classWork, planNfsStorage, storageClassManifest } from "../../../src/phases/nfs-storage.js";
import { nfsProbes, planSharedMounts, sharedMountChecks } from "../../../src/phases/shared-mounts.js";
import { formatProblems, parseSpec } from "../../../src/spec/index.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { healthyFacts } from "../../fakes/facts.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";
import { RunValues } from "../../../src/core/run-values.js";

const NFS = `  storage:
    nfs:
      server: 10.0.0.5
      path: /srv/nfs/k8s
      storageClass: { name: nfs-csi, default: true }
      mountOptions: [nfsvers=4.1, hard]
`;
const spec = specFrom(`${THREE_CP_ONE_WORKER}${NFS}`);
const nfs = spec.spec.storage?.nfs as NonNullable<NonNullable<typeof spec.spec.storage>["nfs"]>;
const KUBECTL = ["microk8s", "kubectl"];
const CLASS_JSON = JSON.stringify({
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: "nfs-csi", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
  provisioner: "nfs.csi.k8s.io",
  parameters: { server: "10.0.0.5", share: "/srv/nfs/k8s" },
  mountOptions: ["nfsvers=4.1", "hard"],
});
const done: NfsClassState = { driver: true, storageClass: parseStorageClass(CLASS_JSON) };

const problemsOf = (text: string): string => formatProblems(parseSpec(text, "c.yaml").problems, "c.yaml");
const ctx = (hosts: FakeHost[]) => ({
  hosts: hostMap(...hosts),
  signal: new AbortController().signal,
  log: () => {},
  values: new RunValues(),
});

describe("spec.storage.nfs in cluster.yaml", () => {
  it("parses with defaults: class nfs-csi, not the default, no mount options", () => {
    const s = specFrom(`${THREE_CP_ONE_WORKER}  storage:\n    nfs: { server: nfs.example, path: /export }\n`);
    expect(s.spec.storage?.nfs).toEqual({
      server: "nfs.example",
      path: "/export",
      storageClass: { name: "nfs-csi", default: false },
      mountOptions: [],
    });
  });

  it("names the field of a bad value, a VIP as server, and kubeadm without helm", () => {
    const bad = problemsOf(
      `${THREE_CP_ONE_WORKER}  storage:\n    nfs: { server: 10.0.0.100, path: srv, storageClass: { name: NFS_Class } }\n`,
    );
    expect(bad).toMatch(/spec\.storage\.nfs\.path/);
    expect(bad).toMatch(/spec\.storage\.nfs\.storageClass\.name[\s\S]*a StorageClass name/);
    const vip = problemsOf(`${THREE_CP_ONE_WORKER}  storage:\n    nfs: { server: 10.0.0.100, path: /srv }\n`);
    expect(vip).toMatch(/spec\.storage\.nfs\.server[\s\S]*10\.0\.0\.100 is a VIP of this cluster/);
    const kubeadm = THREE_CP_ONE_WORKER.replace(
      '{ type: microk8s, version: "1.29" }',
      '{ type: kubeadm, version: "1.33" }',
    );
    expect(problemsOf(`${kubeadm}${NFS}`)).toMatch(
      /kubeadm cluster has no helm of its own[\s\S]*add helm: ~\/bin\/helm/,
    );
  });
});

describe("preflight and the NFS client for spec.storage.nfs (the shared-mount code)", () => {
  const facts = new Map(
    spec.spec.nodes.map((n) => {
      const f = healthyFacts(spec, n.name);
      return [
        n.name,
        { ...f, reachable: new Set([...f.reachable, "10.0.0.5:2049"]), commands: new Set(["showmount"]) },
      ];
    }),
  );
  const listing = (exports: string[]) =>
    new Map(
      spec.spec.nodes.map((n) => [
        n.name,
        { fstab: "", mounted: new Map(), exports: new Map([["10.0.0.5", { exports }]]) },
      ]),
    );

  it("probes 2049 from every node and checks the export, naming spec.storage.nfs.path in the fix", () => {
    expect(nfsProbes(spec, "node-2")).toEqual(["10.0.0.5:2049"]);
    const ok = sharedMountChecks(spec, facts, listing(["/srv/nfs"]));
    expect(ok.map((c) => c.status)).toEqual(["ok", "ok", "ok", "ok"]);
    const missing = sharedMountChecks(spec, facts, listing(["/data"]))[0];
    expect(missing).toMatchObject({
      status: "fail",
      message: "10.0.0.5 does not export /srv/nfs/k8s (it exports /data)",
    });
    expect(missing?.fix).toMatch(/or fix spec\.storage\.nfs\.path$/);
    const unreachable = sharedMountChecks(
      spec,
      new Map(spec.spec.nodes.map((n) => [n.name, healthyFacts(spec, n.name)])),
      listing([]),
    )[0];
    expect(unreachable?.fix).toMatch(/or fix spec\.storage\.nfs\.server\)$/);
  });

  it("installs nfs-common where mount.nfs is missing, with no mount steps", () => {
    const plan = planSharedMounts(spec, facts, listing(["/srv/nfs"]));
    expect(plan).toHaveLength(1);
    expect(plan[0]?.steps.map((s) => s.title)).toEqual(["NFS client", "NFS client", "NFS client", "NFS client"]);
    expect(plan[0]?.steps[0]?.describe).toEqual(["apt-get install nfs-common (mount.nfs is missing)"]);
  });
});

describe("the cluster's NFS state", () => {
  it("reads the CSIDriver and the StorageClass with kubectl; NotFound is absent, not an error", async () => {
    const host = new FakeHost("node-1")
      .on(
        { equal: [...KUBECTL, "get", "csidriver", "nfs.csi.k8s.io", "-o", "name"] },
        { stdout: "csidriver.storage.k8s.io/nfs.csi.k8s.io\n" },
      )
      .on({ equal: [...KUBECTL, "get", "storageclass", "nfs-csi", "-o", "json"] }, { stdout: CLASS_JSON });
    expect(
      await gatherNfsClassState(host, { kubectl: (...a) => ({ argv: ["microk8s", "kubectl", ...a] }) }, "nfs-csi"),
    ).toEqual(done);
    const fresh = new FakeHost("node-1").on(
      { prefix: KUBECTL },
      { code: 1, stderr: 'Error from server (NotFound): csidrivers.storage.k8s.io "nfs.csi.k8s.io" not found\n' },
    );
    expect(
      await gatherNfsClassState(fresh, { kubectl: (...a) => ({ argv: ["microk8s", "kubectl", ...a] }) }, "nfs-csi"),
    ).toEqual({
      driver: false,
    });
    const down = new FakeHost("node-1").on(
      { prefix: KUBECTL },
      { code: 1, stderr: "The connection to the server 127.0.0.1:16443 was refused\n" },
    );
    await expect(
      gatherNfsClassState(down, { kubectl: (...a) => ({ argv: ["microk8s", "kubectl", ...a] }) }, "nfs-csi"),
    ).rejects.toThrow(/cannot read the cluster's storage classes: The connection/);
  });

  it("decides create, replace (parameters are immutable), update (default mark, mount options) or nothing", () => {
    expect(classWork(nfs, undefined)).toBe("create");
    expect(classWork(nfs, done.storageClass)).toBeUndefined();
    expect(
      classWork(nfs, {
        ...(done.storageClass as NonNullable<NfsClassState["storageClass"]>),
        parameters: { server: "x", share: "/srv/nfs/k8s" },
      }),
    ).toBe("replace");
    expect(
      classWork(nfs, { ...(done.storageClass as NonNullable<NfsClassState["storageClass"]>), isDefault: false }),
    ).toBe("update");
  });
});

describe("planNfsStorage", () => {
  afterEach(() => vi.useRealTimers());

  it("on a new cluster: the driver with MicroK8s' helm and kubelet directory, the class, the PVC check", () => {
    const plan = planNfsStorage(spec, "node-1", undefined);
    expect(plan[0]?.steps.map((s) => s.id)).toEqual(["nfs-storage:driver", "nfs-storage:class", "nfs-storage:verify"]);
    const text = describePlan(plan);
    expect(text).toContain(
      "helm upgrade --install csi-driver-nfs csi-driver-nfs --repo https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts --version v4.11.0 -n kube-system --set kubeletDir=/var/snap/microk8s/common/var/lib/kubelet",
    );
    expect(text).toContain(
      "kubectl apply StorageClass nfs-csi: provisioner nfs.csi.k8s.io, server 10.0.0.5, share /srv/nfs/k8s, mountOptions nfsvers=4.1,hard, the default class",
    );
    expect(text).toContain("create PersistentVolumeClaim default/hactl-nfs-check");
    // the driver's images are pulled first: the claim gets longer to bind than with the driver already there
    expect(text).toContain("wait up to 300 s for Bound, then delete it");
    expect(describePlan(planNfsStorage(spec, "node-1", { driver: true }))).toContain("wait up to 120 s for Bound");
  });

  it("plans nothing when the driver and the class are in place, or without spec.storage.nfs", () => {
    expect(planNfsStorage(spec, "node-1", done)).toEqual([]);
    expect(planNfsStorage(specFrom(THREE_CP_ONE_WORKER), "node-1", undefined)).toEqual([]);
  });

  it("on kubeadm: uploads spec.distribution.helm to the control plane, then installs with /var/lib/kubelet", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hactl-helm-"));
    writeFileSync(join(dir, "helm"), "#!/bin/sh\n");
    const kubeadm = specFrom(
      `${THREE_CP_ONE_WORKER.replace('{ type: microk8s, version: "1.29" }', `{ type: kubeadm, version: "1.33", helm: ${join(dir, "helm")} }`)}${NFS}`,
    );
    const driver = planNfsStorage(kubeadm, "node-1", undefined)[0]?.steps[0];
    expect(driver?.describe.join("\n")).toContain("--set kubeletDir=/var/lib/kubelet");
    const host = new FakeHost("node-1").on({ prefix: [] }, { code: 0 });
    await driver?.run(ctx([host]));
    expect(host.lines[0]).toBe("mkdir -p /var/lib/hactl/bin");
    expect(host.written[0]).toMatchObject({ path: "/var/lib/hactl/bin/helm", content: "#!/bin/sh\n" });
    expect(host.written[0]?.options).toMatchObject({ mode: 0o755, sudo: true });
    expect(host.lines[1]).toMatch(
      /^\/var\/lib\/hactl\/bin\/helm --kubeconfig \/etc\/kubernetes\/admin.conf upgrade --install csi-driver-nfs csi-driver-nfs --repo \S+ --version v4.11.0 -n kube-system --set kubeletDir=\/var\/lib\/kubelet$/,
    );
  });

  it("the driver and class steps run helm and apply the class's manifest on stdin", async () => {
    const host = new FakeHost("node-1")
      .on({ prefix: ["microk8s", "helm3", "upgrade", "--install", "csi-driver-nfs"] }, { code: 0 })
      .on({ equal: [...KUBECTL, "apply", "-f", "-"] }, { code: 0 });
    const [driver, cls] = planNfsStorage(spec, "node-1", undefined)[0]?.steps ?? [];
    expect(await driver?.run(ctx([host]))).toBe("changed");
    expect(await cls?.run(ctx([host]))).toBe("changed");
    expect(host.commands[1]?.stdin).toBe(storageClassManifest(nfs));
    expect(JSON.parse(storageClassManifest(nfs))).toMatchObject({
      metadata: { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "nfs.csi.k8s.io",
      parameters: { server: "10.0.0.5", share: "/srv/nfs/k8s" },
      mountOptions: ["nfsvers=4.1", "hard"],
    });
    const replaced = planNfsStorage(spec, "node-1", {
      driver: true,
      storageClass: { ...(done.storageClass as NonNullable<NfsClassState["storageClass"]>), parameters: {} },
    })[0]?.steps[0];
    const h2 = new FakeHost("node-1").on({ prefix: KUBECTL }, { code: 0 });
    await replaced?.run(ctx([h2]));
    expect(h2.lines).toEqual([
      "microk8s kubectl delete storageclass nfs-csi --ignore-not-found",
      "microk8s kubectl apply -f -",
    ]);
  });

  it("the check creates the claim, waits for Bound and deletes it", async () => {
    const host = new FakeHost("node-1")
      .on({ prefix: [...KUBECTL, "delete", "pvc"] }, { code: 0 })
      .on({ equal: [...KUBECTL, "apply", "-f", "-"] }, { code: 0 })
      .on({ prefix: [...KUBECTL, "get", "pvc"] }, { stdout: "Pending" }, { stdout: "Bound" });
    const verify = planNfsStorage(spec, "node-1", { driver: true })[0]?.steps[1];
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const run = verify?.run(ctx([host]));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await run).toBe("unchanged");
    expect(host.lines).toEqual([
      "microk8s kubectl delete pvc hactl-nfs-check -n default --ignore-not-found",
      "microk8s kubectl apply -f -",
      "microk8s kubectl get pvc hactl-nfs-check -n default -o jsonpath={.status.phase}",
      "microk8s kubectl get pvc hactl-nfs-check -n default -o jsonpath={.status.phase}",
      "microk8s kubectl delete pvc hactl-nfs-check -n default --ignore-not-found",
    ]);
    expect(JSON.parse(host.commands[1]?.stdin ?? "")).toMatchObject({ spec: { storageClassName: "nfs-csi" } });
  });

  it("a claim still Pending after 120 s fails with the provisioner's reason and what to check, and is deleted", async () => {
    const host = new FakeHost("node-1")
      .on({ prefix: [...KUBECTL, "delete", "pvc"] }, { code: 0 })
      .on({ equal: [...KUBECTL, "apply", "-f", "-"] }, { code: 0 })
      .on({ prefix: [...KUBECTL, "get", "pvc"] }, { stdout: "Pending" })
      .on(
        { prefix: [...KUBECTL, "get", "events"] },
        {
          stdout: JSON.stringify({
            items: [
              {
                reason: "ProvisioningFailed",
                message: "failed to provision volume: mount failed: exit status 32\nOutput: mount.nfs: access denied",
              },
            ],
          }),
        },
      );
    const verify = planNfsStorage(spec, "node-1", { driver: true })[0]?.steps[1];
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const run = verify?.run(ctx([host])).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(125_000);
    const err = await run;
    expect(err).toMatchObject({
      message:
        "PersistentVolumeClaim default/hactl-nfs-check of StorageClass nfs-csi is Pending after 120 s (ProvisioningFailed: Output: mount.nfs: access denied)",
      remedy: expect.stringContaining("that 10.0.0.5 exports /srv/nfs/k8s read-write to every node"),
    });
    expect(host.lines.at(-1)).toBe("microk8s kubectl delete pvc hactl-nfs-check -n default --ignore-not-found");
  });
});
