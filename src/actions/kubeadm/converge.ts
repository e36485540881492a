import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { RunContext } from "../../cli/context.js";
import { HactlError } from "../../core/errors.js";
import { applyPlan } from "../../core/executor.js";
import { forEachNode } from "../../core/parallel.js";
import { describePlan, planIsEmpty } from "../../core/plan.js";
import { ADMIN_CONF, KUBEADM_API_PORT, KUBEADM_PORTS } from "../../distros/kubeadm.js";
import { gatherFacts, type NodeFacts } from "../../gather/facts.js";
import { gatherKubeadmState, hasVotingMember } from "../../gather/kubeadm-state.js";
import { templateSource } from "../../lb/template-source.js";
import { lbLayout } from "../../phases/lb-configs.js";
import { planKubeadmInstall } from "../../phases/kubeadm/install.js";
import type { CertKeyState } from "../../phases/kubeadm/join.js";
import { need } from "../../phases/prepare-hosts.js";
import { formatPreflight, needsHostsEntries, preflightChecks, preflightFailed } from "../../phases/preflight.js";
import type { ClusterSpec } from "../../spec/schema.js";
import { resolveSecret } from "../../spec/secrets.js";
import type { InstallOptions } from "../install.js";
import { machinesOf, type Session } from "../session.js";
import { waitLivez } from "../verify-api.js";

/** The address every client and kubeadm itself uses for the API: VIP:PORT, or the first control plane. */
export function controlPlaneEndpoint(spec: ClusterSpec): { host: string; port: number } {
  const lb = spec.spec.loadBalancer;
  if (lb.vip && lb.mode !== "none") {
    const port = lb.mode === "external" ? (lb.external?.ports.find((p) => p.backendPort === KUBEADM_API_PORT)?.port ?? lb.apiPort) : lb.apiPort;
    return { host: lb.vip, port };
  }
  const first = spec.spec.nodes.find((n) => n.role === "control-plane");
  return { host: first?.address ?? "", port: KUBEADM_API_PORT };
}

/**
 * kubeadm's converge: gather, preflight (kubeadm ports), the LB layout on 6443, the plan, then apply (or
 * print it for --dry-run) and finish with a kubeconfig through the VIP. Install, re-install and
 * add-node all come here; nodes already in the cluster get no join steps.
 */
export async function convergeKubeadm(spec: ClusterSpec, session: Session, opts: InstallOptions, ctx: RunContext): Promise<number> {
  const { reporter } = ctx;
  const dist = spec.spec.distribution;
  if (dist.type !== "kubeadm") throw new HactlError("INTERNAL", "convergeKubeadm called for another distribution");
  const machines = machinesOf(spec);
  const names = machines.map((m) => m.name);
  const probes = spec.spec.nodes.map((n) => `${n.address}:22`);

  reporter.phase("Gather facts");
  const facts = await forEachNode("Gather facts", machines, async (m) => {
    const f = await gatherFacts(need(session.hosts, m.name), names, probes);
    reporter.step(m.name, `${f.osId} ${f.osVersion}, ${f.cpus} CPU, ${f.memoryMiB} MiB`, "done");
    return f;
  });
  const state = await gatherKubeadmState(session.hosts, spec.spec.nodes);

  reporter.phase("Preflight checks");
  const checks = preflightChecks({ spec, nodes: spec.spec.nodes, facts, distroPorts: KUBEADM_PORTS, installed: state.installed, peerProbes: probes });
  reporter.print(formatPreflight(checks));
  if (preflightFailed(checks)) {
    throw new HactlError("PREFLIGHT_FAILED", "preflight checks failed; nothing was changed", {
      remedy: "Fix each FAIL line above (its fix is printed under it), then run the same command again.",
    });
  }

  const endpoint = controlPlaneEndpoint(spec);
  const layout = lbLayout({
    spec,
    facts: facts as ReadonlyMap<string, NodeFacts>,
    backendApiPort: KUBEADM_API_PORT,
    templates: templateSource(opts.templates ?? spec.spec.loadBalancer.templates),
    ...(await statsPassword(spec, ctx)),
  });
  const hostsEntriesFor = needsHostsEntries(checks);
  for (const h of spec.spec.loadBalancer.external?.hosts ?? []) hostsEntriesFor.add(h.name);
  const certs: CertKeyState = {};
  const plan = planKubeadmInstall({
    spec,
    facts,
    state,
    hostsEntriesFor,
    lbFiles: layout.files,
    lbPackages: layout.packages,
    nonlocalBind: layout.nonlocalBind,
    controlPlaneEndpoint: `${endpoint.host}:${endpoint.port}`,
    cniManifest: dist.cni.manifest ? await readCniManifest(dist.cni.manifest) : undefined,
    joinAttempts: 3,
    certs,
  });

  if (opts.dryRun) {
    reporter.phase("Plan (dry run: nothing is changed)");
    reporter.print(describePlan(plan));
    reporter.result({ dryRun: true, plan: plan.map((p) => ({ phase: p.title, mode: p.mode, steps: p.steps.map((s) => ({ node: s.node, title: s.title, describe: s.describe })) })) });
    return 0;
  }
  if (planIsEmpty(plan)) {
    reporter.info("Nothing to do: the cluster already matches cluster.yaml.");
  } else {
    if (ctx.interactive) {
      reporter.print(describePlan(plan));
      const { confirm } = await import("../../ui/prompts.js");
      if (!(await confirm(`Apply this plan to ${machines.length} machines?`, true))) throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    const summary = await applyPlan(plan, { hosts: session.hosts, reporter, signal: ctx.signal });
    reporter.info(`\n${summary.changed} step(s) changed, ${summary.unchanged} already done.`);
  }
  return opts.finish === false ? 0 : finishKubeadm(spec, session, opts, ctx);
}

async function readCniManifest(path: string): Promise<string> {
  try {
    return await readFile(resolve(path), "utf8");
  } catch (err) {
    throw new HactlError("USAGE", `cannot read the CNI manifest ${path}: ${(err as Error).message}`, {
      remedy: "Fix spec.distribution.cni.manifest (a path on this machine), or remove it to use the bundled Calico.",
    });
  }
}

async function statsPassword(spec: ClusterSpec, ctx: RunContext): Promise<{ statsPassword?: string }> {
  const ref = spec.spec.loadBalancer.stats.password;
  if (!spec.spec.loadBalancer.stats.enabled || !ref) return {};
  return { statsPassword: await resolveSecret(ref, { interactive: ctx.interactive, label: "spec.loadBalancer.stats.password" }) };
}

/** The admin kubeconfig (its server is already the control-plane endpoint), an API check through it, a summary. */
async function finishKubeadm(spec: ClusterSpec, session: Session, opts: InstallOptions, ctx: RunContext): Promise<number> {
  const { reporter } = ctx;
  const state = await gatherKubeadmState(session.hosts, spec.spec.nodes);
  if (!state.leader) throw new HactlError("INTERNAL", "no control-plane node answers after install");
  const config = await need(session.hosts, state.leader).readFile(ADMIN_CONF, { sudo: true });
  if (!config) throw new HactlError("INTERNAL", `${ADMIN_CONF} is missing on ${state.leader}`);
  const kubeconfigPath = resolve(opts.kubeconfig ?? `${spec.metadata.name}.kubeconfig`);
  await writeFile(kubeconfigPath, config, { mode: 0o600 });

  reporter.phase("Verify");
  const endpoint = controlPlaneEndpoint(spec);
  const apiOk = await waitLivez(endpoint.host, endpoint.port, 60_000);
  reporter.step("cluster", `API ${apiOk ? "answers" : "does NOT answer"} through https://${endpoint.host}:${endpoint.port}`, apiOk ? "done" : "failed");
  const ready = state.kubeNodes.filter((n) => n.ready).length;
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const voting = cps.filter((n) => hasVotingMember(state, n.address)).length;
  reporter.step("cluster", `${ready}/${spec.spec.nodes.length} nodes Ready, ${voting}/${cps.length} control planes are etcd members`, ready === spec.spec.nodes.length && voting === cps.length ? "done" : "failed");
  reporter.result({ cluster: spec.metadata.name, kubeconfig: kubeconfigPath, endpoint, apiReachable: apiOk, nodesReady: ready, nodes: spec.spec.nodes.length, etcdMembers: state.members.length });
  reporter.print(`\nKubeconfig written to ${kubeconfigPath} (mode 0600).\nNext: KUBECONFIG=${kubeconfigPath} kubectl get nodes · hactl status -f <cluster.yaml>`);
  if (!apiOk) {
    throw new HactlError("UNHEALTHY", "the cluster is installed but its API does not answer through the VIP", { remedy: "Run `hactl status` to see which load balancer or node is down." });
  }
  return 0;
}
