/** The node questions: how many, then each node's name, address, role, SSH user and authentication. */
import type { NodeRole } from "../spec/schema.js";
import { DEFAULTS, defaultRole, type Draft, type NodeAnswer, type SshAuth } from "./answers.js";
import { askInt, type Prompter } from "./prompter.js";
import { both, checkAddress, checkEnvName, checkName, checkPath, checkUser, notTaken } from "./validate.js";

/** Nodes given as flags: role by position, user and auth from the global flags. */
export function nodesFromDraft(draft: Draft): NodeAnswer[] {
  return (draft.nodes ?? []).map((n, i) => ({
    name: n.name,
    address: n.address,
    role: n.role ?? defaultRole(i),
    user: n.user ?? draft.sshUser ?? DEFAULTS.sshUser,
    auth: draft.sshAuth ?? DEFAULTS.sshAuth,
  }));
}

export async function askAuth(p: Prompter, who: string, previous: SshAuth): Promise<SshAuth> {
  const kind = await p.select(
    `${who}: how does hactl log in over SSH?`,
    [
      { value: "agent", name: "ssh-agent (keys loaded in your agent)" },
      { value: "key", name: "a private key file" },
      { value: "password", name: "a password, read from an environment variable when hactl runs" },
    ] as const,
    previous.kind,
  );
  if (kind === "agent") return { kind };
  if (kind === "key") {
    const initial = previous.kind === "key" ? previous.identityFile : DEFAULTS.identityFile;
    return { kind, identityFile: await p.input(`${who}: private key file`, { initial, validate: checkPath }) };
  }
  const initial = previous.kind === "password" ? previous.env : DEFAULTS.passwordEnv;
  const env = await p.input(`${who}: name of the environment variable that will hold the SSH password`, { initial, validate: checkEnvName });
  p.say(`The password is not written to cluster.yaml: hactl reads it from $${env} when it runs.`);
  return { kind, env };
}

export async function askNodes(draft: Draft, p: Prompter): Promise<NodeAnswer[]> {
  if (draft.nodes) return nodesFromDraft(draft);
  const count = await askInt(p, "How many nodes (servers) will the cluster have? (at least 3)", 3, 500, DEFAULTS.nodeCount);
  const nodes: NodeAnswer[] = [];
  let user = draft.sshUser ?? DEFAULTS.sshUser;
  let auth = draft.sshAuth ?? DEFAULTS.sshAuth;
  for (let i = 0; i < count; i++) {
    const name = await p.input(`Node ${i + 1} of ${count}: name (its hostname)`, {
      initial: `node-${i + 1}`,
      validate: both(checkName, notTaken(nodes.map((n) => n.name), "node")),
    });
    const address = await p.input(`${name}: address (IPv4 or hostname)`, {
      validate: both(checkAddress, notTaken(nodes.map((n) => n.address), "node")),
    });
    const role = await askRole(p, name, i, count - i - 1, nodes.filter((n) => n.role === "control-plane").length);
    if (draft.sshUser === undefined) user = await p.input(`${name}: SSH user`, { initial: user, validate: checkUser });
    if (draft.sshAuth === undefined) auth = await askAuth(p, name, auth);
    nodes.push({ name, address, role, user, auth });
  }
  return nodes;
}

export const MIN_CONTROL_PLANES = 3;

/** A role; a worker is refused while the remaining nodes could not make up three control planes. */
async function askRole(p: Prompter, name: string, index: number, remaining: number, controlPlanesSoFar: number): Promise<NodeRole> {
  if (controlPlanesSoFar + remaining < MIN_CONTROL_PLANES) {
    p.say(`${name} is a control plane: a highly available cluster needs at least ${MIN_CONTROL_PLANES}.`);
    return "control-plane";
  }
  return p.select(
    `${name}: role`,
    [
      { value: "control-plane", name: "control plane (runs the API and the datastore; also runs workloads)" },
      { value: "worker", name: "worker (runs workloads only)" },
    ] as const,
    defaultRole(index),
  );
}
