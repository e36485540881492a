/**
 * External services: connection strings resolved from cluster.yaml's secret references, checked
 * (shape, then TCP reachability from a node) and stored as one Secret in the application's namespace.
 * Every value is registered for redaction as soon as it is resolved, and travels only on stdin.
 */
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import type { RemoteHost } from "../../core/host.js";
import { registerSecret } from "../../core/secrets.js";
import type { Plan } from "../../core/plan.js";
import {
  describeConnectionProblems,
  EXTERNAL_SECRETS_ORDER,
  exampleOf,
  fieldOf,
  parseConnectionString,
  secretKeyOf,
  type ParsedConnection,
} from "../../phases/app/connection-string.js";
import { externalSecretPlan } from "../../phases/app/plans.js";
import { describeSecretRef, resolveSecret } from "../../spec/secrets.js";
import type { ClusterSpec } from "../../spec/schema.js";
import type { AppCluster } from "./common.js";

export interface ExternalConnection {
  parsed: ParsedConnection;
  value: string;
}

/** Resolves and validates every configured connection string; one error lists every bad field. */
export async function resolveExternalServices(spec: ClusterSpec, ctx: RunContext): Promise<ExternalConnection[]> {
  const out: ExternalConnection[] = [];
  const problems: string[] = [];
  const fixes: string[] = [];
  for (const service of EXTERNAL_SECRETS_ORDER) {
    const ref = spec.spec.externalServices[service];
    if (!ref) continue;
    const { secret } = await import("../../ui/prompts.js");
    const value = await resolveSecret(ref, { interactive: ctx.interactive, prompt: secret, label: fieldOf(service) });
    registerSecret(value);
    registerSecret(Buffer.from(value, "utf8").toString("base64"));
    const parsed = parseConnectionString(service, value);
    if (parsed.problems.length > 0) {
      problems.push(describeConnectionProblems(parsed));
      fixes.push(
        `Set the value behind ${fieldOf(service)} ${describeSecretRef(ref)} to the shape ${exampleOf(service)}`,
      );
      continue;
    }
    out.push({ parsed, value });
  }
  if (problems.length > 0) {
    throw new HactlError(
      "SPEC_INVALID",
      problems.length === 1 ? (problems[0] ?? "") : `${problems.length} connection strings are invalid`,
      {
        ...(problems.length > 1 ? { details: problems.join("\n") } : {}),
        remedy: `${fixes.join("; ")}; then run the same command again. Nothing was changed.`,
      },
    );
  }
  return out;
}

/** bash's /dev/tcp with a timeout; host and port are positional arguments, never parsed by a shell. */
async function reachable(host: RemoteHost, address: string, port: number): Promise<boolean> {
  const r = await host.exec({
    argv: ["timeout", "5", "bash", "-c", 'exec 3<>"/dev/tcp/$1/$2"', "hactl-probe", address, String(port)],
    timeoutMs: 20_000,
  });
  return r.code === 0;
}

/** Every endpoint must accept a TCP connection from the leader (where the application runs). */
export async function checkReachability(
  app: AppCluster,
  connections: readonly ExternalConnection[],
  ctx: RunContext,
): Promise<void> {
  const failures: string[] = [];
  for (const c of connections) {
    for (const e of c.parsed.endpoints) {
      const ok = await reachable(app.leaderHost, e.host, e.port);
      ctx.reporter.step(
        app.leader,
        `${c.parsed.service}: ${e.host}:${e.port} ${ok ? "reachable" : "NOT reachable"}`,
        ok ? "done" : "failed",
      );
      if (!ok) failures.push(`${fieldOf(c.parsed.service)}: ${e.host}:${e.port}`);
    }
  }
  if (failures.length > 0) {
    throw new HactlError(
      "PREFLIGHT_FAILED",
      `external services not reachable from ${app.leader}: ${failures.join(", ")}`,
      {
        remedy:
          "Check the host and port in the connection string, and that firewalls let the cluster's nodes reach the service; then run the same command again.",
      },
    );
  }
}

/** The Secret step for the resolved connections (empty plan when none is configured). */
export function externalPlanFor(app: AppCluster, connections: readonly ExternalConnection[]): Plan {
  if (connections.length === 0) return [];
  return externalSecretPlan({
    leader: app.leader,
    namespace: app.namespace,
    values: new Map(connections.map((c) => [secretKeyOf(c.parsed.service), c.value])),
  });
}
