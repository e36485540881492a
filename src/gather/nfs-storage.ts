/**
 * Read-only facts for spec.storage.nfs from a control plane of the running cluster: whether the NFS CSI
 * driver is registered (its CSIDriver object), and the StorageClass hactl manages, as the API returns it.
 */
import { HactlError } from "../core/errors.js";
import type { RemoteHost } from "../core/host.js";
import type { Distribution } from "../distros/driver.js";
import { unexpectedOutput } from "../distros/remote-output.js";

export const NFS_PROVISIONER = "nfs.csi.k8s.io";
export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

export interface StorageClassView {
  provisioner: string;
  parameters: Record<string, string>;
  mountOptions: string[];
  isDefault: boolean;
}

export interface NfsClassState {
  /** The CSIDriver nfs.csi.k8s.io exists (csi-driver-nfs is installed). */
  driver: boolean;
  /** The StorageClass of spec.storage.nfs.storageClass.name, when it exists. */
  storageClass?: StorageClassView;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): Record<string, string> =>
  isRecord(v)
    ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"))
    : {};

/** `kubectl get storageclass NAME -o json`. */
export function parseStorageClass(json: string): StorageClassView {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw unexpectedOutput("kubectl get storageclass -o json", "one StorageClass as JSON");
  }
  if (!isRecord(doc) || typeof doc.provisioner !== "string")
    throw unexpectedOutput("kubectl get storageclass -o json", "a StorageClass with a provisioner");
  const annotations = strings(isRecord(doc.metadata) ? doc.metadata.annotations : undefined);
  return {
    provisioner: doc.provisioner,
    parameters: strings(doc.parameters),
    mountOptions: Array.isArray(doc.mountOptions) ? doc.mountOptions.filter((o) => typeof o === "string") : [],
    isDefault: annotations[DEFAULT_CLASS_ANNOTATION] === "true",
  };
}

export async function gatherNfsClassState(
  host: RemoteHost,
  driver: Pick<Distribution, "kubectl">,
  className: string,
): Promise<NfsClassState> {
  const [csi, sc] = await Promise.all([
    host.exec(driver.kubectl("get", "csidriver", NFS_PROVISIONER, "-o", "name")),
    host.exec(driver.kubectl("get", "storageclass", className, "-o", "json")),
  ]);
  const notFound = (stderr: string): boolean => /NotFound|not found/.test(stderr);
  for (const r of [csi, sc]) {
    if (r.code !== 0 && !notFound(r.stderr)) {
      throw new HactlError("UNHEALTHY", `kubectl cannot read the cluster's storage classes: ${r.stderr.trim()}`, {
        node: host.name,
        remedy: "Run `hactl status` to see whether the API answers, then run the same command again.",
      });
    }
  }
  return {
    driver: csi.code === 0 && csi.stdout.trim() !== "",
    ...(sc.code === 0 ? { storageClass: parseStorageClass(sc.stdout) } : {}),
  };
}
