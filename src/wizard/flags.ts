/**
 * `hactl init` flags → a Draft of answers. Every flag is checked with the same rules as its question;
 * all problems are reported together as one USAGE error.
 */
import { HactlError } from "../core/errors.js";
import { ROLES, type NodeRole } from "../spec/schema.js";
import { DEFAULTS, defaultRole, type Draft, type NodeDraft, type SshAuth } from "./answers.js";
import { appFlags } from "./flags-app.js";
import type { InitFlags } from "./init-flags.js";
import { lbFlags } from "./flags-lb.js";
import {
  checkAddress,
  checkEnvName,
  checkFlag,
  checkIface,
  checkName,
  checkPath,
  checkUser,
  checkVersion,
} from "./validate.js";

const ROLE_WORDS: Record<string, NodeRole> = {
  "control-plane": "control-plane",
  cp: "control-plane",
  controlplane: "control-plane",
  worker: "worker",
};

function parseNode(text: string, problems: string[]): NodeDraft | undefined {
  const m = /^([^=]+)=([^:]+)(?::([^:]*))?(?::([^:]*))?$/.exec(text);
  if (!m) {
    problems.push(
      `--node ${JSON.stringify(text)}: write NAME=ADDRESS[:ROLE[:USER]], e.g. node-1=10.0.0.11:control-plane:ubuntu`,
    );
    return undefined;
  }
  const [, name = "", address = "", roleWord, user] = m;
  const role = roleWord ? ROLE_WORDS[roleWord] : undefined;
  const found = [
    checkFlag("--node name", name, checkName),
    checkFlag("--node address", address, checkAddress),
    user ? checkFlag("--node user", user, checkUser) : undefined,
  ];
  if (roleWord && !role)
    found.push(`--node ${JSON.stringify(text)}: the role must be one of ${ROLES.join(", ")} (or cp)`);
  problems.push(...found.filter((f): f is string => f !== undefined));
  return { name, address, role, user: user || undefined };
}

/** --node-auth NAME=agent|key:PATH|password:ENV: one node's login method (the answer to "log in differently"). */
function applyNodeAuth(texts: readonly string[], nodes: NodeDraft[], problems: string[]): void {
  for (const text of texts) {
    const m = /^([^=]+)=(agent|key|password)(?::(.+))?$/.exec(text);
    const node = m ? nodes.find((n) => n.name === m[1]) : undefined;
    if (!m) {
      problems.push(`--node-auth ${JSON.stringify(text)}: write NAME=agent, NAME=key:PATH or NAME=password:ENV_NAME`);
    } else if (!node) {
      problems.push(`--node-auth ${JSON.stringify(text)}: ${m[1] ?? ""} is not given with --node`);
    } else if (m[2] === "agent" && m[3] === undefined) {
      node.auth = { kind: "agent" };
    } else if (m[2] === "key") {
      const bad = checkFlag("--node-auth key file", m[3] ?? "", checkPath);
      if (bad) problems.push(bad);
      else node.auth = { kind: "key", identityFile: m[3] ?? "" };
    } else if (m[2] === "password") {
      const bad = checkFlag("--node-auth password variable", m[3] ?? "", checkEnvName);
      if (bad) problems.push(bad);
      else node.auth = { kind: "password", env: m[3] ?? "" };
    } else {
      problems.push(`--node-auth ${JSON.stringify(text)}: agent takes no value`);
    }
  }
}

function uniqueProblems(flag: string, values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = values.filter((v) => (seen.has(v.toLowerCase()) ? true : (seen.add(v.toLowerCase()), false)));
  return dup.map((v) => `${flag}: ${v} is given twice`);
}

function sshAuthOf(f: InitFlags, problems: string[]): SshAuth | undefined {
  const kind =
    f.sshAuth ?? (f.identityFile !== undefined ? "key" : f.passwordEnv !== undefined ? "password" : undefined);
  if (kind === undefined) return undefined;
  if (kind === "agent" && f.identityFile === undefined && f.passwordEnv === undefined) return { kind };
  if (kind === "key" && f.passwordEnv === undefined)
    return { kind, identityFile: f.identityFile ?? DEFAULTS.identityFile };
  if (kind === "password" && f.identityFile === undefined && f.passwordEnv !== undefined)
    return { kind, env: f.passwordEnv };
  problems.push("--ssh-auth: choose one of agent, --identity-file PATH (key) or --password-env NAME (password)");
  return undefined;
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
    if (f.node.length < 3)
      problems.push(`--node: a highly available cluster needs at least 3 nodes (got ${f.node.length})`);
    else if (controlPlanes < 3)
      problems.push(
        `--node: a highly available cluster needs at least 3 control-plane nodes (got ${controlPlanes}); the first three default to control-plane`,
      );
    problems.push(
      ...uniqueProblems(
        "--node name",
        nodes.map((n) => n.name),
      ),
      ...uniqueProblems(
        "--node address",
        nodes.map((n) => n.address),
      ),
    );
    applyNodeAuth(f.nodeAuth ?? [], nodes, problems);
    d.nodes = nodes;
  } else if (f.nodeAuth && f.nodeAuth.length > 0) {
    problems.push("--node-auth needs the nodes given with --node");
  }
  lbFlags(f, d, problems);
  appFlags(f, d, env, problems);
  if (problems.length > 0) {
    throw new HactlError(
      "USAGE",
      `${problems.length} problem${problems.length === 1 ? "" : "s"} with the flags of hactl init`,
      {
        details: problems.map((p) => `  - ${p}`).join("\n"),
        remedy: "Fix the flags above (hactl init --help lists them), or leave them out to be asked.",
      },
    );
  }
  return d;
}
