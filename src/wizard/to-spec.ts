/**
 * Pure mapping of the wizard's answers to a cluster.yaml document and its text. Settings shared by the
 * nodes go to spec.ssh, the rest to each node's ssh override, so the same cluster gives the same file
 * whichever way (questions or flags) it was described.
 */
import { writeSpec } from "../spec/edit.js";
import { API_VERSION, KIND, type ClusterSpecInput, type SshOverride } from "../spec/schema.js";
import { EXTERNAL_SERVICES, type NodeAnswer, type SshAuth, type WizardAnswers } from "./answers.js";

type SpecBody = ClusterSpecInput["spec"];

/** The ssh fields that select one way of logging in (useAgent stated, so no other way is tried first). */
export function authFields(auth: SshAuth): SshOverride {
  switch (auth.kind) {
    case "agent":
      return { useAgent: true };
    case "key":
      return { identityFile: auth.identityFile, useAgent: false };
    case "password":
      return { password: { env: auth.env }, useAgent: false };
  }
}

const authKey = (auth: SshAuth): string => JSON.stringify(authFields(auth));

/** The most frequent value; ties go to the one seen first. */
function mostCommon(values: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  for (const [v, n] of counts) if (best === undefined || n > (counts.get(best) ?? 0)) best = v;
  return best;
}

/** spec.ssh and the per-node overrides for these nodes. */
export function sshLayout(nodes: readonly NodeAnswer[]): {
  ssh: NonNullable<SpecBody["ssh"]>;
  nodes: SpecBody["nodes"];
} {
  const user = mostCommon(nodes.map((n) => n.user)) ?? "root";
  const sharedAuth = new Set(nodes.map((n) => authKey(n.auth))).size === 1 ? nodes[0]?.auth : undefined;
  const ssh = { user, ...(sharedAuth ? authFields(sharedAuth) : {}) };
  const entries = nodes.map((n) => {
    const override: SshOverride = {
      ...(n.user !== user ? { user: n.user } : {}),
      ...(sharedAuth ? {} : authFields(n.auth)),
    };
    return {
      name: n.name,
      address: n.address,
      role: n.role,
      ...(Object.keys(override).length > 0 ? { ssh: override } : {}),
    };
  });
  return { ssh, nodes: entries };
}

function loadBalancerOf(a: WizardAnswers): NonNullable<SpecBody["loadBalancer"]> {
  return {
    mode: a.lbMode,
    ...(a.vip !== undefined ? { vip: a.vip } : {}),
    ...(a.iface !== undefined ? { interface: a.iface } : {}),
    apiPort: a.apiPort,
    web: { enabled: a.web },
    ...(a.lbMode === "external"
      ? {
          external: {
            engine: "nginx" as const,
            hosts: a.lbHosts.map((h) => ({ name: h.name, address: h.address })),
            ports: a.lbPorts.map((p) =>
              p.protocol === "udp" ? { port: p.port, protocol: "udp" as const } : { port: p.port },
            ),
          },
        }
      : {}),
  };
}

export function answersToSpec(a: WizardAnswers): ClusterSpecInput {
  const { ssh, nodes } = sshLayout(a.nodes);
  const externalServices: NonNullable<SpecBody["externalServices"]> = {};
  for (const s of EXTERNAL_SERVICES) {
    const env = a.external[s.key];
    if (env !== undefined) externalServices[s.key] = { env };
  }
  const linkerd = a.linkerd || a.autoscaling;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: a.name },
    spec: {
      distribution: { type: a.distribution, version: a.version },
      ssh,
      nodes,
      loadBalancer: loadBalancerOf(a),
      ...(a.autoscaling ? { addons: { metricsServer: true } } : {}),
      ha: a.ha
        ? { enabled: true, systemReplicas: a.systemReplicas, evictionTimeoutSeconds: a.evictionTimeoutSeconds }
        : { enabled: false },
      autoscaling: a.autoscaling
        ? { enabled: true, minReplicas: a.minReplicas, maxReplicas: a.maxReplicas }
        : { enabled: false },
      linkerd: { enabled: linkerd },
      ...(Object.keys(externalServices).length > 0 ? { externalServices } : {}),
    },
  };
}

/** The cluster.yaml text for these answers. */
export function answersToText(a: WizardAnswers): string {
  return writeSpec(answersToSpec(a));
}
