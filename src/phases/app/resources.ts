/**
 * Resource arithmetic for the autoscaling warning: each service's requests multiplied by its minimum
 * replicas, against what the cluster's nodes have. Pure; quantities follow Kubernetes notation.
 */
import { z } from "zod";

/** CPU quantity ("250m", "1", "0.5") in millicores; undefined when it is not a quantity. */
export function parseCpu(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] ? n : n * 1000;
}

const MEM_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Memory quantity ("128Mi", "1G", "1048576") in bytes; undefined when it is not a quantity. */
export function parseMemory(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * (MEM_UNITS[m[2] ?? ""] ?? 1);
}

export interface ServiceRequests {
  name: string;
  /** Per replica, summed over containers; undefined when no container declares a request. */
  cpuMilli: number | undefined;
  memoryBytes: number | undefined;
}

const resourcesSchema = z
  .object({ requests: z.record(z.string(), z.union([z.string(), z.number()])).optional() })
  .optional();
const deploymentList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      spec: z
        .object({
          template: z
            .object({
              spec: z.object({ containers: z.array(z.object({ resources: resourcesSchema })).optional() }).optional(),
            })
            .optional(),
        })
        .optional(),
    }),
  ),
});

/** Per-service requests from `kubectl get deploy -o json`. */
export function parseServiceRequests(stdout: string): ServiceRequests[] {
  return deploymentList.parse(JSON.parse(stdout)).items.map((d) => {
    let cpu: number | undefined;
    let mem: number | undefined;
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      const req = c.resources?.requests ?? {};
      const cpuQ = req.cpu === undefined ? undefined : parseCpu(String(req.cpu));
      const memQ = req.memory === undefined ? undefined : parseMemory(String(req.memory));
      if (cpuQ !== undefined) cpu = (cpu ?? 0) + cpuQ;
      if (memQ !== undefined) mem = (mem ?? 0) + memQ;
    }
    return { name: d.metadata.name, cpuMilli: cpu, memoryBytes: mem };
  });
}

const nodeCapacityList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      status: z.object({ capacity: z.record(z.string(), z.string()).optional() }).optional(),
    }),
  ),
});

export interface NodeCapacity {
  name: string;
  cpuMilli: number;
  memoryBytes: number;
}

/** Node capacity from `kubectl get nodes -o json`; nodes that report none are left out. */
export function parseNodeCapacity(stdout: string): NodeCapacity[] {
  const out: NodeCapacity[] = [];
  for (const n of nodeCapacityList.parse(JSON.parse(stdout)).items) {
    const cpu = n.status?.capacity?.cpu === undefined ? undefined : parseCpu(n.status.capacity.cpu);
    const mem = n.status?.capacity?.memory === undefined ? undefined : parseMemory(n.status.capacity.memory);
    if (cpu !== undefined && mem !== undefined) out.push({ name: n.metadata.name, cpuMilli: cpu, memoryBytes: mem });
  }
  return out;
}

/** `nproc` and MemTotal (kB) printed as two lines by the node probe. */
export function parseNodeProbe(name: string, stdout: string): NodeCapacity | undefined {
  const [cpus, memKib] = stdout.trim().split(/\s+/).map(Number);
  if (!cpus || !memKib || !Number.isFinite(cpus) || !Number.isFinite(memKib)) return undefined;
  return { name, cpuMilli: cpus * 1000, memoryBytes: memKib * 1024 };
}

export interface CapacityReport {
  lines: string[];
  /** True when the requests at minimum replicas exceed what the nodes have. */
  exceeds: boolean;
  data: {
    services: { name: string; cpuMilli?: number; memoryBytes?: number }[];
    need: { cpuMilli: number; memoryBytes: number };
    cluster: { nodes: number; cpuMilli: number; memoryBytes: number };
  };
}

export function formatCpu(milli: number): string {
  return milli % 1000 === 0 ? `${milli / 1000} CPU` : `${(milli / 1000).toFixed(2)} CPU`;
}

export function formatMemory(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/** The autoscaling warning: per service request × min replicas, total, and the cluster's nodes × capacity. */
export function capacityReport(
  services: readonly ServiceRequests[],
  minReplicas: number,
  nodes: readonly NodeCapacity[],
): CapacityReport {
  const lines = [`Each service's resource needs multiply by the minimum replicas (${minReplicas}):`];
  let cpuNeed = 0;
  let memNeed = 0;
  for (const s of services) {
    const cpu = s.cpuMilli === undefined ? undefined : s.cpuMilli * minReplicas;
    const mem = s.memoryBytes === undefined ? undefined : s.memoryBytes * minReplicas;
    cpuNeed += cpu ?? 0;
    memNeed += mem ?? 0;
    const what =
      cpu === undefined && mem === undefined
        ? "declares no resource requests (set them so the autoscaler and scheduler can plan)"
        : `${cpu === undefined ? "no CPU request" : formatCpu(cpu)}, ${mem === undefined ? "no memory request" : formatMemory(mem)}`;
    lines.push(`  ${s.name.padEnd(20)} ${minReplicas} × → ${what}`);
  }
  const cpuHave = nodes.reduce((a, n) => a + n.cpuMilli, 0);
  const memHave = nodes.reduce((a, n) => a + n.memoryBytes, 0);
  lines.push(`  ${"total".padEnd(20)} ${formatCpu(cpuNeed)}, ${formatMemory(memNeed)}`);
  lines.push(`  cluster: ${nodes.length} node(s), ${formatCpu(cpuHave)}, ${formatMemory(memHave)} in total`);
  const exceeds = nodes.length > 0 && (cpuNeed > cpuHave || memNeed > memHave);
  if (exceeds) lines.push("  The minimum replicas need more than the cluster has: lower --min or add nodes.");
  return {
    lines,
    exceeds,
    data: {
      services: services.map((s) => ({
        name: s.name,
        ...(s.cpuMilli === undefined ? {} : { cpuMilli: s.cpuMilli * minReplicas }),
        ...(s.memoryBytes === undefined ? {} : { memoryBytes: s.memoryBytes * minReplicas }),
      })),
      need: { cpuMilli: cpuNeed, memoryBytes: memNeed },
      cluster: { nodes: nodes.length, cpuMilli: cpuHave, memoryBytes: memHave },
    },
  };
}
