import type { RunContext } from "../core/context.js";
import { EXIT } from "../core/errors.js";
import { observeCertificates } from "./certs-status.js";
import { observeFrontends } from "../gather/cluster-status.js";
import { driverFor } from "../distros/registry.js";
import { formatStatus, viewStatusReport } from "../phases/status-report.js";
import { loadSpecFile } from "../spec/parse.js";
import { machinesOf, openSession } from "./session.js";
import { apiEndpoint } from "./converge-stages.js";
import { workerProxyDrift } from "../phases/worker-proxy.js";
import { sharedMountDrift, sharedMountsOf } from "../phases/shared-mounts.js";
import { gatherSharedMountState, type SharedMountState } from "../gather/shared-mounts.js";
import { need, type RemoteHost } from "../core/host.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";

/** Each reachable node's fstab and NFS mounts, when the spec has shared mounts (no export lists: status only reads). */
async function observeSharedMounts(
  spec: ClusterSpec,
  hosts: ReadonlyMap<string, RemoteHost>,
  nodes: readonly NodeSpec[],
): Promise<Map<string, SharedMountState>> {
  if (sharedMountsOf(spec).length === 0) return new Map();
  const states = await Promise.all(nodes.map((n) => gatherSharedMountState(need(hosts, n.name), [], false)));
  return new Map(nodes.map((n, i) => [n.name, states[i] as SharedMountState]));
}

/** `hactl status`: read-only; exit 6 when anything is unhealthy or drifted from cluster.yaml. */
export async function runStatus(opts: { file: string }, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const driver = driverFor(spec);
  const session = await openSession(spec, machinesOf(spec), ctx, { tolerateUnreachable: true });
  try {
    const reachableNodes = spec.spec.nodes.filter((n) => session.hosts.has(n.name));
    const view = await driver.observeStatus(spec, session.hosts, reachableNodes);
    const unreachable = new Set(session.unreachable.map((e) => e.node ?? ""));
    const [frontends, certs, mounts] = await Promise.all([
      observeFrontends(spec, session.hosts),
      observeCertificates(spec, session.hosts, unreachable),
      observeSharedMounts(spec, session.hosts, reachableNodes),
    ]);
    const base = viewStatusReport({ spec, unreachable, view, ...frontends, apiPort: driver.apiPort });
    const endpoint = apiEndpoint(spec);
    const proxyDrift = endpoint
      ? [...view.workerProxies]
          .map(([name, files]) => workerProxyDrift(name, files, `${endpoint.host}:${endpoint.port}`))
          .filter((p): p is string => p !== undefined)
      : [];
    const problems = [...base.problems, ...proxyDrift, ...sharedMountDrift(spec, mounts), ...certs.problems];
    const report = { ...base, healthy: problems.length === 0, problems, notes: [...certs.notes, ...base.notes] };
    ctx.reporter.result(report);
    ctx.reporter.print(`\n${formatStatus(report)}`);
    return report.healthy ? EXIT.ok : EXIT.unhealthy;
  } finally {
    await session.close();
  }
}
