// Server side of `microk8s join`: the cluster agent's token store and join endpoint (v2 API).
import fs from "node:fs";
import { SNAP_DIR, localState, writeFileAtomic } from "./util.mjs";
import { K } from "./store.mjs";

export const TOKENS_FILE = `${SNAP_DIR}/credentials/cluster-tokens.txt`;
export const PERSISTENT_TOKENS_FILE = `${SNAP_DIR}/credentials/persistent-cluster-tokens.txt`;
export const HA_LOCK = `${SNAP_DIR}/var/lock/ha-cluster`;

const lines = (/** @type {string} */ f) => {
  try {
    return fs
      .readFileSync(f, "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
};

/** Record a join token: single use without a TTL, reusable until expiry with one. */
export function addToken(/** @type {string} */ token, /** @type {number} */ ttlSeconds) {
  const entry = ttlSeconds > 0 ? `${token}|${Math.floor(Date.now() / 1000) + ttlSeconds}` : token;
  writeFileAtomic(TOKENS_FILE, `${[...lines(TOKENS_FILE), entry].join("\n")}\n`, 0o600);
}

/** Validate and (for single-use tokens) consume a token, as the cluster agent does before anything else. */
export function consumeToken(/** @type {string} */ token) {
  if (!token) return false;
  if (lines(PERSISTENT_TOKENS_FILE).includes(token)) return true;
  const all = lines(TOKENS_FILE);
  const now = Math.floor(Date.now() / 1000);
  for (const l of all) {
    const [t, exp] = l.split("|");
    if (t !== token) continue;
    if (exp === undefined) {
      writeFileAtomic(TOKENS_FILE, `${all.filter((x) => x !== l).join("\n")}\n`, 0o600);
      return true;
    }
    return now < Number(exp);
  }
  return false;
}

const error = (/** @type {number} */ code, /** @type {string} */ msg) => ({
  code,
  body: { error: msg.charAt(0).toUpperCase() + msg.slice(1) },
});

/**
 * POST /cluster/api/v2.0/join
 * @param {import("./etcd.mjs").Etcd} db
 * @param {{token?: string, hostname?: string, port?: number, worker?: boolean}} body
 * @param {string} remoteIp @param {string} myIp
 */
export async function microk8sJoinHandler(db, body, remoteIp, myIp) {
  if (!consumeToken(String(body.token ?? ""))) return error(500, "invalid token");
  if (!fs.existsSync(HA_LOCK)) return error(501, "not possible to join. This is not an HA MicroK8s cluster");
  if (Number(body.port ?? 25000) !== 25000)
    return error(502, "the port of the cluster agent port has to be set to 25000");
  if (remoteIp === myIp) return error(503, `the joining node has the same IP (${myIp}) as the node we contact`);
  const members = await db.members();
  const cluster = await db.get(K.cluster);
  const st = localState();
  return {
    code: 200,
    body: {
      ca: fs.readFileSync(`${SNAP_DIR}/certs/ca.crt`, "utf8"),
      ca_key: body.worker ? undefined : fs.readFileSync(`${SNAP_DIR}/certs/ca.key`, "utf8"),
      etcd_endpoints: members
        .map((m) => m.peerURLs[0])
        .filter(Boolean)
        .map((u) => `http://${new URL(/** @type {string} */ (u)).hostname}:12379`),
      version: cluster?.version ?? st.version,
      channel: st.channel,
      api_port: 16443,
    },
  };
}
