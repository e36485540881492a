import { need } from "../core/host.js";
import type { RunContext } from "../core/context.js";
import { forEachNode } from "../core/parallel.js";
import { driverFor } from "../distros/registry.js";
import { gatherFacts } from "../gather/facts.js";
import { templateSource } from "../lb/template-source.js";
import type { ServiceLayoutInput } from "../phases/out-of-service.js";
import { resolveSecret } from "../spec/secrets.js";
import type { ClusterSpec } from "../spec/schema.js";
import { machinesOf, type Session } from "./session.js";

export function backendApiPortOf(spec: ClusterSpec): number {
  return driverFor(spec).apiPort;
}

/**
 * The load-balancer layout input exactly as install builds it (facts for the interfaces, the template
 * overrides (or `templates`, a --templates flag), the stats password), so configs rendered for taking a node out of service and back differ
 * from the installed ones only where they must.
 */
export async function serviceLayoutInput(
  spec: ClusterSpec,
  session: Session,
  ctx: RunContext,
  templates?: string,
): Promise<ServiceLayoutInput> {
  const stats = spec.spec.loadBalancer.stats;
  const statsPassword =
    stats.enabled && stats.password
      ? await resolveSecret(stats.password, { interactive: ctx.interactive, label: "spec.loadBalancer.stats.password" })
      : undefined;
  const machines = machinesOf(spec).filter((m) => session.hosts.has(m.name));
  const facts = await forEachNode("Gather facts", machines, (m) => gatherFacts(need(session.hosts, m.name), [], []));
  return {
    spec,
    facts,
    backendApiPort: backendApiPortOf(spec),
    templates: templateSource(templates ?? spec.spec.loadBalancer.templates),
    ...(statsPassword ? { statsPassword } : {}),
  };
}
