import type { RemoteHost } from "../core/host.js";
import { certificateStatus, certsReport } from "../phases/certs.js";
import type { ClusterSpec } from "../spec/schema.js";
import { gatherCertificates } from "../gather/certs.js";

/** For `hactl status`: the soonest certificate expiry as a note, certificates within 30 days as problems. */
export async function observeCertificates(
  spec: ClusterSpec,
  hosts: ReadonlyMap<string, RemoteHost>,
  unreachable: ReadonlySet<string>,
): Promise<{ notes: string[]; problems: string[] }> {
  const { observed, unreadable } = await gatherCertificates(spec, hosts, unreachable);
  return certificateStatus(certsReport(spec, observed, unreadable, new Date()));
}
