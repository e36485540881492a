// Issue 17: every examples/*.yaml is valid (no problem, no warning) and renders its load-balancer configs
// with the code `hactl render` runs.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { runRender } from "../../../src/actions/render.js";
import { quietContext } from "../../fakes/context.js";
import { loadSpecFile } from "../../../src/spec/parse.js";

const DIR = join(import.meta.dirname, "../../../examples");
const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));


/** Every file under a directory, relative to it. */
function listed(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("examples/", () => {
  it("has the seeds' topologies", () => {
    expect(files.sort()).toEqual([
      "gateway-nodes.yaml",
      "kubeadm.yaml",
      "password-first.yaml",
      "shared-storage.yaml",
      "three-control-planes.yaml",
      "workers-through-vip.yaml",
    ]);
  });

  it.each(files)("%s is valid without warnings and renders", async (file) => {
    const loaded = await loadSpecFile(join(DIR, file));
    expect(loaded.problems).toEqual([]);
    const out = mkdtempSync(join(tmpdir(), "hactl-example-"));
    expect(await runRender({ file: join(DIR, file), out }, quietContext())).toBe(0);
    const written = listed(out);
    const controlPlanes = loaded.spec.spec.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
    for (const cp of controlPlanes) {
      expect(written).toContain(join(cp, "etc/keepalived/keepalived.conf"));
      expect(written).toContain(join(cp, "etc/haproxy/haproxy.cfg"));
    }
  });

  it("the gateway example renders the web VIP's configs on the gateway nodes", async () => {
    const out = mkdtempSync(join(tmpdir(), "hactl-example-"));
    await runRender({ file: join(DIR, "gateway-nodes.yaml"), out }, quietContext());
    expect(listed(out)).toContain("gw-1/etc/keepalived/keepalived.conf");
    expect(listed(out)).toContain("gw-2/etc/haproxy/haproxy.cfg");
  });
});
