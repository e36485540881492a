import type { RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import { isMember, type Microk8sClusterState } from "./microk8s-state.js";
import { PROVIDER_FILE, PROXY_ARGS_FILE } from "../distros/microk8s-apiserver-proxy.js";
import type { ClusterSpec } from "../spec/schema.js";

/** A worker's apiserver-proxy files as read from the node (undefined: missing). */
export interface WorkerProxyFiles {
  provider: string | undefined;
  args: string | undefined;
}

export async function readWorkerProxy(host: RemoteHost): Promise<WorkerProxyFiles> {
  const [provider, args] = await Promise.all([
    host.readFile(PROVIDER_FILE, { sudo: true }),
    host.readFile(PROXY_ARGS_FILE, { sudo: true }),
  ]);
  return { provider, args };
}

/** The apiserver-proxy files of every reachable worker that is already a member of the cluster. */
export async function readJoinedWorkerProxies(
  spec: ClusterSpec,
  session: { hosts: ReadonlyMap<string, RemoteHost> },
  state: Microk8sClusterState,
): Promise<Map<string, WorkerProxyFiles>> {
  const workers = spec.spec.nodes.filter(
    (n) => n.role === "worker" && session.hosts.has(n.name) && state.installed.has(n.name) && isMember(state, n),
  );
  const files = new Map<string, WorkerProxyFiles>();
  await forEachNode("Read worker API proxies", workers, async (w) => {
    files.set(w.name, await readWorkerProxy(session.hosts.get(w.name) as RemoteHost));
  });
  return files;
}
