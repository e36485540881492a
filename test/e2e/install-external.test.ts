import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { waitLivez } from "../../src/actions/verify-api.js";
import { hactl, workdir, writeSpec } from "./hactl.js";

let lab: Lab;
let dir: string;
let spec: string;

beforeAll(async () => {
  lab = await labUp({ nodes: 3, lbHosts: 1 });
  dir = workdir("external");
  spec = writeSpec(dir, labClusterYaml(lab, { lbMode: "external" }));
});

afterAll(async () => {
  await labDown();
});

describe("hactl install with an external nginx load-balancer host", () => {
  it("configures nginx stream on the LB host and the API answers through it", async () => {
    const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lb = lab.lbHosts[0] as LabNode;
    const conf = await inNode(lb, ["cat", "/etc/nginx/nginx.conf"]);
    expect(conf.stdout).toMatch(/least_conn;/);
    for (const n of lab.nodes) expect(conf.stdout).toContain(`${n.address}:16443`);
    expect((await inNode(lb, ["nginx", "-t", "-c", "/etc/nginx/nginx.conf"])).code).toBe(0);
    expect((await inNode(lb, ["systemctl", "is-active", "nginx"])).code).toBe(0);
    expect(await waitLivez(lb.address, 7443, 20_000)).toBe(true);
    for (const n of lab.nodes)
      expect((await inNode(n, ["test", "-e", "/etc/haproxy/haproxy.cfg.hactl-bak"])).code).not.toBe(0);
  });

  it("changes nothing on a second run", async () => {
    const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Nothing to do");
  });
});
