import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { templateSource } from "../lb/template-source.js";
import { lbLayout } from "../phases/lb-configs.js";
import { loadSpecFile } from "../spec/parse.js";
import { driverFor } from "../distros/registry.js";

/**
 * `hactl render`: the load-balancer configs hactl would install, one directory per machine, without
 * connecting anywhere. Interfaces default to the spec's (or eth0) since no facts are gathered.
 */
export async function runRender(
  opts: { file: string; out: string; templates?: string },
  ctx: RunContext,
): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const lb = spec.spec.loadBalancer;
  const layout = lbLayout({
    spec:
      lb.mode === "none"
        ? { ...spec, spec: { ...spec.spec, loadBalancer: { ...lb, mode: "keepalived-haproxy" } } }
        : spec,
    facts: new Map(),
    backendApiPort: driverFor(spec).apiPort,
    templates: templateSource(opts.templates ?? lb.templates),
  });
  if (layout.files.size === 0) {
    throw new HactlError(
      "SPEC_INVALID",
      "nothing to render: the load balancer needs spec.loadBalancer.vip (and external hosts for mode external)",
      {
        remedy: "Set spec.loadBalancer.vip in cluster.yaml.",
      },
    );
  }
  const written: string[] = [];
  for (const [machine, files] of layout.files) {
    for (const f of files) {
      const target = join(opts.out, machine, f.path);
      await mkdir(join(target, ".."), { recursive: true });
      await writeFile(target, f.content, { mode: f.mode });
      written.push(target);
      ctx.reporter.step(machine, target, "done");
    }
  }
  ctx.reporter.result({ written });
  ctx.reporter.info(
    `Wrote ${written.length} files under ${opts.out}. Validate on the target with haproxy -c -f, nginx -t -c, keepalived -t -f.`,
  );
  return 0;
}
