import { need } from "../core/host.js";
import type { RunContext } from "../core/context.js";
import { EXIT, HactlError } from "../core/errors.js";
import { describePlan, type Phase } from "../core/plan.js";
import { gatherCertificates } from "../gather/certs.js";
import { lbMachinesOutOfDate } from "../gather/lb-state.js";
import {
  EXPIRY_WARNING_DAYS,
  certsReport,
  formatCertsReport,
  planRenewal,
  type CertsReport,
  type RenewalPlan,
} from "../phases/certs.js";
import {
  CA_ROTATION_MARKER,
  caFactsCommand,
  caRotationPhases,
  parseCaFacts,
  planCaRotation,
  type CaFacts,
} from "../phases/certs-ca.js";
import { renewPhase, renewableBy } from "../phases/certs-renew.js";
import {
  backInServicePhase,
  outOfServiceRefusal,
  putBackInService,
  serviceLayoutFiles,
  takeOutOfService,
  type ServiceLayoutInput,
} from "../phases/out-of-service.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";
import { apiEndpoint } from "./converge-stages.js";
import { KUBEADM_CA_ROTATION_EFFECTS, rotateKubeadmCa } from "./certs-ca-kubeadm.js";
import { applyLocked } from "./locked-apply.js";
import { serviceLayoutInput } from "./service-layout.js";
import { lockNode, machinesOf, openSession, type Session } from "./session.js";
import { waitLivez } from "./verify-api.js";
import { byDistribution } from "../distros/registry.js";

export interface CertsCheckOptions {
  file: string;
}

export interface CertsRenewOptions {
  file: string;
  ca: boolean;
  dryRun: boolean;
}

async function readReport(spec: ClusterSpec, session: Session): Promise<CertsReport> {
  const unreachable = new Set(session.unreachable.map((e) => e.node ?? ""));
  const { observed, unreadable } = await gatherCertificates(spec, session.hosts, unreachable);
  return certsReport(spec, observed, unreadable, new Date());
}

/** `hactl certs check`: read-only; exit 6 when a certificate expires within 30 days or a node could not be read. */
export async function runCertsCheck(opts: CertsCheckOptions, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const session = await openSession(spec, spec.spec.nodes, ctx, { tolerateUnreachable: true });
  try {
    const report = await readReport(spec, session);
    ctx.reporter.result(report);
    ctx.reporter.print(`\n${formatCertsReport(report)}`);
    return report.healthy ? EXIT.ok : EXIT.unhealthy;
  } finally {
    await session.close();
  }
}

/** What replacing the CA breaks: `--ca` shows it before it asks (or needs --yes). */
const CA_ROTATION_EFFECTS = [
  "Replacing the cluster CA invalidates every certificate it signed, at once:",
  "  - every kubeconfig (yours, CI's, the nodes' own) stops working until it is re-issued;",
  "  - every worker must leave and re-join the cluster to trust the new CA;",
  "  - service-account tokens and webhooks that pin the CA fail, and workloads restart;",
  "  - while the control planes switch one by one, clients that trust only one of the two CAs fail on the others.",
];

/**
 * `hactl certs renew --ca` (MicroK8s): a new cluster CA made on the first control plane and installed on
 * the others, one at a time, each out of service meanwhile. kubeadm: see rotateKubeadmCa.
 */
async function rotateCa(spec: ClusterSpec, opts: CertsRenewOptions, ctx: RunContext): Promise<number> {
  const rotation = byDistribution(spec, {
    microk8s: { effects: CA_ROTATION_EFFECTS, rotate: rotateMicrok8sCa },
    kubeadm: { effects: KUBEADM_CA_ROTATION_EFFECTS, rotate: rotateKubeadmCa },
  });
  const effects = rotation.effects;
  for (const line of effects) ctx.reporter.warn(line);
  if (!opts.dryRun && !ctx.interactive && !ctx.yes) {
    throw new HactlError("USAGE", "replacing the cluster CA needs a confirmation; nothing was changed", {
      details: effects.join("\n"),
      remedy: "Read the effects above; run it in a terminal to be asked, or add --yes.",
    });
  }
  return rotation.rotate(spec, opts, ctx);
}

/** MicroK8s's CA rotation, once the effects were shown and confirmed. */
async function rotateMicrok8sCa(spec: ClusterSpec, opts: CertsRenewOptions, ctx: RunContext): Promise<number> {
  const session = await openSession(spec, machinesOf(spec), ctx);
  try {
    const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
    const cas = new Map<string, CaFacts>();
    for (const n of cps) {
      const facts = parseCaFacts((await need(session.hosts, n.name).run(caFactsCommand)).stdout);
      if (!facts)
        throw new HactlError("UNHEALTHY", `the CA of ${n.name} could not be read; nothing was changed`, {
          node: n.name,
          remedy: "Run hactl certs check.",
        });
      cas.set(n.name, facts);
    }
    const holder = lockNode(spec, session);
    const replacing = (await need(session.hosts, holder).readFile(CA_ROTATION_MARKER, { sudo: true }))?.trim();
    const plan = planCaRotation(cps, cas, replacing);
    const layout = await serviceLayoutInput(spec, session, ctx);
    const endpoint = apiEndpoint(spec);
    const phases = caRotationPhases(layout, plan, { probe: waitLivez, ...(endpoint ? { endpoint } : {}) });
    if (!plan.rotateOn) {
      ctx.reporter.info(
        `Finishing an interrupted CA rotation${plan.install.length > 0 ? `: ${plan.install.map((n) => n.name).join(", ")} still need ${plan.source.name}'s new CA` : ""}.`,
      );
      const stale = await lbMachinesOutOfDate(session.hosts, serviceLayoutFiles(layout, new Set()));
      if (plan.install.length === 0 && stale.size > 0) phases.push(backInServicePhase(layout, stale));
    }
    if (opts.dryRun) {
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(describePlan(phases));
      return 0;
    }
    if (ctx.interactive) {
      ctx.reporter.print(describePlan(phases));
      const { confirm } = await import("../ui/prompts.js");
      if (!(await confirm(`Replace the CA of ${spec.metadata.name}? Read the effects above.`, false)))
        throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    const lockHost = need(session.hosts, holder);
    // The fingerprint of the CA being replaced tells a later run whether this one got through every node.
    if (plan.rotateOn)
      await lockHost.writeFile(CA_ROTATION_MARKER, `${cas.get(plan.rotateOn.name)?.fingerprint ?? ""}\n`, {
        mode: 0o600,
        sudo: true,
      });
    await applyLocked(phases, spec, session, { command: "certs renew --ca", lockOn: holder, journalOn: holder }, ctx);
    await lockHost.run({ argv: ["rm", "-f", CA_ROTATION_MARKER], sudo: true });
    const workers = spec.spec.nodes.filter((n) => n.role === "worker").map((n) => n.name);
    for (const w of workers)
      ctx.reporter.warn(
        `${w} still trusts the old CA: re-join it (hactl remove-node ${w}, then hactl add-node ${w} --role worker).`,
      );
    ctx.reporter.info(
      "Every control plane now uses the new CA. Kubeconfigs made before now do not verify any more: fetch a new one (microk8s config on a control plane).",
    );
    ctx.reporter.result({ caReplaced: true, controlPlanes: cps.map((n) => n.name), workersToRejoin: workers });
    return 0;
  } finally {
    await session.close();
  }
}

/**
 * Pure: the renewal plan as phases. Each control plane in turn: out of service (out of every backend,
 * lowest VRRP priority, VIP handed over), renew, API answering with the new certificate, back in
 * service, API through the VIP. Load balancers left out of service by an interrupted run are put back.
 */
export function renewalPhases(
  layout: ServiceLayoutInput,
  plan: RenewalPlan,
  staleLb: ReadonlySet<string>,
  probe: (host: string, port: number, ms: number) => Promise<boolean>,
): { phases: Phase[]; inPlace: string[] } {
  const spec = layout.spec;
  const endpoint = apiEndpoint(spec);
  const phases: Phase[] = [];
  const inPlace: string[] = [];
  const validAfter = new Date(Date.now() + EXPIRY_WARNING_DAYS * 86_400_000);
  for (const target of plan.targets) {
    const servesRenewed = target.certificates.some((c) => c.kind === "apiserver");
    const refusal = outOfServiceRefusal(layout, target.node);
    if (refusal) inPlace.push(refusal);
    else phases.push(...takeOutOfService(layout, target.node));
    phases.push(renewPhase(spec.spec.distribution.type, target));
    if (refusal) continue;
    phases.push(
      ...putBackInService(layout, target.node, {
        probe,
        ...(endpoint ? { endpoint } : {}),
        ...(servesRenewed ? { servedValidAfter: validAfter } : {}),
      }),
    );
  }
  if (plan.targets.length === 0 && staleLb.size > 0) phases.push(backInServicePhase(layout, staleLb));
  return { phases, inPlace };
}

/**
 * `hactl certs renew`: renews the server-side certificates that expire within 90 days, one control
 * plane at a time, each out of service meanwhile. Re-running finds nothing to do; after a Ctrl-C it
 * finishes the job (a node left out of service is put back).
 */
export async function runCertsRenew(opts: CertsRenewOptions, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  if (opts.ca) return rotateCa(spec, opts, ctx);
  const session = await openSession(spec, machinesOf(spec), ctx);
  try {
    const report = await readReport(spec, session);
    if (report.unreadNodes.length > 0) {
      throw new HactlError("UNHEALTHY", "some nodes' certificates could not be read; nothing was changed", {
        details: report.problems.join("\n"),
        remedy: "Run hactl certs check and hactl status.",
      });
    }
    const plan = planRenewal(spec, report, renewableBy(spec.spec.distribution.type));
    const layout = await serviceLayoutInput(spec, session, ctx);
    const stale = await lbMachinesOutOfDate(session.hosts, serviceLayoutFiles(layout, new Set()));
    const { phases, inPlace } = renewalPhases(layout, plan, stale, waitLivez);
    for (const n of plan.notRenewed)
      ctx.reporter.warn(
        `not renewed: ${n.entry.node} ${n.entry.certificate} (${n.entry.daysLeft} days left): ${n.reason}`,
      );
    for (const why of inPlace) ctx.reporter.warn(`renewed in place, the API is briefly unavailable: ${why}`);
    if (opts.dryRun) {
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(
        phases.length > 0 ? describePlan(phases) : "Nothing to do: no server certificate expires within 90 days.",
      );
      ctx.reporter.result({
        dryRun: true,
        targets: plan.targets.map((t) => ({
          node: t.node.name,
          certificates: t.certificates.map((c) => c.certificate),
        })),
        notRenewed: plan.notRenewed.map((n) => ({
          node: n.entry.node,
          certificate: n.entry.certificate,
          reason: n.reason,
        })),
      });
      return 0;
    }
    if (phases.length === 0) {
      ctx.reporter.info(`Nothing to do: no server certificate expires within ${EXPIRY_WARNING_DAYS} days.`);
      ctx.reporter.result({ renewed: [], report });
      return report.healthy ? EXIT.ok : EXIT.unhealthy;
    }
    if (ctx.interactive) {
      ctx.reporter.print(describePlan(phases));
      const { confirm } = await import("../ui/prompts.js");
      if (
        !(await confirm(
          `Renew the certificates of ${plan.targets.map((t) => t.node.name).join(", ") || "no node"}?`,
          true,
        ))
      )
        throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    const holder = lockNode(spec, session);
    await applyLocked(phases, spec, session, { command: "certs renew", lockOn: holder, journalOn: holder }, ctx);
    const after = await readReport(spec, session);
    ctx.reporter.result({
      renewed: plan.targets.map((t) => ({ node: t.node.name, certificates: t.certificates.map((c) => c.certificate) })),
      report: after,
    });
    ctx.reporter.print(`\n${formatCertsReport(after)}`);
    return after.healthy ? EXIT.ok : EXIT.unhealthy;
  } finally {
    await session.close();
  }
}
