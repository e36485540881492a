import { HactlError } from "../core/errors.js";
import { need, type RemoteHost } from "../core/host.js";
import type { Step, StepOutcome } from "../core/plan.js";
import {
  PROVIDER_FILE,
  PROXY_ARGS_FILE,
  PROXY_SERVICE,
  providerServers,
  proxyPointsAt,
  refreshInterval,
  renderProvider,
  withRefreshDisabled,
} from "../distros/microk8s-apiserver-proxy.js";
import type { NodeSpec } from "../spec/schema.js";
import { readWorkerProxy, type WorkerProxyFiles } from "../gather/worker-proxy-state.js";

/**
 * Pure: the workers whose proxy must be pointed at the load balancer: every worker joining in this run,
 * and every joined worker whose files say otherwise. Nothing without a load-balancer endpoint.
 */
export function workersToPoint(
  workers: readonly NodeSpec[],
  files: ReadonlyMap<string, WorkerProxyFiles>,
  joining: ReadonlySet<string>,
  endpoint: string | undefined,
): NodeSpec[] {
  if (!endpoint) return [];
  return workers.filter((w) => {
    if (w.role !== "worker") return false;
    if (joining.has(w.name)) return true;
    const f = files.get(w.name);
    return f !== undefined && !proxyPointsAt(f.provider, f.args, endpoint);
  });
}

/** Pure: what `hactl status` reports for a worker whose proxy does not send the API to the load balancer. */
export function workerProxyDrift(name: string, files: WorkerProxyFiles, endpoint: string): string | undefined {
  if (proxyPointsAt(files.provider, files.args, endpoint)) return undefined;
  const servers = files.provider === undefined ? undefined : providerServers(files.provider);
  const where =
    servers === undefined
      ? `${PROVIDER_FILE} is missing or unreadable`
      : `its API proxy sends to ${servers.join(", ") || "nothing"}`;
  const refresh = files.args === undefined ? "" : `, refresh interval ${refreshInterval(files.args) ?? "default"}`;
  return `${name}: ${where}${refresh}, not only to ${endpoint} with refresh interval 0 (drift; run hactl install)`;
}

/** The step that points one worker's API proxy at the load balancer; `after`: its join, when it joins in this run. */
export function workerProxyStep(node: NodeSpec, endpoint: string, after: readonly string[]): Step {
  return {
    id: `apiserver-proxy:${node.name}`,
    node: node.name,
    title: `API proxy to ${endpoint}`,
    describe: [
      `${PROVIDER_FILE}: the only server is ${endpoint} (validated, installed with backup)`,
      `${PROXY_ARGS_FILE}: --refresh-interval 0s`,
      `systemctl restart ${PROXY_SERVICE}`,
    ],
    ...(after.length ? { after } : {}),
    run: (ctx) => pointWorkerProxy(need(ctx.hosts, node.name), endpoint),
  };
}

const STAGED = ".hactl-new";

/**
 * Writes both files when they differ: each staged next to its target and read back (the staged
 * provider must list exactly the endpoint, the staged args must disable the refresh), then installed
 * atomically with a backup, then the proxy restarted so it forwards to the load balancer at once.
 */
export async function pointWorkerProxy(host: RemoteHost, endpoint: string): Promise<StepOutcome> {
  const current = await readWorkerProxy(host);
  if (current.args === undefined) {
    throw new HactlError("CONFIG_INVALID", `${PROXY_ARGS_FILE} does not exist on ${host.name}`, {
      node: host.name,
      remedy:
        "The node is not a MicroK8s worker (or its snap is damaged): check `snap list microk8s` and `microk8s join ... --worker` on it.",
    });
  }
  if (proxyPointsAt(current.provider, current.args, endpoint)) return "unchanged";
  const wanted = { provider: renderProvider([endpoint]), args: withRefreshDisabled(current.args) };
  const files = [
    { path: PROVIDER_FILE, content: wanted.provider },
    { path: PROXY_ARGS_FILE, content: wanted.args },
  ]
    .filter((f) => f.path !== PROVIDER_FILE || current.provider !== f.content)
    .filter((f) => f.path !== PROXY_ARGS_FILE || current.args !== f.content);
  for (const f of files) await host.writeFile(`${f.path}${STAGED}`, f.content, { mode: 0o660, sudo: true });
  const readBack = async (path: string, now: string | undefined): Promise<string | undefined> =>
    files.some((f) => f.path === path) ? host.readFile(`${path}${STAGED}`, { sudo: true }) : now;
  const [provider, args] = [
    await readBack(PROVIDER_FILE, current.provider),
    await readBack(PROXY_ARGS_FILE, current.args),
  ];
  if (!proxyPointsAt(provider, args, endpoint)) {
    await host.exec({ argv: ["rm", "-f", ...files.map((f) => `${f.path}${STAGED}`)], sudo: true });
    throw new HactlError(
      "CONFIG_INVALID",
      `the staged API proxy files on ${host.name} do not read back as written; the running ones were left in place`,
      {
        node: host.name,
        remedy: `Check free space and permissions under ${PROVIDER_FILE.replace(/\/[^/]+$/, "")}, then run the same command again.`,
      },
    );
  }
  for (const f of files) {
    await host.writeFile(f.path, f.content, { mode: 0o660, sudo: true, backup: true });
    await host.exec({ argv: ["rm", "-f", `${f.path}${STAGED}`], sudo: true });
  }
  await host.run({ argv: ["systemctl", "restart", PROXY_SERVICE], sudo: true, timeoutMs: 60_000 });
  return "changed";
}
