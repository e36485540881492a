import type { RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import type { RenderedConfig } from "../lb/render.js";
import { appliedStamp, stampPath } from "../lb/applied-stamp.js";

/**
 * Read-only: the machines whose load-balancer files differ from what hactl would install, whose
 * services are not running, or whose services never loaded these files (no matching applied stamp).
 * Only these get an LB step, so a finished cluster plans nothing.
 */
export async function lbMachinesOutOfDate(
  hosts: ReadonlyMap<string, RemoteHost>,
  files: ReadonlyMap<string, readonly RenderedConfig[]>,
): Promise<Set<string>> {
  const stale = new Set<string>();
  const machines = [...files.keys()].filter((m) => hosts.has(m)).map((name) => ({ name }));
  await forEachNode("Read load-balancer configs", machines, async ({ name }) => {
    const host = hosts.get(name) as RemoteHost;
    for (const f of files.get(name) ?? []) {
      if ((await host.readFile(f.path, { sudo: true })) !== f.content) {
        stale.add(name);
        return;
      }
    }
    const mine = files.get(name) ?? [];
    for (const svc of new Set(mine.map((f) => f.service))) {
      const inactive = (await host.exec({ argv: ["systemctl", "is-active", svc], sudo: true })).code !== 0;
      if (inactive || (await host.readFile(stampPath(svc), { sudo: true })) !== appliedStamp(mine, svc)) {
        stale.add(name);
        return;
      }
    }
  });
  return stale;
}
