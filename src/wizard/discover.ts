/**
 * Interface discovery for the VIP question: connect to the machines that will hold the VIP with the SSH
 * settings answered so far, and read their interfaces. Unreachable machines are not an error here: the
 * wizard then asks for the name as free text.
 */
import type { RunContext } from "../core/context.js";
import { asHactlError } from "../core/errors.js";
import { API_VERSION, KIND, clusterSchema } from "../spec/schema.js";
import type { NodeAnswer } from "./answers.js";
import type { DiscoverInterfaces, InterfaceHolder, InterfaceReport } from "./ask-interface.js";
import { sshLayout } from "./to-spec.js";

export function sshDiscovery(ctx: RunContext): DiscoverInterfaces {
  return async (
    holders: readonly InterfaceHolder[],
    nodes: readonly NodeAnswer[],
  ): Promise<InterfaceReport | undefined> => {
    const spec = clusterSchema.parse({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: "wizard" },
      spec: { distribution: { type: "microk8s" }, ...sshLayout(nodes) },
    });
    const machines = holders.map(
      (h) => spec.spec.nodes.find((n) => n.name === h.name) ?? { name: h.name, address: h.address },
    );
    const { openSession } = await import("../actions/session.js");
    const { gatherFacts } = await import("../gather/facts.js");
    let session: Awaited<ReturnType<typeof openSession>> | undefined;
    try {
      session = await openSession(spec, machines, ctx);
      const opened = session;
      const report: InterfaceReport = new Map();
      await Promise.all(
        machines.map(async (m) => {
          const host = opened.hosts.get(m.name);
          if (host) report.set(m.name, (await gatherFacts(host, [], [])).interfaces);
        }),
      );
      const complete = report.size === machines.length;
      ctx.reporter.endPhase(complete, complete ? "interfaces listed" : "could not list every machine's interfaces");
      return complete ? report : undefined;
    } catch (thrown) {
      const err = asHactlError(thrown);
      ctx.reporter.endPhase(false, "interfaces not listed");
      if (err.code === "USER_ABORTED" || err.code === "INTERRUPTED") throw err;
      ctx.reporter.warn(`could not list the interfaces: ${err.message}`);
      return undefined;
    } finally {
      await session?.close();
    }
  };
}
