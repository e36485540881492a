import { daysLeft, type CertKind, type CertObservation } from "../distros/certs.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";

/** At or below this many days left a certificate makes the cluster unhealthy (exit 6). */
export const EXPIRY_UNHEALTHY_DAYS = 30;
/** Below this many days left a certificate gets a warning, and `certs renew` renews it. */
export const EXPIRY_WARNING_DAYS = 90;

export type ExpiryState = "ok" | "warning" | "expiring";

export interface CertEntry {
  node: string;
  role: NodeSpec["role"];
  certificate: string;
  kind: CertKind;
  path: string;
  /** ISO time of notAfter. */
  expires: string;
  daysLeft: number;
  state: ExpiryState;
}

export interface CertsReport {
  cluster: string;
  checkedAt: string;
  healthy: boolean;
  certificates: CertEntry[];
  /** The certificate that expires first (CAs included). */
  soonest?: CertEntry;
  /** Certificates at or below EXPIRY_UNHEALTHY_DAYS, unreadable nodes: any entry means exit 6. */
  problems: string[];
  /** Certificates below EXPIRY_WARNING_DAYS. */
  warnings: string[];
  /** Nodes whose certificates could not be read (unreachable, distribution missing, tool failed). */
  unreadNodes: string[];
}

export function expiryState(days: number): ExpiryState {
  if (days <= EXPIRY_UNHEALTHY_DAYS) return "expiring";
  return days < EXPIRY_WARNING_DAYS ? "warning" : "ok";
}

/**
 * Pure: every node's certificates with days left and a state, the soonest expiry, and what is wrong.
 * A node that could not be read is a problem too: its certificates are unknown.
 */
export function certsReport(
  spec: ClusterSpec,
  observed: ReadonlyMap<string, readonly CertObservation[]>,
  unreadable: ReadonlyMap<string, string>,
  now: Date,
): CertsReport {
  const certificates: CertEntry[] = [];
  for (const node of spec.spec.nodes) {
    for (const c of observed.get(node.name) ?? []) {
      const days = daysLeft(c.notAfter, now);
      certificates.push({
        node: node.name,
        role: node.role,
        certificate: c.name,
        kind: c.kind,
        path: c.path,
        expires: c.notAfter.toISOString(),
        daysLeft: days,
        state: expiryState(days),
      });
    }
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const c of certificates) {
    const when = c.daysLeft < 0 ? `expired ${-c.daysLeft} days ago` : `expires in ${c.daysLeft} days`;
    const line = `${c.node}: ${c.certificate} (${c.kind}) ${when} (${c.expires.slice(0, 10)})`;
    if (c.state === "expiring") problems.push(line);
    else if (c.state === "warning") warnings.push(line);
  }
  for (const [node, why] of unreadable) problems.push(`${node}: certificates not read (${why})`);
  const soonest = [...certificates].sort((a, b) => a.expires.localeCompare(b.expires))[0];
  return {
    cluster: spec.metadata.name,
    checkedAt: now.toISOString(),
    healthy: problems.length === 0,
    certificates,
    ...(soonest ? { soonest } : {}),
    problems,
    warnings,
    unreadNodes: [...unreadable.keys()],
  };
}

export function formatCertsReport(report: CertsReport): string {
  const rows = [
    ["NODE", "CERTIFICATE", "KIND", "EXPIRES", "DAYS LEFT", "STATE"],
    ...report.certificates.map((c) => [
      c.node,
      c.certificate,
      c.kind,
      c.expires.slice(0, 16).replace("T", " "),
      String(c.daysLeft),
      c.state,
    ]),
  ];
  const widths = rows[0]?.map((_h, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const table = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2)))
      .join("")
      .trimEnd(),
  );
  const lines = [...table, ""];
  for (const p of report.problems) lines.push(`✗ ${p}`);
  for (const w of report.warnings) lines.push(`! ${w}`);
  if (report.problems.length === 0)
    lines.push(
      `All certificates are valid for more than ${EXPIRY_UNHEALTHY_DAYS} days${report.warnings.length > 0 ? "; renew the ones above with hactl certs renew" : ""}.`,
    );
  else lines.push("Renew with: hactl certs renew");
  return lines.join("\n");
}

/** One-line summary for `hactl status`. */
function soonestExpiryLine(report: CertsReport): string | undefined {
  const s = report.soonest;
  if (!s) return undefined;
  return `soonest certificate expiry: ${s.node} ${s.certificate} on ${s.expires.slice(0, 10)} (${s.daysLeft} days)`;
}

export { RENEWABLE_KINDS } from "../distros/certs.js";

export interface RenewTarget {
  node: NodeSpec;
  /** The certificates below EXPIRY_WARNING_DAYS that this node's renewal replaces. */
  certificates: CertEntry[];
}

export interface RenewalPlan {
  /** Control planes to renew, one at a time, in cluster.yaml order. */
  targets: RenewTarget[];
  /** Certificates below the warning threshold that a renewal does not replace, with what to do instead. */
  notRenewed: { entry: CertEntry; reason: string }[];
}

/**
 * Pure: which control planes need a renewal (any renewable certificate below EXPIRY_WARNING_DAYS) and
 * which expiring certificates a renewal does not cover. A fresh renewal gives a year, so a re-run finds
 * nothing to do.
 */
export function planRenewal(
  spec: ClusterSpec,
  report: CertsReport,
  renewable: (entry: CertEntry) => boolean,
): RenewalPlan {
  const due = report.certificates.filter((c) => c.daysLeft < EXPIRY_WARNING_DAYS);
  const targets: RenewTarget[] = [];
  for (const node of spec.spec.nodes.filter((n) => n.role === "control-plane")) {
    const mine = due.filter((c) => c.node === node.name && renewable(c));
    if (mine.length > 0) targets.push({ node, certificates: mine });
  }
  const notRenewed = due
    .filter((c) => !targets.some((t) => t.certificates.includes(c)))
    .map((entry) => ({
      entry,
      reason:
        entry.kind === "ca"
          ? "a CA is only replaced with --ca (every node and kubeconfig must then trust the new CA)"
          : entry.role === "worker"
            ? `renewed when the worker re-joins (hactl remove-node ${entry.node}, then hactl add-node ${entry.node})`
            : "the distribution's tools do not renew it in place",
    }));
  return { targets, notRenewed };
}

/** Pure: what `hactl status` says about certificates: the soonest expiry (a note) and any certificate within 30 days (a problem). */
export function certificateStatus(report: CertsReport): { notes: string[]; problems: string[] } {
  const soonest = soonestExpiryLine(report);
  const expiring = report.certificates
    .filter((c) => c.state === "expiring")
    .map((c) => `${c.node}: certificate ${c.certificate} expires in ${c.daysLeft} days (hactl certs renew)`);
  return { notes: soonest ? [soonest] : [], problems: expiring };
}
