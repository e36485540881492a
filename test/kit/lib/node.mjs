// Local node life cycle shared by the MicroK8s and kubeadm stand-ins: the agent daemon and node records.
import { Etcd, knownEndpoints } from "./etcd.mjs";
import { K } from "./store.mjs";
import { KIT_DIR, daemonPid, sleep, startDaemon, stopDaemon, updateLocalState } from "./util.mjs";

export function startAgent() {
  if (!daemonPid("agent")) startDaemon("agent", process.execPath, [`${KIT_DIR}/lib/agent.mjs`]);
}

export async function stopAgent() {
  await stopDaemon("agent", 3000);
}

export async function restartAgent() {
  await stopAgent();
  startAgent();
}

/**
 * Register (or refresh) this node's Node object and remember it locally so the agent can re-register it,
 * as a kubelet does when its Node object is deleted while it runs.
 * @param {Etcd} db @param {import("./store.mjs").NodeRec} rec
 */
export async function registerNode(db, rec) {
  await db.put(K.node(rec.name), rec);
  updateLocalState({ nodeName: rec.name });
}

/** Wait until the node's readiness lease exists. */
export async function waitNodeReady(/** @type {string} */ name, /** @type {number} */ ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if (await new Etcd(knownEndpoints(), { perRequestMs: 1000, budgetMs: 1500 }).getRaw(K.alive(name))) return true;
    } catch {
      // datastore not reachable yet
    }
    await sleep(200);
  }
  return false;
}

/** Kubernetes version for a snap channel or kubeadm minor ("1.29" -> "v1.29.15"). */
export function versionFor(/** @type {string} */ minor) {
  /** @type {Record<string, string>} */
  const patches = {
    1.27: "16",
    1.28: "15",
    1.29: "15",
    "1.30": "14",
    1.31: "9",
    1.32: "3",
    1.33: "1",
    1.34: "12",
    1.35: "10",
    1.36: "5",
    1.37: "2",
  };
  return `v${minor}.${patches[minor] ?? "0"}`;
}
