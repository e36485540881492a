import type { RemoteHost } from "../core/host.js";
import { asHactlError } from "../core/errors.js";
import type { CertObservation } from "../distros/certs.js";
import { driverFor } from "../distros/registry.js";
import type { ClusterSpec } from "../spec/schema.js";

export interface GatheredCerts {
  observed: Map<string, CertObservation[]>;
  /** Nodes whose certificates could not be read, with why. */
  unreadable: Map<string, string>;
}

/**
 * Read-only: every reachable node's certificates, in parallel. A node where nothing could be read (not
 * installed, or the tool failed) is reported as unreadable, never silently skipped.
 */
export async function gatherCertificates(
  spec: ClusterSpec,
  hosts: ReadonlyMap<string, RemoteHost>,
  unreachable: ReadonlySet<string>,
): Promise<GatheredCerts> {
  const observed = new Map<string, CertObservation[]>();
  const unreadable = new Map<string, string>();
  const driver = driverFor(spec);
  await Promise.all(
    spec.spec.nodes.map(async (node) => {
      const host = hosts.get(node.name);
      if (!host || unreachable.has(node.name)) {
        unreadable.set(node.name, "not reachable over SSH");
        return;
      }
      try {
        const certs = await driver.readCertificates(host, node);
        if (certs.length === 0)
          unreadable.set(node.name, `no certificate found (is ${spec.spec.distribution.type} installed?)`);
        else observed.set(node.name, certs);
      } catch (err) {
        unreadable.set(node.name, asHactlError(err).message);
      }
    }),
  );
  return { observed, unreadable };
}
