import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import type { ClusterSpec } from "../spec/schema.js";

/** What an install verified at its end, in the distribution's words where they differ. */
export interface InstallCheck {
  kubeconfigPath: string;
  /** The load balancer's API address, when there is one. */
  endpoint: { host: string; port: number } | undefined;
  /** Whether the API answered through `endpoint`; undefined when there is none to ask. */
  apiOk: boolean | undefined;
  nodesReady: number;
  /** The datastore's line after "N/M nodes Ready, ", and whether it counts as done. */
  datastore: { text: string; ok: boolean };
  /** Distribution-specific fields for the JSON result. */
  extra?: Record<string, unknown>;
}

/**
 * The end of every install: the API and readiness lines, the JSON result, where the kubeconfig went and
 * what to run next; refused when the API does not answer through the load balancer.
 */
export function reportInstalled(spec: ClusterSpec, check: InstallCheck, ctx: RunContext): void {
  const { reporter } = ctx;
  const { endpoint, apiOk, kubeconfigPath } = check;
  const nodes = spec.spec.nodes.length;
  if (endpoint) {
    reporter.step(
      "cluster",
      `API ${apiOk ? "answers" : "does NOT answer"} through https://${endpoint.host}:${endpoint.port}`,
      apiOk ? "done" : "failed",
    );
  }
  reporter.step(
    "cluster",
    `${check.nodesReady}/${nodes} nodes Ready, ${check.datastore.text}`,
    check.nodesReady === nodes && check.datastore.ok ? "done" : "failed",
  );
  reporter.result({
    cluster: spec.metadata.name,
    kubeconfig: kubeconfigPath,
    endpoint,
    apiReachable: apiOk,
    nodesReady: check.nodesReady,
    nodes,
    ...check.extra,
  });
  reporter.print(
    `\nKubeconfig written to ${kubeconfigPath} (mode 0600).\nNext: KUBECONFIG=${kubeconfigPath} kubectl get nodes · hactl status -f <cluster.yaml>`,
  );
  if (apiOk === false) {
    throw new HactlError("UNHEALTHY", "the cluster is installed but its API does not answer through the VIP", {
      remedy: "Run `hactl status` to see which load balancer or node is down.",
    });
  }
}
