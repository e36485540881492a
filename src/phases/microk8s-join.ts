import { HactlError, interruptedError } from "../core/errors.js";
import type { RemoteHost } from "../core/host.js";
import { registerSecret } from "../core/secrets.js";
import { datastoreIp, microk8s, parseAddNode, parseStatus } from "../distros/microk8s.js";
import { parseNodes } from "../distros/kubectl.js";
import type { NodeSpec } from "../spec/schema.js";

export interface JoinOptions {
  leader: RemoteHost;
  leaderAddress: string;
  node: RemoteHost;
  spec: NodeSpec;
  attempts: number;
  readyTimeoutMs: number;
  /** Return once `microk8s join` succeeded, without waiting until the node is Ready (a later step waits). */
  skipReadyWait?: boolean;
  /** The gathered state shows this node partly in the cluster (a run died mid-join): clean up first. */
  halfJoined?: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
}

/**
 * Joins one node with a fresh single-use token. A MicroK8s token is consumed even by a failed join, so
 * every attempt mints a new one; after a failure the half-joined member is removed from both sides
 * before the next attempt. Stops with a report after `attempts` failures.
 */
export async function joinMicrok8sNode(o: JoinOptions): Promise<void> {
  let lastError = "";
  // A run that died mid-join may have left this node half in the cluster; start from a clean slate.
  if (o.halfJoined) await cleanupHalfJoined(o);
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    if (o.signal.aborted && attempt > 1) {
      throw new HactlError(
        "INTERRUPTED",
        `interrupted between join attempts for ${o.spec.name}; the failed attempt was cleaned up`,
        {
          node: o.spec.name,
          remedy: "Run the same command again to join it with a fresh token.",
        },
      );
    }
    const minted = await o.leader.run(microk8s.addNode());
    const { connection, token } = parseAddNode(minted.stdout, o.leaderAddress);
    registerSecret(token);
    registerSecret(connection);
    o.log(`join attempt ${attempt}/${o.attempts} with a fresh token`);
    const joined = await o.node.exec(microk8s.join(connection, o.spec.role === "worker"));
    if (joined.code === 0) {
      if (!o.skipReadyWait) await waitMember(o);
      return;
    }
    lastError = `${joined.stdout}\n${joined.stderr}`.trim().split("\n").slice(-5).join("\n");
    o.log(`join attempt ${attempt} failed (exit ${joined.code}): ${lastError}`);
    await cleanupHalfJoined(o);
  }
  throw new HactlError("JOIN_FAILED", `could not join ${o.spec.name} after ${o.attempts} attempts`, {
    node: o.spec.name,
    details: lastError,
    remedy: `Check the node's MicroK8s (microk8s inspect on ${o.spec.name}) and network between it and ${o.leader.name}, then run the same command again; nodes already joined are kept.`,
  });
}

/** Removes what a failed join may have left: the node's membership on the leader, the node's own state. */
export async function cleanupHalfJoined(o: Pick<JoinOptions, "leader" | "node" | "spec" | "log">): Promise<void> {
  const nodes = await o.leader.exec(microk8s.kubectl("get", "nodes", "-o", "json"));
  const listed = nodes.code === 0 && parseNodes(nodes.stdout).some((n) => n.name === o.spec.name);
  let inDatastore = false;
  if (o.spec.role === "control-plane") {
    const status = parseStatus((await o.leader.exec(microk8s.statusYaml())).stdout);
    inDatastore = status.datastore.some((m) => datastoreIp(m.address) === o.spec.address);
  }
  if (listed || inDatastore) {
    o.log(`removing half-joined ${o.spec.name} from the cluster`);
    await o.node.exec(microk8s.leave());
    await o.leader.exec(microk8s.removeNode(o.spec.name, true));
  }
}

/** Waits until the leader lists the node as Ready and, for a control plane, in the datastore. */
export async function waitMember(o: Pick<JoinOptions, "leader" | "spec" | "readyTimeoutMs" | "signal">): Promise<void> {
  const deadline = Date.now() + o.readyTimeoutMs;
  for (;;) {
    const worker = o.spec.role === "worker";
    const [nodes, status] = await Promise.all([
      o.leader.exec(microk8s.kubectl("get", "nodes", "-o", "json")),
      worker ? undefined : o.leader.exec(microk8s.statusYaml()),
    ]);
    const ready = nodes.code === 0 && parseNodes(nodes.stdout).some((n) => n.name === o.spec.name && n.ready);
    const inDatastore =
      worker ||
      (status !== undefined &&
        parseStatus(status.stdout).datastore.some((m) => datastoreIp(m.address) === o.spec.address));
    if (ready && inDatastore) return;
    if (o.signal.aborted) throw interruptedError(o.signal);
    if (Date.now() > deadline) {
      throw new HactlError(
        "JOIN_FAILED",
        `${o.spec.name} joined but did not become Ready${inDatastore ? "" : " and a datastore member"} in time`,
        {
          node: o.spec.name,
          retryable: true,
          remedy: "Run the same command again: hactl finishes or cleans up a half-joined node.",
        },
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
