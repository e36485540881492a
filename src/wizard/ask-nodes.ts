/**
 * The node questions: how many, the SSH login (once for every node, or node by node), then each node's
 * name, address and role.
 */
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
    auth: n.auth ?? draft.sshAuth ?? DEFAULTS.sshAuth,
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
  const env = await p.input(`${who}: name of the environment variable that will hold the SSH password`, {
    initial,
    validate: checkEnvName,
  });
  p.say(`The password is not written to cluster.yaml: hactl reads it from $${env} when it runs.`);
  return { kind, env };
}

const SAME_LOGIN = "Same SSH login (user and login method) for every node?";

/**
 * The login shared by every node, asked once; undefined when the operator wants to answer node by
 * node. Flags that already set the user and the method leave nothing to ask.
 */
async function askSharedLogin(draft: Draft, p: Prompter): Promise<{ user: string; auth: SshAuth } | undefined> {
  const given = { user: draft.sshUser ?? DEFAULTS.sshUser, auth: draft.sshAuth ?? DEFAULTS.sshAuth };
  if (draft.sshUser !== undefined && draft.sshAuth !== undefined) return given;
  if (!(await p.confirm(`${SAME_LOGIN} (no: asked for each node)`, true))) return undefined;
  const user = draft.sshUser ?? (await p.input("Every node: SSH user", { initial: given.user, validate: checkUser }));
  const auth = draft.sshAuth ?? (await askAuth(p, "Every node", given.auth));
  return { user, auth };
}

export async function askNodes(draft: Draft, p: Prompter): Promise<NodeAnswer[]> {
  if (draft.nodes) return nodesFromDraft(draft);
  const count = await askInt(
    p,
    "How many nodes (servers) will the cluster have? (at least 3)",
    3,
    500,
    DEFAULTS.nodeCount,
  );
  const shared = await askSharedLogin(draft, p);
  const nodes: NodeAnswer[] = [];
  let user = shared?.user ?? draft.sshUser ?? DEFAULTS.sshUser;
  let auth = shared?.auth ?? draft.sshAuth ?? DEFAULTS.sshAuth;
  for (let i = 0; i < count; i++) {
    const name = await p.input(`Node ${i + 1} of ${count}: name (its hostname)`, {
      initial: `node-${i + 1}`,
      validate: both(
        checkName,
        notTaken(
          nodes.map((n) => n.name),
          "node",
        ),
      ),
    });
    const address = await p.input(`${name}: address (IPv4 or hostname)`, {
      validate: both(
        checkAddress,
        notTaken(
          nodes.map((n) => n.address),
          "node",
        ),
      ),
    });
    const role = await askRole(p, name, i, count - i - 1, nodes.filter((n) => n.role === "control-plane").length);
    if (!shared && draft.sshUser === undefined)
      user = await p.input(`${name}: SSH user`, { initial: user, validate: checkUser });
    if (!shared && draft.sshAuth === undefined) auth = await askAuth(p, name, auth);
    nodes.push({ name, address, role, user, auth });
  }
  const allGiven = draft.sshUser !== undefined && draft.sshAuth !== undefined;
  return shared && !allGiven ? askOverrides(draft, p, nodes) : nodes;
}

/** With a shared login: the few nodes that log in differently, named in one answer, then asked each. */
async function askOverrides(draft: Draft, p: Prompter, nodes: NodeAnswer[]): Promise<NodeAnswer[]> {
  const names = nodes.map((n) => n.name);
  const unknown = (v: string): true | string => {
    const bad = splitNames(v).filter((n) => !names.includes(n));
    return bad.length === 0
      ? true
      : `${bad.join(", ")}: not a node of this cluster (the nodes are ${names.join(", ")})`;
  };
  const answer = await p.input("Nodes that log in differently (names separated by commas; blank: none)", {
    validate: unknown,
  });
  const different = new Set(splitNames(answer));
  const out: NodeAnswer[] = [];
  for (const n of nodes) {
    if (!different.has(n.name)) {
      out.push(n);
      continue;
    }
    const user = draft.sshUser ?? (await p.input(`${n.name}: SSH user`, { initial: n.user, validate: checkUser }));
    const auth = draft.sshAuth ?? (await askAuth(p, n.name, n.auth));
    out.push({ ...n, user, auth });
  }
  return out;
}

function splitNames(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((s) => s !== ""))];
}

export const MIN_CONTROL_PLANES = 3;

/** A role; a worker is refused while the remaining nodes could not make up three control planes. */
async function askRole(
  p: Prompter,
  name: string,
  index: number,
  remaining: number,
  controlPlanesSoFar: number,
): Promise<NodeRole> {
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
