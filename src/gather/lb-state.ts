import type { RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import type { RenderedConfig } from "../lb/render.js";

/**
 * Read-only: the machines whose load-balancer files differ from what hactl would install, or whose
 * services are not running. Only these get an LB step, so a finished cluster plans nothing.
 */
export async function lbMachinesOutOfDate(hosts: ReadonlyMap<string, RemoteHost>, files: ReadonlyMap<string, readonly RenderedConfig[]>): Promise<Set<string>> {
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
    for (const svc of new Set((files.get(name) ?? []).map((f) => f.service))) {
      if ((await host.exec({ argv: ["systemctl", "is-active", svc], sudo: true })).code !== 0) {
        stale.add(name);
        return;
      }
    }
  });
  return stale;
}
