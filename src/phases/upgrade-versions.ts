/**
 * Pure version arithmetic for upgrades: Kubernetes minors ("1.31"), the one-minor-at-a-time path, and the
 * size of a worker batch. Shared by every distribution.
 */

/** 31 for "1.31". */
export function minorNumber(minor: string): number {
  return Number(minor.split(".")[1] ?? Number.NaN);
}

/** "1.31" from a --to value such as "1.31", "v1.31" or "1.31/stable"; undefined when it is not a minor. */
export function parseTargetMinor(text: string): string | undefined {
  const m = /^v?(1\.\d{1,2})(?:\/stable)?$/.exec(text.trim());
  return m?.[1];
}

/** "1.31" from a version such as "v1.31.9" or "1.31.9". */
export function minorOfVersion(version: string | undefined): string | undefined {
  return /^v?(1\.\d+)(?:\.|$)/.exec(version ?? "")?.[1];
}

/**
 * The minors to go through, one complete rolling pass each: from just above the lowest minor the nodes run
 * up to the target ("1.29" nodes to "1.31": ["1.30", "1.31"]). Empty when every node is there already.
 */
export function versionPath(current: readonly string[], target: string): string[] {
  if (current.length === 0) return [];
  const lowest = Math.min(...current.map(minorNumber));
  const path: string[] = [];
  for (let n = lowest + 1; n <= minorNumber(target); n++) path.push(`1.${n}`);
  return path;
}

/** At most max(1, 10 % of the workers) at once; a smaller --batch-size wins, never more than that. */
export function workerBatchSize(workers: number, requested: number | undefined): number {
  const cap = Math.max(1, Math.floor(workers / 10));
  return requested === undefined ? cap : Math.max(1, Math.min(cap, requested));
}

/** Splits a list into consecutive batches of `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
