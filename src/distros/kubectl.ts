import { z } from "zod";
import type { Command } from "../core/command.js";
import { parseRemote } from "./remote-output.js";

/** Parsers of `kubectl get ... -o json` shared by every distribution. */

const nodeList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string(), labels: z.record(z.string(), z.string()).optional() }),
      spec: z.object({ unschedulable: z.boolean().optional() }).optional(),
      status: z
        .object({
          addresses: z.array(z.object({ type: z.string(), address: z.string() })).optional(),
          conditions: z.array(z.object({ type: z.string(), status: z.string() })).optional(),
          nodeInfo: z.object({ kubeletVersion: z.string().optional() }).optional(),
        })
        .optional(),
    }),
  ),
});

export interface KubeNode {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  internalIp: string | undefined;
  labels: Record<string, string>;
  /** The kubelet's version, e.g. v1.32.3. */
  version?: string | undefined;
}

export function parseNodes(stdout: string): KubeNode[] {
  return parseRemote("kubectl get nodes -o json", stdout, nodeList).items.map((item) => ({
    name: item.metadata.name,
    ready: item.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    unschedulable: item.spec?.unschedulable ?? false,
    internalIp: item.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
    labels: item.metadata.labels ?? {},
    version: item.status?.nodeInfo?.kubeletVersion,
  }));
}

const deploymentList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
      spec: z.object({ replicas: z.number().optional() }).optional(),
      status: z
        .object({
          readyReplicas: z.number().optional(),
          replicas: z.number().optional(),
          updatedReplicas: z.number().optional(),
        })
        .optional(),
    }),
  ),
});

export interface KubeDeployment {
  name: string;
  replicas: number;
  readyReplicas: number;
}

export function parseDeployments(stdout: string): KubeDeployment[] {
  return parseRemote("kubectl get deployments -o json", stdout, deploymentList).items.map((d) => ({
    name: d.metadata.name,
    replicas: d.spec?.replicas ?? 0,
    readyReplicas: d.status?.readyReplicas ?? 0,
  }));
}

/**
 * `kubectl drain NODE`: cordon, then evict within `seconds` (daemon sets stay, emptyDir data goes); the
 * command itself gets a minute more than kubectl's own timeout.
 */
export function drainCommand(
  kubectl: (...args: string[]) => Command,
  node: string,
  seconds: number,
  extraFlags: readonly string[] = [],
): Command {
  return {
    ...kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", ...extraFlags, `--timeout=${seconds}s`),
    timeoutMs: (seconds + 60) * 1000,
  };
}
