/**
 * spec.storage.nfs: the NFS CSI driver (csi-driver-nfs, installed with the distribution's helm and its
 * kubelet directory), a StorageClass whose volumes are directories of the export, and a PersistentVolumeClaim
 * that must bind before the run counts as done. Pure planning from the spec and the cluster's state; a
 * cluster that already has both plans nothing.
 */
import { HactlError } from "../core/errors.js";
import { need, type RemoteHost } from "../core/host.js";
import type { Phase, Step, StepOutcome } from "../core/plan.js";
import type { Distribution } from "../distros/driver.js";
import { driverFor } from "../distros/registry.js";
import {
  DEFAULT_CLASS_ANNOTATION,
  NFS_PROVISIONER,
  type NfsClassState,
  type StorageClassView,
} from "../gather/nfs-storage.js";
import type { ClusterSpec, NfsStorageSpec } from "../spec/schema.js";

/** csi-driver-nfs's Helm chart: its repository, the pinned version, where the release lives. */
export const NFS_CSI_CHART = {
  release: "csi-driver-nfs",
  chart: "csi-driver-nfs",
  repo: "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts",
  version: "v4.11.0",
  namespace: "kube-system",
} as const;

/** The claim that proves the class provisions: created, waited for, deleted. */
export const CHECK_CLAIM = { name: "hactl-nfs-check", namespace: "default" } as const;
/** How long the claim may take to bind: longer right after the driver's install, whose images are pulled first. */
const BIND_TIMEOUT_MS = { driverInstalled: 120_000, driverNew: 300_000 } as const;
const POLL_MS = 2_000;

/** `helm upgrade --install` of the driver from its chart repository, with the distribution's kubelet directory. */
export function nfsDriverHelmArgs(kubeletDir: string): string[] {
  const c = NFS_CSI_CHART;
  return [
    "upgrade",
    "--install",
    c.release,
    c.chart,
    "--repo",
    c.repo,
    "--version",
    c.version,
    "-n",
    c.namespace,
    "--set",
    `kubeletDir=${kubeletDir}`,
  ];
}

/** The StorageClass as hactl wants it (what `kubectl get -o json` returns for these fields). */
export function wantedClass(nfs: NfsStorageSpec): StorageClassView {
  return {
    provisioner: NFS_PROVISIONER,
    parameters: { server: nfs.server, share: nfs.path },
    mountOptions: [...nfs.mountOptions],
    isDefault: nfs.storageClass.default,
  };
}

export function storageClassManifest(nfs: NfsStorageSpec): string {
  const want = wantedClass(nfs);
  return `${JSON.stringify(
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: nfs.storageClass.name,
        annotations: { [DEFAULT_CLASS_ANNOTATION]: String(want.isDefault) },
      },
      provisioner: want.provisioner,
      parameters: want.parameters,
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
      ...(want.mountOptions.length > 0 ? { mountOptions: want.mountOptions } : {}),
    },
    null,
    2,
  )}\n`;
}

export function checkClaimManifest(className: string): string {
  return `${JSON.stringify(
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: CHECK_CLAIM.name,
        namespace: CHECK_CLAIM.namespace,
        labels: { "app.kubernetes.io/managed-by": "hactl" },
      },
      spec: {
        accessModes: ["ReadWriteMany"],
        storageClassName: className,
        resources: { requests: { storage: "1Mi" } },
      },
    },
    null,
    2,
  )}\n`;
}

/**
 * What the class needs: "create" when missing, "replace" when its provisioner or parameters differ (they
 * cannot change in place, so it is deleted and created again), "update" when only the default mark or
 * mount options differ, undefined when it matches.
 */
export function classWork(
  nfs: NfsStorageSpec,
  have: StorageClassView | undefined,
): "create" | "replace" | "update" | undefined {
  if (!have) return "create";
  const want = wantedClass(nfs);
  const same = (a: Record<string, string>, b: Record<string, string>): boolean =>
    JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  if (have.provisioner !== want.provisioner || !same(have.parameters, want.parameters)) return "replace";
  if (have.isDefault !== want.isDefault || have.mountOptions.join(",") !== want.mountOptions.join(",")) return "update";
  return undefined;
}

async function waitBound(
  host: RemoteHost,
  driver: Distribution,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await host.exec(
      driver.kubectl("get", "pvc", CHECK_CLAIM.name, "-n", CHECK_CLAIM.namespace, "-o", "jsonpath={.status.phase}"),
    );
    const phase = r.code === 0 ? r.stdout.trim() : undefined;
    if (phase === "Bound") return phase;
    if (Date.now() >= deadline || signal.aborted) return phase;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

/** The claim's latest events (why it is still Pending), as the provisioner reported them: `REASON: message`. */
async function claimEvents(host: RemoteHost, driver: Distribution): Promise<string> {
  const r = await host.exec(
    driver.kubectl(
      "get",
      "events",
      "-n",
      CHECK_CLAIM.namespace,
      "--field-selector",
      `involvedObject.name=${CHECK_CLAIM.name}`,
      "-o",
      "json",
    ),
  );
  if (r.code !== 0) return "";
  try {
    const list = JSON.parse(r.stdout) as { items?: { reason?: string; message?: string }[] };
    return (list.items ?? [])
      .slice(-2)
      .map((e) => `${e.reason ?? "?"}: ${(e.message ?? "").split("\n").slice(-1)[0] ?? ""}`)
      .join("; ");
  } catch {
    return "";
  }
}

function verifyStep(
  spec: ClusterSpec,
  nfs: NfsStorageSpec,
  node: string,
  timeoutMs: number,
  after: readonly string[],
): Step {
  const driver = driverFor(spec);
  const claim = `${CHECK_CLAIM.namespace}/${CHECK_CLAIM.name}`;
  return {
    id: "nfs-storage:verify",
    node,
    title: `a PersistentVolumeClaim of ${nfs.storageClass.name} binds`,
    describe: [
      `create PersistentVolumeClaim ${claim} (1Mi, ReadWriteMany, storageClassName ${nfs.storageClass.name})`,
      `wait up to ${timeoutMs / 1000} s for Bound, then delete it`,
    ],
    after,
    async run(ctx): Promise<StepOutcome> {
      const host = need(ctx.hosts, node);
      const remove = driver.kubectl(
        "delete",
        "pvc",
        CHECK_CLAIM.name,
        "-n",
        CHECK_CLAIM.namespace,
        "--ignore-not-found",
      );
      await host.run(remove);
      await host.run({ ...driver.kubectl("apply", "-f", "-"), stdin: checkClaimManifest(nfs.storageClass.name) });
      try {
        const phase = await waitBound(host, driver, timeoutMs, ctx.signal);
        if (phase !== "Bound") {
          const why = await claimEvents(host, driver);
          throw new HactlError(
            "UNHEALTHY",
            `PersistentVolumeClaim ${claim} of StorageClass ${nfs.storageClass.name} is ${phase || "missing"} after ${timeoutMs / 1000} s${why ? ` (${why})` : ""}`,
            {
              node,
              remedy: `Check that the csi-driver-nfs pods run (kubectl -n ${NFS_CSI_CHART.namespace} get pods -l app.kubernetes.io/instance=${NFS_CSI_CHART.release}), that ${nfs.server} exports ${nfs.path} read-write to every node (no_root_squash), and kubectl describe pvc -n ${CHECK_CLAIM.namespace} ${CHECK_CLAIM.name}; then run the same command again.`,
            },
          );
        }
        ctx.log(`${claim} Bound through ${nfs.server}:${nfs.path}`);
      } finally {
        await host.run(remove);
      }
      return "unchanged";
    },
  };
}

/**
 * The NFS storage steps on one control plane, after everything else of the run. `state` is undefined when
 * the cluster does not run yet (this run installs it): then everything is planned.
 */
export function planNfsStorage(spec: ClusterSpec, node: string | undefined, state: NfsClassState | undefined): Phase[] {
  const nfs = spec.spec.storage?.nfs;
  if (!nfs || node === undefined) return [];
  const driver = driverFor(spec);
  const steps: Step[] = [];
  if (!state?.driver) {
    const args = nfsDriverHelmArgs(driver.kubeletDir);
    steps.push({
      id: "nfs-storage:driver",
      node,
      title: `NFS CSI driver ${NFS_CSI_CHART.chart} ${NFS_CSI_CHART.version}`,
      describe: [`helm ${args.join(" ")}`],
      async run(ctx): Promise<StepOutcome> {
        const host = need(ctx.hosts, node);
        await driver.installHelm(spec, host);
        await host.run(driver.helm(...args));
        return "changed";
      },
    });
  }
  const work = classWork(nfs, state?.storageClass);
  if (work) {
    const name = nfs.storageClass.name;
    steps.push({
      id: "nfs-storage:class",
      node,
      title: `StorageClass ${name} (${NFS_PROVISIONER}, ${nfs.server}:${nfs.path})`,
      describe: [
        ...(work === "replace" ? [`delete StorageClass ${name}: its provisioner or parameters differ`] : []),
        `kubectl apply StorageClass ${name}: provisioner ${NFS_PROVISIONER}, server ${nfs.server}, share ${nfs.path}` +
          `${nfs.mountOptions.length > 0 ? `, mountOptions ${nfs.mountOptions.join(",")}` : ""}` +
          `${nfs.storageClass.default ? ", the default class" : ""}`,
      ],
      async run(ctx): Promise<StepOutcome> {
        const host = need(ctx.hosts, node);
        if (work === "replace") await host.run(driver.kubectl("delete", "storageclass", name, "--ignore-not-found"));
        await host.run({ ...driver.kubectl("apply", "-f", "-"), stdin: storageClassManifest(nfs) });
        return "changed";
      },
    });
  }
  if (steps.length === 0) return [];
  const timeoutMs = state?.driver ? BIND_TIMEOUT_MS.driverInstalled : BIND_TIMEOUT_MS.driverNew;
  steps.push(
    verifyStep(
      spec,
      nfs,
      node,
      timeoutMs,
      steps.map((s) => s.id),
    ),
  );
  return [{ title: "NFS storage class", mode: "serial", steps }];
}
