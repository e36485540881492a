import type { RunContext } from "../core/context.js";
import { EXIT } from "../core/errors.js";
import { observeCertificates } from "./certs-status.js";
import { observeFrontends } from "../gather/cluster-status.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import { MICROK8S_API_PORT } from "../distros/microk8s.js";
import { formatStatus, statusReport } from "../phases/status-report.js";
import { loadSpecFile } from "../spec/parse.js";
import { machinesOf, openSession } from "./session.js";
import { apiEndpoint } from "./converge-stages.js";
import { readJoinedWorkerProxies } from "../gather/worker-proxy-state.js";
import { workerProxyDrift } from "../phases/worker-proxy.js";
import type { WorkerProxyFiles } from "../gather/worker-proxy-state.js";

/** `hactl status`: read-only; exit 6 when anything is unhealthy or drifted from cluster.yaml. */
export async function runStatus(opts: { file: string }, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  if (spec.spec.distribution.type === "kubeadm")
    return (await import("./kubeadm/status.js")).runKubeadmStatus(opts, ctx);
  const session = await openSession(spec, machinesOf(spec), ctx, { tolerateUnreachable: true });
  try {
    const reachableNodes = spec.spec.nodes.filter((n) => session.hosts.has(n.name));
    const state = await gatherMicrok8sState(session.hosts, reachableNodes);
    const unreachable = new Set(session.unreachable.map((e) => e.node ?? ""));
    const [frontends, certs] = await Promise.all([
      observeFrontends(spec, session.hosts),
      observeCertificates(spec, session.hosts, unreachable),
    ]);
    const base = statusReport({ spec, unreachable, state, ...frontends, apiPort: MICROK8S_API_PORT });
    const endpoint = apiEndpoint(spec);
    const proxies = endpoint
      ? await readJoinedWorkerProxies(spec, session, state)
      : new Map<string, WorkerProxyFiles>();
    const proxyDrift = endpoint
      ? [...proxies]
          .map(([name, files]) => workerProxyDrift(name, files, `${endpoint.host}:${endpoint.port}`))
          .filter((p): p is string => p !== undefined)
      : [];
    const problems = [...base.problems, ...proxyDrift, ...certs.problems];
    const report = { ...base, healthy: problems.length === 0, problems, notes: [...certs.notes, ...base.notes] };
    ctx.reporter.result(report);
    ctx.reporter.print(`\n${formatStatus(report)}`);
    return report.healthy ? EXIT.ok : EXIT.unhealthy;
  } finally {
    await session.close();
  }
}
