/**
 * `hactl init` flags → a Draft of answers. Every flag is checked with the same rules as its question;
 * all problems are reported together as one USAGE error.
 */
import { HactlError } from "../core/errors.js";
import { LB_MODES, ROLES, type LoadBalancerMode, type NodeRole } from "../spec/schema.js";
import { DEFAULTS, EXTERNAL_SERVICES, defaultRole, type Distribution, type Draft, type LbHostAnswer, type NodeDraft, type SshAuth } from "./answers.js";
import { checkServiceEnv } from "./ask-app.js";
import {
  both, checkAddress, checkApiPort, checkEnvName, checkFlag, checkIface, checkInt, checkName, checkPath, checkUser, checkVersion, checkVip, parsePorts,
} from "./validate.js";

export interface InitFlags {
  name?: string;
  distribution?: string;
  k8sVersion?: string;
  node?: string[];
  sshUser?: string;
  sshAuth?: string;
  identityFile?: string;
  passwordEnv?: string;
  lbMode?: string;
  lbHost?: string[];
  lbPort?: string[];
  vip?: string;
  interface?: string;
  apiPort?: string;
  web?: boolean;
  ha?: boolean;
  systemReplicas?: string;
  evictionTimeout?: string;
  autoscaling?: boolean;
  min?: string;
  max?: string;
  linkerd?: boolean;
  postgresqlEnv?: string;
  mongodbEnv?: string;
  s3Env?: string;
  redisEnv?: string;
  rabbitmqEnv?: string;
}

const ROLE_WORDS: Record<string, NodeRole> = { "control-plane": "control-plane", cp: "control-plane", controlplane: "control-plane", worker: "worker" };

function parseNode(text: string, problems: string[]): NodeDraft | undefined {
  const m = /^([^=]+)=([^:]+)(?::([^:]*))?(?::([^:]*))?$/.exec(text);
  if (!m) {
    problems.push(`--node ${JSON.stringify(text)}: write NAME=ADDRESS[:ROLE[:USER]], e.g. node-1=10.0.0.11:control-plane:ubuntu`);
    return undefined;
  }
  const [, name = "", address = "", roleWord, user] = m;
  const role = roleWord ? ROLE_WORDS[roleWord] : undefined;
  const found = [checkFlag("--node name", name, checkName), checkFlag("--node address", address, checkAddress), user ? checkFlag("--node user", user, checkUser) : undefined];
  if (roleWord && !role) found.push(`--node ${JSON.stringify(text)}: the role must be one of ${ROLES.join(", ")} (or cp)`);
  problems.push(...found.filter((f): f is string => f !== undefined));
  return { name, address, role, user: user || undefined };
}

function uniqueProblems(flag: string, values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = values.filter((v) => (seen.has(v.toLowerCase()) ? true : (seen.add(v.toLowerCase()), false)));
  return dup.map((v) => `${flag}: ${v} is given twice`);
}

function sshAuthOf(f: InitFlags, problems: string[]): SshAuth | undefined {
  const kind = f.sshAuth ?? (f.identityFile !== undefined ? "key" : f.passwordEnv !== undefined ? "password" : undefined);
  if (kind === undefined) return undefined;
  if (kind === "agent" && f.identityFile === undefined && f.passwordEnv === undefined) return { kind };
  if (kind === "key" && f.passwordEnv === undefined) return { kind, identityFile: f.identityFile ?? DEFAULTS.identityFile };
  if (kind === "password" && f.identityFile === undefined && f.passwordEnv !== undefined) return { kind, env: f.passwordEnv };
  problems.push("--ssh-auth: choose one of agent, --identity-file PATH (key) or --password-env NAME (password)");
  return undefined;
}

function intFlag(flag: string, value: string | undefined, min: number, max: number, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  const bad = checkFlag(flag, value, checkInt(min, max));
  if (bad) problems.push(bad);
  return bad ? undefined : Number(value);
}

export function draftFromFlags(f: InitFlags, env: NodeJS.ProcessEnv = process.env): Draft {
  const problems: string[] = [];
  const check = (flag: string, value: string | undefined, fn: (v: string) => true | string): void => {
    const bad = value === undefined ? undefined : checkFlag(flag, value, fn);
    if (bad) problems.push(bad);
  };
  const d: Draft = {};
  check("--name", f.name, checkName);
  check("--k8s-version", f.k8sVersion, checkVersion);
  check("--ssh-user", f.sshUser, checkUser);
  check("--identity-file", f.identityFile, checkPath);
  check("--password-env", f.passwordEnv, checkEnvName);
  check("--interface", f.interface, checkIface);
  if (f.name !== undefined) d.name = f.name;
  if (f.distribution !== undefined) {
    if (f.distribution === "microk8s" || f.distribution === "kubeadm") d.distribution = f.distribution;
    else problems.push(`--distribution: must be microk8s or kubeadm`);
  }
  if (f.k8sVersion !== undefined) d.version = f.k8sVersion;
  if (f.sshUser !== undefined) d.sshUser = f.sshUser;
  const auth = sshAuthOf(f, problems);
  if (auth) d.sshAuth = auth;
  if (f.node && f.node.length > 0) {
    const nodes = f.node.map((n) => parseNode(n, problems)).filter((n): n is NodeDraft => n !== undefined);
    const controlPlanes = nodes.filter((n, i) => (n.role ?? defaultRole(i)) === "control-plane").length;
    if (f.node.length < 3) problems.push(`--node: a highly available cluster needs at least 3 nodes (got ${f.node.length})`);
    else if (controlPlanes < 3) problems.push(`--node: a highly available cluster needs at least 3 control-plane nodes (got ${controlPlanes}); the first three default to control-plane`);
    problems.push(...uniqueProblems("--node name", nodes.map((n) => n.name)), ...uniqueProblems("--node address", nodes.map((n) => n.address)));
    d.nodes = nodes;
  }
  lbFlags(f, d, problems);
  appFlags(f, d, env, problems);
  if (problems.length > 0) {
    throw new HactlError("USAGE", `${problems.length} problem${problems.length === 1 ? "" : "s"} with the flags of hactl init`, {
      details: problems.map((p) => `  - ${p}`).join("\n"),
      remedy: "Fix the flags above (hactl init --help lists them), or leave them out to be asked.",
    });
  }
  return d;
}

function lbFlags(f: InitFlags, d: Draft, problems: string[]): void {
  if (f.lbMode !== undefined) {
    if ((LB_MODES as readonly string[]).includes(f.lbMode)) d.lbMode = f.lbMode as LoadBalancerMode;
    else problems.push(`--lb-mode: must be one of ${LB_MODES.join(", ")}`);
  }
  const external = (d.lbMode ?? DEFAULTS.lbMode) === "external";
  if ((f.lbHost?.length || f.lbPort?.length) && !external) problems.push("--lb-host and --lb-port need --lb-mode external");
  const apiPort = intFlag("--api-port", f.apiPort, 1, 65535, problems);
  if (apiPort !== undefined) {
    const bad = checkFlag("--api-port", String(apiPort), checkApiPort((d.distribution ?? DEFAULTS.distribution) as Distribution));
    if (bad) problems.push(bad);
    else d.apiPort = apiPort;
  }
  if (external && f.lbHost && f.lbHost.length > 0) {
    const hosts: LbHostAnswer[] = [];
    for (const text of f.lbHost) {
      const [name = "", address = ""] = text.split("=");
      const bad = [checkFlag("--lb-host name", name, checkName), checkFlag("--lb-host address", address, checkAddress)].filter((b) => b !== undefined);
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

function appFlags(f: InitFlags, d: Draft, env: NodeJS.ProcessEnv, problems: string[]): void {
  const systemReplicas = intFlag("--system-replicas", f.systemReplicas, 3, 100, problems);
  const eviction = intFlag("--eviction-timeout", f.evictionTimeout, 10, 300, problems);
  const min = intFlag("--min", f.min, 1, 1000, problems);
  const max = intFlag("--max", f.max, 1, 1000, problems);
  const haImplied = f.systemReplicas !== undefined || f.evictionTimeout !== undefined;
  if (f.ha === false && haImplied) problems.push("--system-replicas and --eviction-timeout are HA settings: leave out --no-ha");
  const ha = f.ha ?? (haImplied ? true : undefined);
  const autoscalingImplied = f.min !== undefined || f.max !== undefined;
  if (f.autoscaling === false && autoscalingImplied) problems.push("--min and --max are autoscaling settings: leave out --no-autoscaling");
  const autoscaling = f.autoscaling ?? (autoscalingImplied ? true : undefined);
  if (min !== undefined && max !== undefined && min > max) problems.push(`--max: must be at least --min (${min})`);
  if (autoscaling && f.linkerd === false) problems.push("--no-linkerd: autoscaling needs Linkerd; leave out --no-linkerd");
  Object.assign(d, {
    ...(ha !== undefined ? { ha } : {}),
    ...(systemReplicas !== undefined ? { systemReplicas } : {}),
    ...(eviction !== undefined ? { evictionTimeoutSeconds: eviction } : {}),
    ...(autoscaling !== undefined ? { autoscaling } : {}),
    ...(min !== undefined ? { minReplicas: min } : {}),
    ...(max !== undefined ? { maxReplicas: max } : {}),
    ...(f.linkerd !== undefined || autoscaling ? { linkerd: Boolean(autoscaling) || Boolean(f.linkerd) } : {}),
  });
  const external: NonNullable<Draft["external"]> = {};
  const given = { postgresql: f.postgresqlEnv, mongodb: f.mongodbEnv, s3: f.s3Env, redis: f.redisEnv, rabbitmq: f.rabbitmqEnv };
  for (const s of EXTERNAL_SERVICES) {
    const name = given[s.key];
    if (name === undefined) continue;
    const bad = checkFlag(s.flag, name, both(checkEnvName, checkServiceEnv(s.key, env)));
    if (bad) problems.push(bad);
    else external[s.key] = name;
  }
  if (Object.keys(external).length > 0) d.external = external;
}
