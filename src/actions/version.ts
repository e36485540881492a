/**
 * `hactl version`: hactl's own version, and with -f the distribution version on each node (unreachable
 * nodes are reported, not fatal). With -o json the whole answer is one result document.
 */
import { readFile } from "node:fs/promises";
import type { RunContext } from "../core/context.js";
import { embeddedText } from "../core/embedded.js";
import { forEachNode } from "../core/parallel.js";
import { driverNamed } from "../distros/registry.js";
import { loadSpecFile } from "../spec/parse.js";
import { createReporter } from "../core/output.js";
import { openSession } from "./session.js";

export interface NodeVersionReport {
  name: string;
  address: string;
  role: string;
  reachable: boolean;
  installed?: boolean | undefined;
  version?: string | undefined;
  channel?: string | undefined;
  error?: string | undefined;
}

export interface VersionReport {
  hactl: string;
  node: string;
  cluster?: { name: string; distribution: string; version: string; nodes: NodeVersionReport[] };
}

export async function hactlVersion(): Promise<string> {
  const text = embeddedText("package.json") ?? (await readFile(new URL("../../package.json", import.meta.url), "utf8"));
  const pkg = JSON.parse(text) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

/** The run context with progress going to the log file only, so the answer is the only output. */
function logOnly(ctx: RunContext): RunContext {
  const reporter = createReporter({
    mode: "text",
    isTTY: false,
    color: false,
    ...(ctx.reporter.logFile ? { logFile: ctx.reporter.logFile } : {}),
    out: () => undefined,
    err: () => undefined,
  });
  return { ...ctx, reporter };
}

export function formatVersion(r: VersionReport): string {
  const lines = [`hactl ${r.hactl} (Node.js ${r.node})`];
  if (r.cluster) {
    lines.push(`cluster ${r.cluster.name}: ${r.cluster.distribution} ${r.cluster.version} in cluster.yaml`);
    const width = Math.max(4, ...r.cluster.nodes.map((n) => n.name.length));
    for (const n of r.cluster.nodes) {
      const what = !n.reachable
        ? `not reachable: ${n.error ?? ""}`
        : !n.installed
          ? `${r.cluster.distribution} not installed`
          : `${r.cluster.distribution} ${n.version ?? "?"}${n.channel ? ` (${n.channel})` : ""}`;
      lines.push(`  ${n.name.padEnd(width)}  ${n.role.padEnd(13)}  ${what}`);
    }
  }
  return lines.join("\n");
}

export async function runVersion(opts: { file?: string | undefined }, ctx: RunContext): Promise<number> {
  const report: VersionReport = { hactl: await hactlVersion(), node: process.version };
  if (opts.file !== undefined) {
    const { spec } = await loadSpecFile(opts.file);
    const distribution = spec.spec.distribution.type;
    const quiet = logOnly(ctx);
    const session = await openSession(spec, spec.spec.nodes, quiet, { tolerateUnreachable: true });
    try {
      const found = new Map<string, NodeVersionReport>();
      await forEachNode(
        "Read versions",
        spec.spec.nodes.filter((n) => session.hosts.has(n.name)),
        async (n) => {
          const host = session.hosts.get(n.name);
          if (host)
            found.set(n.name, {
              name: n.name,
              address: n.address,
              role: n.role,
              reachable: true,
              ...(await driverNamed(distribution).installedVersion(host)),
            });
        },
      );
      const nodes = spec.spec.nodes.map(
        (n) =>
          found.get(n.name) ?? {
            name: n.name,
            address: n.address,
            role: n.role,
            reachable: false,
            error: session.unreachable.find((e) => e.node === n.name)?.message ?? "no answer",
          },
      );
      report.cluster = { name: spec.metadata.name, distribution, version: spec.spec.distribution.version, nodes };
    } finally {
      await session.close();
    }
  }
  ctx.reporter.result(report);
  ctx.reporter.print(formatVersion(report));
  return 0;
}
