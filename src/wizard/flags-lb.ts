/** The load-balancer flags of `hactl init`: --lb-mode, --lb-host, --lb-port, --api-port, --vip, --interface, --web. */
import { LB_MODES, type LoadBalancerMode } from "../spec/schema.js";
import { DEFAULTS, type Distribution, type Draft, type LbHostAnswer } from "./answers.js";
import type { InitFlags } from "./init-flags.js";
import { intFlag } from "./flags-app.js";
import { checkAddress, checkApiPort, checkFlag, checkName, checkVip, parsePorts } from "./validate.js";

export function lbFlags(f: InitFlags, d: Draft, problems: string[]): void {
  if (f.lbMode !== undefined) {
    if ((LB_MODES as readonly string[]).includes(f.lbMode)) d.lbMode = f.lbMode as LoadBalancerMode;
    else problems.push(`--lb-mode: must be one of ${LB_MODES.join(", ")}`);
  }
  const external = (d.lbMode ?? DEFAULTS.lbMode) === "external";
  if ((f.lbHost?.length || f.lbPort?.length) && !external)
    problems.push("--lb-host and --lb-port need --lb-mode external");
  const apiPort = intFlag("--api-port", f.apiPort, 1, 65535, problems);
  if (apiPort !== undefined) {
    const bad = checkFlag(
      "--api-port",
      String(apiPort),
      checkApiPort((d.distribution ?? DEFAULTS.distribution) as Distribution),
    );
    if (bad) problems.push(bad);
    else d.apiPort = apiPort;
  }
  if (external && f.lbHost && f.lbHost.length > 0) {
    const hosts: LbHostAnswer[] = [];
    for (const text of f.lbHost) {
      const [name = "", address = ""] = text.split("=");
      const bad = [
        checkFlag("--lb-host name", name, checkName),
        checkFlag("--lb-host address", address, checkAddress),
      ].filter((b) => b !== undefined);
      problems.push(...bad);
      hosts.push({ name, address });
    }
    if (hosts.length > 2) problems.push(`--lb-host: one or two load-balancer hosts (got ${hosts.length})`);
    d.lbHosts = hosts;
  }
  if (external && f.lbPort && f.lbPort.length > 0) {
    const ports = parsePorts(f.lbPort.join(","), d.apiPort ?? DEFAULTS.apiPort);
    if (typeof ports === "string") problems.push(`--lb-port: ${ports}`);
    else d.lbPorts = ports;
  }
  if (f.vip !== undefined) {
    const bad = checkFlag("--vip", f.vip, checkVip([...(d.nodes ?? []), ...(d.lbHosts ?? [])].map((m) => m.address)));
    if (bad) problems.push(bad);
    else d.vip = f.vip;
  }
  if (f.interface !== undefined) d.iface = f.interface;
  if (f.web !== undefined) d.web = f.web;
}
