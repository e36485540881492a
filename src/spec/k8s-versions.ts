/**
 * Which Kubernetes minor versions upstream still supports, and the one hactl suggests. Upstream
 * patches the three newest minors, each for about 14 months (kubernetes.io/releases/<minor>/ gives the
 * dates below). Review this table when a new minor comes out: add its row and move the default on.
 */

/**
 * The minor a new cluster.yaml gets when it names none (the wizard, `hactl init`, the schema default).
 * Chosen on 2026-12-02: 1.36 (released 2026-04-22, supported until 2027-06-28), the middle of the three
 * supported minors (1.35, 1.36, 1.37): settled enough for MicroK8s' snap track and kubeadm's packages,
 * with more than half a year of support left.
 */
export const DEFAULT_K8S_MINOR = "1.36";

/** Upstream end of support (the last patch release) per minor, as ISO dates. */
export const END_OF_SUPPORT: Readonly<Record<string, string>> = {
  "1.27": "2024-06-28",
  "1.28": "2024-10-28",
  "1.29": "2025-02-28",
  "1.30": "2025-07-15",
  "1.31": "2025-10-28",
  "1.32": "2026-02-28",
  "1.33": "2026-06-28",
  "1.34": "2026-10-27",
  "1.35": "2027-02-28",
  "1.36": "2027-06-28",
  "1.37": "2027-10-28",
};

function minorNumber(minor: string): number | undefined {
  const m = /^1\.(\d+)$/.exec(minor);
  return m ? Number(m[1]) : undefined;
}

/**
 * Why `minor` is out of upstream support on `today`, or undefined while it is supported (or newer than
 * this table knows). A minor older than the table's oldest row is long out of support.
 */
export function endOfSupportProblem(minor: string, today: Date): string | undefined {
  const n = minorNumber(minor);
  if (n === undefined) return undefined;
  const known = Object.keys(END_OF_SUPPORT).map((k) => minorNumber(k) ?? 0);
  const oldest = Math.min(...known);
  const date = END_OF_SUPPORT[minor];
  const day = today.toISOString().slice(0, 10);
  if (date === undefined) {
    return n < oldest
      ? `Kubernetes ${minor} has been out of upstream support since before ${END_OF_SUPPORT[`1.${oldest}`] ?? "2024"}`
      : undefined;
  }
  return day > date
    ? `Kubernetes ${minor} has been out of upstream support since ${date} (no more security fixes)`
    : undefined;
}

/** The supported minors on `today`, oldest first (for the fix text). */
export function supportedMinors(today: Date): string[] {
  const day = today.toISOString().slice(0, 10);
  return Object.entries(END_OF_SUPPORT)
    .filter(([, date]) => day <= date)
    .map(([minor]) => minor);
}

/** The advice that goes with endOfSupportProblem. */
export function endOfSupportFix(today: Date): string {
  const supported = supportedMinors(today);
  const list = supported.length > 0 ? supported.join(", ") : `${DEFAULT_K8S_MINOR} or newer`;
  return `set spec.distribution.version to a supported minor (${list}); for a running cluster, upgrade one minor at a time`;
}
