/**
 * Checks of the numbers operators give to scale, autoscale and ha. Each error names the flag, the
 * allowed range and what was given, so the operator can fix the command line without reading docs.
 */
import { HactlError } from "../../core/errors.js";

/** Bounds the issue fixes for HA mode. */
export const HA_LIMITS = {
  minNodes: 3,
  minSystemReplicas: 3,
  maxSystemReplicas: 100,
  minEvictionSeconds: 10,
  maxEvictionSeconds: 300,
} as const;

export const MAX_REPLICAS = 1000;

/** An integer from the command line within [min, max]; USAGE error naming the flag otherwise. */
export function parseIntFlag(flag: string, raw: string | undefined, min: number, max: number, unit = ""): number {
  const suffix = unit ? ` ${unit}` : "";
  if (raw === undefined || raw.trim() === "") {
    throw new HactlError("USAGE", `${flag} is required (an integer from ${min} to ${max}${suffix})`, {
      remedy: `Give ${flag} <n> with a value from ${min} to ${max}${suffix}.`,
    });
  }
  const text = raw.trim();
  if (!/^-?\d+$/.test(text)) {
    throw new HactlError("USAGE", `${flag} must be a whole number from ${min} to ${max}${suffix}`, {
      remedy: `Give ${flag} a number, e.g. ${flag} ${min}.`,
    });
  }
  const n = Number(text);
  if (n < min || n > max) {
    throw new HactlError("USAGE", `${flag} ${n} is out of range: it must be from ${min} to ${max}${suffix}`, {
      remedy: `Give ${flag} a value from ${min} to ${max}${suffix}.`,
    });
  }
  return n;
}

export interface HaValues {
  systemReplicas: number;
  evictionTimeoutSeconds: number;
}

/** The values of `ha enable`; flags fall back to what cluster.yaml has. */
export function haValues(
  flags: { systemReplicas?: string | undefined; evictionTimeout?: string | undefined },
  fallback: HaValues,
): HaValues {
  return {
    systemReplicas: parseIntFlag(
      "--system-replicas",
      flags.systemReplicas ?? String(fallback.systemReplicas),
      HA_LIMITS.minSystemReplicas,
      HA_LIMITS.maxSystemReplicas,
    ),
    evictionTimeoutSeconds: parseIntFlag(
      "--eviction-timeout",
      flags.evictionTimeout ?? String(fallback.evictionTimeoutSeconds),
      HA_LIMITS.minEvictionSeconds,
      HA_LIMITS.maxEvictionSeconds,
      "seconds",
    ),
  };
}

/** HA mode spreads system services over nodes and tolerates one node down: it needs at least 3. */
export function checkHaNodeCount(nodeCount: number, where: string): void {
  if (nodeCount >= HA_LIMITS.minNodes) return;
  throw new HactlError(
    "PREFLIGHT_FAILED",
    `HA mode needs at least ${HA_LIMITS.minNodes} nodes; ${where} has ${nodeCount}`,
    {
      remedy: `Add nodes first (hactl add-node NAME --address IP) until there are ${HA_LIMITS.minNodes} or more, then run hactl ha enable again.`,
    },
  );
}

export interface AutoscaleValues {
  minReplicas: number;
  maxReplicas: number;
  cpuPercent: number;
}

export function autoscaleValues(
  flags: { min?: string | undefined; max?: string | undefined; cpu?: string | undefined },
  fallback: AutoscaleValues,
): AutoscaleValues {
  const minReplicas = parseIntFlag("--min", flags.min ?? String(fallback.minReplicas), 1, MAX_REPLICAS);
  const maxReplicas = parseIntFlag("--max", flags.max ?? String(fallback.maxReplicas), 1, MAX_REPLICAS);
  const cpuPercent = parseIntFlag("--cpu", flags.cpu ?? String(fallback.cpuPercent), 1, 100, "percent");
  if (maxReplicas < minReplicas) {
    throw new HactlError("USAGE", `--max ${maxReplicas} is below --min ${minReplicas}`, {
      remedy: `Give --max a value of at least ${minReplicas}.`,
    });
  }
  return { minReplicas, maxReplicas, cpuPercent };
}

/** The REPLICAS argument of `hactl scale`. */
export function parseReplicas(raw: string): number {
  return parseIntFlag("REPLICAS", raw, 0, MAX_REPLICAS);
}

/** Service arguments are Deployment names: reject anything that is not one before it reaches kubectl. */
export function checkServiceName(name: string): void {
  if (/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) return;
  throw new HactlError("USAGE", `'${name}' is not a service name: use lowercase letters, digits and '-' (or 'all')`, {
    remedy: "Give the Deployment's name as `microk8s kubectl get deploy -n NAMESPACE` lists it, or 'all'.",
  });
}
