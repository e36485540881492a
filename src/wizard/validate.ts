/**
 * Checks of single answers, with the same patterns and messages as the cluster.yaml schema, so a
 * question re-asks with the message the file would have given. Each returns true or what is wrong.
 */
import { driverNamed } from "../distros/registry.js";
import { MESSAGES, PATTERNS } from "../spec/schema.js";
import type { Distribution, LbPortAnswer } from "./answers.js";

export type Check = (value: string) => true | string;

const byPattern =
  (pattern: RegExp, message: string, max: number): Check =>
  (v) =>
    v.length <= max && pattern.test(v) ? true : message;

export const checkName = byPattern(PATTERNS.HOST_LABEL, MESSAGES.hostLabel, 63);
export const checkAddress = byPattern(PATTERNS.ADDRESS, MESSAGES.address, 253);
export const checkIpv4 = byPattern(PATTERNS.IPV4, MESSAGES.ipv4, 15);
export const checkUser = byPattern(PATTERNS.USER, MESSAGES.user, 32);
export const checkIface = byPattern(PATTERNS.INTERFACE, MESSAGES.iface, 15);
export const checkVersion = byPattern(
  PATTERNS.VERSION,
  MESSAGES.version.replace(" (quoted, so YAML keeps it a string)", ""),
  16,
);
export const checkEnvName = byPattern(PATTERNS.ENV_NAME, MESSAGES.envName, 128);
export const checkPath: Check = (v) =>
  v.length >= 1 && v.length <= 4096 && PATTERNS.SAFE_PATH.test(v) ? true : MESSAGES.path;

/** Both checks must pass; the first failure is reported. */
export function both(a: Check, b: Check): Check {
  return (v) => {
    const first = a(v);
    return first === true ? b(v) : first;
  };
}

/** An empty answer is allowed (it means "none"); anything else must pass the check. */
export function orEmpty(check: Check): Check {
  return (v) => (v.trim() === "" ? true : check(v.trim()));
}

export function checkInt(min: number, max: number): Check {
  return (v) =>
    /^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max
      ? true
      : `must be a whole number from ${min} to ${max}`;
}

export function notTaken(taken: readonly string[], what: string): Check {
  const lower = taken.map((t) => t.toLowerCase());
  return (v) => (lower.includes(v.trim().toLowerCase()) ? `${v.trim()} is already used by another ${what}` : true);
}

/** The load balancer's API port: not the API server's own port on the nodes (haproxy runs there too). */
export function checkApiPort(distribution: Distribution): Check {
  return both(checkInt(1, 65535), (v) =>
    Number(v) === driverNamed(distribution).apiPort
      ? `${v} is the ${distribution} API server's own port on every node; keep the default 7443`
      : true,
  );
}

/** A VIP must be a free address: not one of the machines'. */
export function checkVip(machineAddresses: readonly string[]): Check {
  return both(checkIpv4, (v) =>
    machineAddresses.includes(v.trim())
      ? `${v.trim()} belongs to a node or load-balancer host; the VIP must be an unused address`
      : true,
  );
}

/** "80, 443, 12201/udp" → ports; the API port is forwarded by hactl itself and refused here. */
export function parsePorts(text: string, apiPort: number): LbPortAnswer[] | string {
  const out: LbPortAnswer[] = [];
  for (const raw of text.split(/[\s,]+/).filter((s) => s !== "")) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(raw);
    const port = m ? Number(m[1]) : NaN;
    if (!m || port < 1 || port > 65535)
      return `${raw} is not a port: write numbers from 1 to 65535, optionally with /tcp or /udp (e.g. 80, 443, 12201/udp)`;
    const protocol = m[2] === "udp" ? "udp" : "tcp";
    if (protocol === "tcp" && port === apiPort)
      return `${port} is the API port, which hactl forwards itself; leave it out`;
    if (out.some((p) => p.port === port && p.protocol === protocol)) return `${port}/${protocol} is listed twice`;
    out.push({ port, protocol });
  }
  return out.length > 0 ? out : "list at least one port to forward, e.g. 80, 443";
}

export function formatPorts(ports: readonly LbPortAnswer[]): string {
  return ports.map((p) => (p.protocol === "udp" ? `${p.port}/udp` : String(p.port))).join(", ");
}

/** Turns a check's failure into an exception message for flags: "--vip: must be ...". */
export function checkFlag(flag: string, value: string, check: Check): string | undefined {
  const result = check(value);
  return result === true ? undefined : `${flag} ${JSON.stringify(value)}: ${result}`;
}
