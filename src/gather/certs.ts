import type { Command } from "../core/command.js";
import type { RemoteHost } from "../core/host.js";
import { asHactlError } from "../core/errors.js";
import {
  KUBEADM_KUBELET_CERT,
  MICROK8S_CERTS,
  enddatesCommand,
  parseCheckExpiration,
  parseEnddates,
  type CertObservation,
} from "../distros/certs.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";

export interface GatheredCerts {
  observed: Map<string, CertObservation[]>;
  /** Nodes whose certificates could not be read, with why. */
  unreadable: Map<string, string>;
}

const CHECK_EXPIRATION: Command = { argv: ["kubeadm", "certs", "check-expiration"], sudo: true, timeoutMs: 60_000 };

/** One node's certificates: openssl on the files (MicroK8s), kubeadm's own check plus the kubelet's. */
async function nodeCerts(
  host: RemoteHost,
  node: NodeSpec,
  distribution: ClusterSpec["spec"]["distribution"]["type"],
): Promise<CertObservation[]> {
  if (distribution === "microk8s") {
    const r = await host.run(enddatesCommand(MICROK8S_CERTS.map((c) => c.path)));
    return parseEnddates(r.stdout, MICROK8S_CERTS);
  }
  const kubelet = parseEnddates((await host.run(enddatesCommand([KUBEADM_KUBELET_CERT.path]))).stdout, [
    KUBEADM_KUBELET_CERT,
  ]);
  if (node.role !== "control-plane") return kubelet;
  const r = await host.run(CHECK_EXPIRATION);
  return [...parseCheckExpiration(r.stdout), ...kubelet];
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
  await Promise.all(
    spec.spec.nodes.map(async (node) => {
      const host = hosts.get(node.name);
      if (!host || unreachable.has(node.name)) {
        unreadable.set(node.name, "not reachable over SSH");
        return;
      }
      try {
        const certs = await nodeCerts(host, node, spec.spec.distribution.type);
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
