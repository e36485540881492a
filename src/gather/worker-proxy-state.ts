import type { RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import { isMember, type Microk8sClusterState } from "./microk8s-state.js";
import { readWorkerProxy, type WorkerProxyFiles } from "../phases/worker-proxy.js";
import type { ClusterSpec } from "../spec/schema.js";

/** The apiserver-proxy files of every reachable worker that is already a member of the cluster. */
export async function readJoinedWorkerProxies(spec: ClusterSpec, session: { hosts: ReadonlyMap<string, RemoteHost> }, state: Microk8sClusterState): Promise<Map<string, WorkerProxyFiles>> {
  const workers = spec.spec.nodes.filter((n) => n.role === "worker" && session.hosts.has(n.name) && state.installed.has(n.name) && isMember(state, n));
  const files = new Map<string, WorkerProxyFiles>();
  await forEachNode("Read worker API proxies", workers, async (w) => {
    files.set(w.name, await readWorkerProxy(session.hosts.get(w.name) as RemoteHost));
  });
  return files;
}
