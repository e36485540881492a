// csi-driver-nfs's controller, as far as claims go: a PersistentVolumeClaim of a StorageClass whose
// provisioner is nfs.csi.k8s.io binds once the driver is registered (its CSIDriver object, from the chart)
// and the class's server really answers on TCP 2049 from this node and exports the share (showmount, as the
// lab's nfs-ganesha with rpcbind answers it). Until then it stays Pending, and the reason is recorded as an
// Event the way the external provisioner reports it. Deleting a claim deletes its volume (reclaimPolicy Delete).
import { execFileSync } from "node:child_process";
import net from "node:net";
import { K } from "./store.mjs";

const PROVISIONER = "nfs.csi.k8s.io";

/** @param {string} host @returns {Promise<boolean>} */
function answers(host) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port: 2049, timeout: 2000 });
    const done = (/** @type {boolean} */ ok) => {
      s.destroy();
      resolve(ok);
    };
    s.on("connect", () => done(true));
    s.on("timeout", () => done(false));
    s.on("error", () => done(false));
  });
}

/** The exports the server lists, or undefined when it does not answer showmount. */
function exportsOf(/** @type {string} */ server) {
  try {
    return execFileSync("showmount", ["-e", "--no-headers", server], { encoding: "utf8", timeout: 10_000 })
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0] ?? "")
      .filter((p) => p.startsWith("/"));
  } catch {
    return undefined;
  }
}

/** Why a volume cannot be provisioned for the class now, or undefined when it can. */
async function cannotProvision(/** @type {any} */ sc, /** @type {boolean} */ driver) {
  if (!driver) {
    return {
      reason: "ExternalProvisioning",
      type: "Normal",
      message: `Waiting for a volume to be created either by the external provisioner '${PROVISIONER}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    };
  }
  const server = String(sc.parameters?.server ?? "");
  const share = String(sc.parameters?.share ?? "");
  const failed = (/** @type {string} */ why) => ({
    reason: "ProvisioningFailed",
    type: "Warning",
    message: `failed to provision volume with StorageClass "${sc.metadata.name}": rpc error: code = Internal desc = failed to mount nfs server: rpc error: code = Internal desc = mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs ${server}:${share} /tmp/pvc-mount\nOutput: mount.nfs: ${why}`,
  });
  if (!server || !share) return failed("remote share not in 'host:dir' format");
  if (!(await answers(server))) return failed("Connection refused");
  const list = exportsOf(server);
  if (list && !list.some((e) => e === "/" || e === share || share.startsWith(`${e}/`)))
    return failed(`access denied by server while mounting ${server}:${share}`);
  return undefined;
}

/** @param {import("./etcd.mjs").Etcd} db */
export async function provisionClaims(db) {
  const claims = (await db.list("/kit/objects/PersistentVolumeClaim/")).map((x) => x.value);
  const volumes = (await db.list(K.objs("PersistentVolume", "_"))).map((x) => x.value);
  for (const pv of volumes) {
    const ref = pv.spec?.claimRef;
    if (ref && !claims.some((c) => c.metadata.namespace === ref.namespace && c.metadata.name === ref.name))
      await db.del(K.obj("PersistentVolume", "", pv.metadata.name));
  }
  const driver = Boolean(await db.get(K.obj("CSIDriver", "", PROVISIONER)));
  for (const pvc of claims) {
    if (pvc.status?.phase === "Bound") continue;
    const sc = pvc.spec?.storageClassName
      ? await db.get(K.obj("StorageClass", "", pvc.spec.storageClassName))
      : undefined;
    if (sc?.provisioner !== PROVISIONER) continue;
    const problem = await cannotProvision(sc, driver);
    const ns = pvc.metadata.namespace;
    if (problem) {
      await db.put(K.obj("Event", ns, `${pvc.metadata.name}.${problem.reason}`), {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${pvc.metadata.name}.${problem.reason}`, namespace: ns },
        involvedObject: {
          kind: "PersistentVolumeClaim",
          namespace: ns,
          name: pvc.metadata.name,
          uid: pvc.metadata.uid,
        },
        reason: problem.reason,
        message: problem.message,
        type: problem.type,
        source: { component: `${PROVISIONER}_csi-nfs-controller` },
        lastTimestamp: new Date().toISOString(),
      });
      await db.put(K.obj("PersistentVolumeClaim", ns, pvc.metadata.name), { ...pvc, status: { phase: "Pending" } });
      continue;
    }
    const name = `pvc-${pvc.metadata.uid}`;
    const size = pvc.spec?.resources?.requests?.storage ?? "1Gi";
    await db.put(K.obj("PersistentVolume", "", name), {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
      spec: {
        accessModes: pvc.spec.accessModes,
        capacity: { storage: size },
        claimRef: { kind: "PersistentVolumeClaim", namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid },
        csi: {
          driver: PROVISIONER,
          volumeHandle: `${sc.parameters.server}#${sc.parameters.share.replace(/^\//, "")}#${name}##`,
          volumeAttributes: { server: sc.parameters.server, share: sc.parameters.share, subdir: name },
        },
        mountOptions: sc.mountOptions,
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
        storageClassName: sc.metadata.name,
      },
      status: { phase: "Bound" },
    });
    await db.put(K.obj("PersistentVolumeClaim", ns, pvc.metadata.name), {
      ...pvc,
      spec: { ...pvc.spec, volumeName: name },
      status: { phase: "Bound", accessModes: pvc.spec.accessModes, capacity: { storage: size } },
    });
  }
}
