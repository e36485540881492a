import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { RunContext } from "../cli/context.js";
import { HactlError } from "../core/errors.js";
import { forEachNode } from "../core/parallel.js";
import { applyPlan } from "../core/executor.js";
import { describePlan, planIsEmpty } from "../core/plan.js";
import { gatherFacts, type NodeFacts } from "../gather/facts.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import { lbMachinesOutOfDate } from "../gather/lb-state.js";
import { MICROK8S_API_PORT, MICROK8S_PORTS, kubeconfigForVip, microk8s } from "../distros/microk8s.js";
import { templateSource } from "../lb/template-source.js";
import { lbLayout } from "../phases/lb-configs.js";
import { planMicrok8sInstall } from "../phases/install-microk8s.js";
import { need } from "../phases/prepare-hosts.js";
import { formatPreflight, needsHostsEntries, preflightChecks, preflightFailed } from "../phases/preflight.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";
import { resolveSecret } from "../spec/secrets.js";
import { machinesOf, openSession, type Session } from "./session.js";
import { RunJournal } from "./journal.js";
import { acquireClusterLock } from "./lock.js";
import { waitLivez } from "./verify-api.js";

export interface InstallOptions {
  file?: string;
  dryRun: boolean;
  templates?: string;
  kubeconfig?: string;
  /** Write the kubeconfig and verify the API through the VIP at the end (install: yes; day-2: no). */
  finish?: boolean;
  /** The command recorded in the run journal (default install). */
  command?: string;
}

export async function runInstall(opts: InstallOptions, ctx: RunContext): Promise<number> {
  const spec = await specForInstall(opts, ctx);
  return withClusterSession(spec, "install", ctx, { lock: !opts.dryRun }, (session) => converge(spec, session, opts, ctx));
}

/**
 * Connects to every machine of the spec and, for changing runs, holds the cluster lock while `work`
 * runs (a --dry-run writes nothing anywhere, not even the lock); always releases the lock and closes
 * the connections.
 */
export async function withClusterSession<T>(spec: ClusterSpec, command: string, ctx: RunContext, opts: { lock: boolean }, work: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(spec, machinesOf(spec), ctx);
  try {
    if (!opts.lock) return await work(session);
    const lock = await acquireClusterLock(need(session.hosts, lockNode(spec, session)), command, ctx.reporter);
    try {
      return await work(session);
    } finally {
      await lock.release();
    }
  } finally {
    await session.close();
  }
}

async function specForInstall(opts: InstallOptions, ctx: RunContext): Promise<ClusterSpec> {
  if (opts.file) return (await loadSpecFile(opts.file)).spec;
  if (!ctx.interactive) {
    throw new HactlError("USAGE", "no cluster file given and no terminal to ask questions on", {
      remedy: "Run `hactl install -f cluster.yaml --yes`, or run `hactl install` in a terminal for the wizard.",
    });
  }
  const { runWizard } = await import("./wizard.js");
  const written = await runWizard({ out: "cluster.yaml" }, ctx);
  return (await loadSpecFile(written)).spec;
}

/** The control-plane node that holds the cluster lock and the remote journal: the first one connected. */
export function lockNode(spec: ClusterSpec, session: Session): string {
  const first = spec.spec.nodes.find((n) => n.role === "control-plane" && session.hosts.has(n.name));
  if (!first) throw new HactlError("INTERNAL", "no connected control-plane node to hold the cluster lock");
  return first.name;
}

/**
 * Brings the machines to what the spec says: gather, preflight, plan, then apply (or print the plan for
 * --dry-run). Install, re-install and add-node all go through here; nodes already in place get no steps.
 */
export async function converge(spec: ClusterSpec, session: Session, opts: InstallOptions, ctx: RunContext): Promise<number> {
  if (spec.spec.distribution.type === "kubeadm") return (await import("./kubeadm/converge.js")).convergeKubeadm(spec, session, opts, ctx);
  const { reporter } = ctx;
  const machines = machinesOf(spec);
  const names = machines.map((m) => m.name);
  const probes = spec.spec.nodes.map((n) => `${n.address}:22`);

  reporter.phase("Gather facts");
  const facts = await forEachNode("Gather facts", machines, async (m) => {
    const f = await gatherFacts(need(session.hosts, m.name), names, probes);
    reporter.step(m.name, `${f.osId} ${f.osVersion}, ${f.cpus} CPU, ${f.memoryMiB} MiB`, "done");
    return f;
  });
  const state = await gatherMicrok8sState(session.hosts, spec.spec.nodes);

  reporter.phase("Preflight checks");
  const checks = preflightChecks({
    spec,
    nodes: spec.spec.nodes,
    facts,
    distroPorts: MICROK8S_PORTS,
    installed: state.installed,
    peerProbes: probes,
  });
  reporter.print(formatPreflight(checks));
  if (preflightFailed(checks)) {
    throw new HactlError("PREFLIGHT_FAILED", "preflight checks failed; nothing was changed", {
      remedy: "Fix each FAIL line above (its fix is printed under it), then run the same command again.",
    });
  }

  const layout = lbLayout({
    spec,
    facts: facts as ReadonlyMap<string, NodeFacts>,
    backendApiPort: MICROK8S_API_PORT,
    templates: templateSource(opts.templates ?? spec.spec.loadBalancer.templates),
    ...(await statsPassword(spec, ctx)),
  });
  const hostsEntriesFor = needsHostsEntries(checks);
  for (const h of spec.spec.loadBalancer.external?.hosts ?? []) hostsEntriesFor.add(h.name);
  const lbOutOfDate = await lbMachinesOutOfDate(session.hosts, layout.files);
  const plan = planMicrok8sInstall({
    spec,
    facts,
    state,
    hostsEntriesFor,
    lbFiles: layout.files,
    lbOutOfDate,
    lbPackages: layout.packages,
    nonlocalBind: layout.nonlocalBind,
    joinAttempts: 3,
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
      const { confirm } = await import("../ui/prompts.js");
      if (!(await confirm(`Apply this plan to ${machines.length} machines?`, true))) {
        throw new HactlError("USER_ABORTED", "cancelled before any change");
      }
    }
    const journal = new RunJournal(spec.metadata.name, opts.command ?? "install", session.hosts.get(lockNode(spec, session)));
    const summary = await applyPlan(plan, { hosts: session.hosts, reporter, signal: ctx.signal, onStep: (step, outcome) => journal.record(step, outcome) });
    reporter.info(`\n${summary.changed} step(s) changed, ${summary.unchanged} already done.`);
  }
  return opts.finish === false ? 0 : finish(spec, session, opts, ctx);
}

async function statsPassword(spec: ClusterSpec, ctx: RunContext): Promise<{ statsPassword?: string }> {
  const ref = spec.spec.loadBalancer.stats.password;
  if (!spec.spec.loadBalancer.stats.enabled || !ref) return {};
  return { statsPassword: await resolveSecret(ref, { interactive: ctx.interactive, label: "spec.loadBalancer.stats.password" }) };
}

/** Kubeconfig pointing at the VIP, a check that the API answers through it, and next steps. */
async function finish(spec: ClusterSpec, session: Session, opts: InstallOptions, ctx: RunContext): Promise<number> {
  const { reporter } = ctx;
  const endpoint = apiEndpoint(spec);
  const state = await gatherMicrok8sState(session.hosts, spec.spec.nodes);
  if (!state.leader) throw new HactlError("INTERNAL", "no running control-plane node after install");
  const leader = session.hosts.get(state.leader);
  if (!leader) throw new HactlError("INTERNAL", `no connection to ${state.leader}`);
  const config = (await leader.run(microk8s.config())).stdout;
  const kubeconfigPath = resolve(opts.kubeconfig ?? `${spec.metadata.name}.kubeconfig`);
  const content = endpoint ? kubeconfigForVip(config, endpoint.host, endpoint.port) : config;
  await writeFile(kubeconfigPath, content, { mode: 0o600 });

  reporter.phase("Verify");
  let apiOk: boolean | undefined;
  if (endpoint) {
    apiOk = await waitLivez(endpoint.host, endpoint.port, 60_000);
    reporter.step("cluster", `API ${apiOk ? "answers" : "does NOT answer"} through https://${endpoint.host}:${endpoint.port}`, apiOk ? "done" : "failed");
  }
  const ready = state.kubeNodes.filter((n) => n.ready).length;
  reporter.step("cluster", `${ready}/${spec.spec.nodes.length} nodes Ready, high availability ${state.status.get(state.leader)?.haEnabled ? "on" : "off"}`, ready === spec.spec.nodes.length ? "done" : "failed");
  reporter.result({ cluster: spec.metadata.name, kubeconfig: kubeconfigPath, endpoint, apiReachable: apiOk, nodesReady: ready, nodes: spec.spec.nodes.length });
  reporter.print(`\nKubeconfig written to ${kubeconfigPath} (mode 0600).\nNext: KUBECONFIG=${kubeconfigPath} kubectl get nodes · hactl status -f <cluster.yaml>`);
  if (apiOk === false) {
    throw new HactlError("UNHEALTHY", "the cluster is installed but its API does not answer through the VIP", {
      remedy: "Run `hactl status` to see which load balancer or node is down.",
    });
  }
  return 0;
}

/**
 * Where clients reach the API: the VIP on the control planes, the external LB pair's VIP, or the single
 * external LB host's own address (one host needs no VIP).
 */
export function apiEndpoint(spec: ClusterSpec): { host: string; port: number } | undefined {
  const lb = spec.spec.loadBalancer;
  if (lb.mode === "keepalived-haproxy") return lb.vip ? { host: lb.vip, port: lb.apiPort } : undefined;
  if (lb.mode !== "external" || !lb.external) return undefined;
  const port = lb.external.ports.find((p) => p.backendPort === MICROK8S_API_PORT)?.port;
  if (port === undefined) return undefined;
  const host = lb.external.hosts.length > 1 ? lb.vip : lb.external.hosts[0]?.address;
  return host ? { host, port } : undefined;
}
