import { need } from "../core/host.js";
import type { Command } from "../core/command.js";
import type { Phase, Step } from "../core/plan.js";
import type { DistributionName } from "../distros/driver.js";
import { driverNamed } from "../distros/registry.js";
import type { CertEntry, RenewTarget } from "./certs.js";

/** Pure: may a renewal on this distribution replace this certificate? */
export function renewableBy(distribution: DistributionName): (entry: CertEntry) => boolean {
  const { renewable } = driverNamed(distribution).certRenewal;
  return (e) => e.role === "control-plane" && renewable(e);
}

/** Pure: the commands that renew one control plane's due certificates (and restart what serves them). */
export function renewCommands(distribution: DistributionName, target: RenewTarget): Command[] {
  return driverNamed(distribution).certRenewal.commands(target.certificates.map((c) => c.certificate));
}

/** Pure: the phase that renews one control plane's certificates (it is out of service meanwhile). */
export function renewPhase(distribution: DistributionName, target: RenewTarget): Phase {
  const node = target.node.name;
  const commands = renewCommands(distribution, target);
  const step: Step = {
    id: `renew:${node}`,
    node,
    title: `renew ${target.certificates.map((c) => c.certificate).join(", ")}`,
    describe: driverNamed(distribution).certRenewal.describe(commands),
    async run(ctx) {
      const host = need(ctx.hosts, node);
      for (const c of commands) {
        const r = await host.run(c, { signal: ctx.signal });
        for (const line of r.stdout.split("\n").filter(Boolean)) ctx.log(line);
      }
      return "changed";
    },
  };
  return { title: `Renew ${node}'s certificates`, mode: "serial", steps: [step] };
}
