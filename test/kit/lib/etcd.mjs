// The kit's datastore: a real etcd member per control-plane node, reached through etcd's v3 JSON gateway.
/* global fetch, AbortSignal */
import fs from "node:fs";
import {
  ETCD_DATA_DIR,
  STATE_DIR,
  daemonPid,
  fail,
  localState,
  readJson,
  sleep,
  startDaemon,
  stopDaemon,
  writeJson,
} from "./util.mjs";

/** Plain-HTTP client port the kit itself uses on every member (kubeadm's TLS port 2379 is for operators). */
export const KIT_CLIENT_PORT = 12379;
const ETCD_CONF = `${STATE_DIR}/etcd.json`;
const PER_REQUEST_MS = 2500;
const BUDGET_MS = 6000;

export class EtcdUnavailable extends Error {}

const b64 = (/** @type {string} */ s) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (/** @type {string|undefined} */ s) => (s ? Buffer.from(s, "base64").toString("utf8") : "");

/** The end of a prefix range. */
function prefixEnd(/** @type {string} */ prefix) {
  const buf = Buffer.from(prefix, "utf8");
  buf[buf.length - 1] = /** @type {number} */ (buf[buf.length - 1]) + 1;
  return buf.toString("base64");
}

export const endpointFor = (/** @type {string} */ ip) => `http://${ip}:${KIT_CLIENT_PORT}`;

/**
 * Client endpoints this node knows: its own member first, then the others from local state. The lab's
 * workstation has no kit state: a test that runs a kit client there (the workstation `linkerd`) names the
 * cluster's endpoints in HACTL_KIT_ETCD_ENDPOINTS (comma-separated).
 */
export function knownEndpoints() {
  const st = localState();
  const list = [];
  if (st.etcdMember && daemonPid("etcd")) list.push(`http://127.0.0.1:${KIT_CLIENT_PORT}`);
  for (const e of st.etcdEndpoints ?? []) if (!list.includes(e)) list.push(e);
  if (list.length === 0) list.push(...(process.env.HACTL_KIT_ETCD_ENDPOINTS ?? "").split(",").filter(Boolean));
  return list;
}

export class Etcd {
  /** @param {string[]} [endpoints] @param {{perRequestMs?: number, budgetMs?: number}} [opts] */
  constructor(endpoints, opts = {}) {
    this.endpoints = endpoints ?? knownEndpoints();
    this.perRequestMs = opts.perRequestMs ?? PER_REQUEST_MS;
    this.budgetMs = opts.budgetMs ?? BUDGET_MS;
  }

  /** POST a gateway call, failing over between endpoints within the time budget. */
  async call(/** @type {string} */ route, /** @type {unknown} */ body) {
    if (this.endpoints.length === 0) throw new EtcdUnavailable("no etcd endpoints known on this node");
    const until = Date.now() + this.budgetMs;
    let last = "context deadline exceeded";
    for (let round = 0; Date.now() < until; round++) {
      for (const ep of this.endpoints) {
        const left = until - Date.now();
        if (left <= 0) break;
        try {
          const res = await fetch(`${ep}/v3/${route}`, {
            method: "POST",
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(Math.min(this.perRequestMs, left)),
          });
          const json = /** @type {Record<string, unknown>} */ (await res.json());
          if (res.ok) return json;
          const msg = String(json.error ?? json.message ?? `HTTP ${res.status}`);
          // Errors that are answers, not unavailability: report at once.
          if (
            !/request timed out|no leader|leader changed|timeout|not capable|unhealthy|too many requests/i.test(msg)
          ) {
            throw new EtcdRequestError(msg);
          }
          last = msg;
        } catch (e) {
          if (e instanceof EtcdRequestError) throw e;
          last = e instanceof Error && e.name === "TimeoutError" ? "etcdserver: request timed out" : last;
        }
      }
      if (round > 0) await sleep(200);
    }
    throw new EtcdUnavailable(last);
  }

  /** @returns {Promise<{value: string, mod: number, lease: string} | undefined>} */
  async getRaw(/** @type {string} */ key) {
    const r = await this.call("kv/range", { key: b64(key) });
    const kv = /** @type {{value?: string, mod_revision?: string, lease?: string}[]|undefined} */ (r.kvs)?.[0];
    return kv ? { value: unb64(kv.value), mod: Number(kv.mod_revision ?? 0), lease: kv.lease ?? "0" } : undefined;
  }

  async get(/** @type {string} */ key) {
    const kv = await this.getRaw(key);
    return kv ? JSON.parse(kv.value) : undefined;
  }

  /** @returns {Promise<{key: string, value: any, mod: number}[]>} */
  async list(/** @type {string} */ prefix) {
    const r = await this.call("kv/range", { key: b64(prefix), range_end: prefixEnd(prefix) });
    const kvs = /** @type {{key: string, value?: string, mod_revision?: string}[]} */ (r.kvs ?? []);
    return kvs.map((kv) => ({
      key: unb64(kv.key),
      value: JSON.parse(unb64(kv.value)),
      mod: Number(kv.mod_revision ?? 0),
    }));
  }

  async put(/** @type {string} */ key, /** @type {unknown} */ value, lease = "0") {
    await this.call("kv/put", { key: b64(key), value: b64(JSON.stringify(value)), lease });
  }

  async del(/** @type {string} */ key) {
    const r = await this.call("kv/deleterange", { key: b64(key) });
    return Number(r.deleted ?? 0);
  }

  async delPrefix(/** @type {string} */ prefix) {
    const r = await this.call("kv/deleterange", { key: b64(prefix), range_end: prefixEnd(prefix) });
    return Number(r.deleted ?? 0);
  }

  /** Put only if the key is unchanged since mod revision `mod` (0 = must not exist). */
  async putIf(/** @type {string} */ key, /** @type {number} */ mod, /** @type {unknown} */ value) {
    const r = await this.call("kv/txn", {
      compare: [{ key: b64(key), result: "EQUAL", target: "MOD", mod_revision: String(mod) }],
      success: [{ request_put: { key: b64(key), value: b64(JSON.stringify(value)) } }],
    });
    return Boolean(r.succeeded);
  }

  /** Read-modify-write with retries; `fn` returns the new value (or undefined to leave it). */
  async update(/** @type {string} */ key, /** @type {(v: any) => any} */ fn) {
    for (let i = 0; i < 20; i++) {
      const cur = await this.getRaw(key);
      const next = fn(cur ? JSON.parse(cur.value) : undefined);
      if (next === undefined) return cur ? JSON.parse(cur.value) : undefined;
      if (await this.putIf(key, cur?.mod ?? 0, next)) return next;
    }
    throw new EtcdRequestError(`conflict updating ${key}`);
  }

  async leaseGrant(/** @type {number} */ ttl) {
    const r = await this.call("lease/grant", { TTL: ttl });
    return String(r.ID);
  }

  /** @returns {Promise<boolean>} false when the lease is gone */
  async leaseKeepAlive(/** @type {string} */ id) {
    const r = await this.call("lease/keepalive", { ID: id });
    const result = /** @type {{TTL?: string}|undefined} */ (r.result);
    return Number(result?.TTL ?? 0) > 0;
  }

  async leaseRevoke(/** @type {string} */ id) {
    await this.call("lease/revoke", { ID: id });
  }

  /** @returns {Promise<{id: string, name: string, peerURLs: string[], clientURLs: string[], learner: boolean}[]>} */
  async members() {
    const r = await this.call("cluster/member/list", {});
    const ms =
      /** @type {{ID: string, name?: string, peerURLs?: string[], clientURLs?: string[], isLearner?: boolean}[]} */ (
        r.members ?? []
      );
    return ms.map((m) => ({
      id: m.ID,
      name: m.name ?? "",
      peerURLs: m.peerURLs ?? [],
      clientURLs: m.clientURLs ?? [],
      learner: Boolean(m.isLearner),
    }));
  }

  async memberAdd(/** @type {string} */ peerURL, learner = false) {
    const r = await this.call("cluster/member/add", { peerURLs: [peerURL], isLearner: learner });
    return /** @type {{ID: string}} */ (r.member).ID;
  }

  /** Member add, retried while etcd refuses it as unsafe (a member started less than 5 s ago). */
  async memberAddRetry(/** @type {string} */ peerURL, learner = false, waitMs = 30_000) {
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        return await this.memberAdd(peerURL, learner);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (Date.now() > until || !/unhealthy cluster|too many learner|timed out|no leader|not capable/i.test(msg))
          throw e;
      }
      await sleep(500);
    }
  }

  async memberPromote(/** @type {string} */ id) {
    await this.call("cluster/member/promote", { ID: id });
  }

  async memberRemove(/** @type {string} */ id) {
    await this.call("cluster/member/remove", { ID: id });
  }
}

export class EtcdRequestError extends Error {}

/** Host part of a URL. */
export const urlHost = (/** @type {string} */ u) => new URL(u).hostname;

/**
 * The local member's configuration, kept so boot.sh can restart it.
 * @typedef {{ name: string, ip: string, tls: boolean, initialCluster: string, state: "new"|"existing" }} EtcdConf
 */

export function peerUrl(/** @type {string} */ ip, /** @type {boolean} */ tls) {
  return tls ? `https://${ip}:2380` : `http://${ip}:19001`;
}

const PKI = "/etc/kubernetes/pki/etcd";

/** @param {EtcdConf} c */
function etcdArgs(c) {
  const peer = peerUrl(c.ip, c.tls);
  const args = [
    "--name",
    c.name,
    "--data-dir",
    ETCD_DATA_DIR,
    "--listen-peer-urls",
    peer,
    "--initial-advertise-peer-urls",
    peer,
    "--initial-cluster",
    c.initialCluster,
    "--initial-cluster-state",
    c.state,
    "--heartbeat-interval",
    "100",
    "--election-timeout",
    "1000",
    "--snapshot-count",
    "10000",
  ];
  const kit = `http://${c.ip}:${KIT_CLIENT_PORT},http://127.0.0.1:${KIT_CLIENT_PORT}`;
  if (c.tls) {
    args.push(
      "--listen-client-urls",
      `https://127.0.0.1:2379,https://${c.ip}:2379,${kit}`,
      "--advertise-client-urls",
      `https://${c.ip}:2379`,
      "--cert-file",
      `${PKI}/server.crt`,
      "--key-file",
      `${PKI}/server.key`,
      "--trusted-ca-file",
      `${PKI}/ca.crt`,
      "--client-cert-auth",
      "--peer-cert-file",
      `${PKI}/peer.crt`,
      "--peer-key-file",
      `${PKI}/peer.key`,
      "--peer-trusted-ca-file",
      `${PKI}/ca.crt`,
      "--peer-client-cert-auth",
    );
  } else {
    args.push("--listen-client-urls", kit, "--advertise-client-urls", `http://${c.ip}:${KIT_CLIENT_PORT}`);
  }
  return args;
}

/** Start the local member (config saved for restarts) and wait until it answers. */
export async function startEtcd(/** @type {EtcdConf} */ conf, waitMs = 20_000) {
  writeJson(ETCD_CONF, conf);
  fs.mkdirSync(ETCD_DATA_DIR, { recursive: true, mode: 0o700 });
  if (!daemonPid("etcd")) startDaemon("etcd", "etcd", etcdArgs(conf));
  if (waitMs > 0) await waitEtcdHealthy(waitMs);
}

/** Restart the member from its saved configuration (boot after a hard stop). */
export function restartEtcdFromConf() {
  const conf = /** @type {EtcdConf|undefined} */ (readJson(ETCD_CONF, undefined));
  if (!conf || daemonPid("etcd")) return false;
  startDaemon("etcd", "etcd", etcdArgs({ ...conf, state: "existing" }));
  return true;
}

export async function waitEtcdHealthy(/** @type {number} */ waitMs) {
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    if (!daemonPid("etcd")) fail(1, "etcd exited during start (see /var/log/hactl-kit/etcd.log)");
    try {
      const r = await fetch(`http://127.0.0.1:${KIT_CLIENT_PORT}/health`, { signal: AbortSignal.timeout(1000) });
      const j = /** @type {{health?: string}} */ (await r.json());
      if (j.health === "true") return;
    } catch {
      // not up yet
    }
    await sleep(150);
  }
  fail(1, "timed out waiting for the local etcd member to become healthy");
}

/** Stop the member and (optionally) wipe its data and config. */
export async function stopEtcd(/** @type {{wipe?: boolean}} */ opts = {}) {
  await stopDaemon("etcd");
  if (opts.wipe) {
    fs.rmSync(ETCD_CONF, { force: true });
    for (const f of fs.existsSync(ETCD_DATA_DIR) ? fs.readdirSync(ETCD_DATA_DIR) : []) {
      fs.rmSync(`${ETCD_DATA_DIR}/${f}`, { recursive: true, force: true });
    }
  }
}

/** Hex member id as etcdctl prints it. */
export const hexId = (/** @type {string} */ id) => BigInt(id).toString(16);
