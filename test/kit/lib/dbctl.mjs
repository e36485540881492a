// `microk8s dbctl backup [-o NAME] | restore FILE` with the rules of scripts/wrappers/dbctl.py and
// k8s-dqlite's migrator: a backup is NAME.tar.gz (written relative to the working directory) holding one
// directory NAME/ with 0.key/0.data, 1.key/1.data, ... per datastore key; a restore extracts it and
// writes every key of the directory named like the file back (create or overwrite). Keys that are not
// in the backup are left alone, as the real migrator does, and a file renamed after the backup restores
// nothing (its directory is not found).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Etcd, knownEndpoints } from "./etcd.mjs";
import { HA_LOCK } from "./microk8s-server.mjs";
import { K } from "./store.mjs";
import { SNAP_DIR, daemonPid, err, fail, out } from "./util.mjs";

const CLUSTERED_LOCK = `${SNAP_DIR}/var/lock/clustered.lock`;
const STOPPED_LOCK = `${SNAP_DIR}/var/lock/stopped.lock`;
const KINE = `unix://${SNAP_DIR}/var/kubernetes/backend/kine.sock:12379`;
const USAGE = "usage: microk8s dbctl [-h] [--debug] {restore,backup} ...";

/**
 * What k8s-dqlite holds in the kit's model: the Kubernetes objects, nodes, addons and cluster records.
 * Readiness leases and the dqlite member list are not Kubernetes keys (they live in raft and the kubelet).
 */
const NOT_IN_KINE = [K.alives, K.dqlites];

const logrus = (
  /** @type {string} */ level,
  /** @type {string} */ msg,
  /** @type {Record<string, string|number>} */ fields,
) => {
  const f = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" && /[\s"=]/.test(v) ? JSON.stringify(v) : v}`)
    .join(" ");
  err(`time="${new Date().toISOString().replace(/\.\d+Z$/, "Z")}" level=${level} msg="${msg}"${f ? ` ${f}` : ""}`);
};

function backupName() {
  const d = new Date();
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `backup-${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** Every key the migrator would list through kine, raw (value as stored). */
async function kineKeys(/** @type {Etcd} */ db) {
  const all = await db.list("/");
  return all
    .filter((kv) => !NOT_IN_KINE.some((p) => kv.key.startsWith(p)))
    .map((kv) => ({ key: kv.key, data: JSON.stringify(kv.value) }));
}

async function backup(/** @type {string|undefined} */ requested) {
  let fname = requested || backupName();
  if (fname.endsWith(".tar.gz")) fname = fname.slice(0, -7);
  const tarName = `${fname}.tar.gz`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tmp"));
  try {
    const dir = path.join(tmp, fname);
    logrus("info", "Starting migrator", { dir, endpoint: KINE, mode: "backup-dqlite" });
    let keys;
    try {
      keys = await kineKeys(new Etcd(knownEndpoints()));
    } catch (e) {
      logrus("fatal", "Failed to backup dqlite", {
        error: `failed to list keys from dqlite: ${e instanceof Error ? e.message : String(e)}`,
      });
      out("Backup process failed. 1");
      return 1;
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    keys.forEach((kv, index) => {
      logrus("info", "Writing key", { index, key: kv.key, len: Buffer.byteLength(kv.data) });
      fs.writeFileSync(path.join(dir, `${index}.key`), kv.key, { mode: 0o640 });
      fs.writeFileSync(path.join(dir, `${index}.data`), kv.data, { mode: 0o640 });
    });
    execFileSync("tar", ["-czf", path.resolve(tarName), "-C", path.dirname(dir), path.basename(dir)]);
    out(`The backup is: ${tarName}`);
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function restore(/** @type {string} */ fnameTar) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tmp"));
  try {
    try {
      execFileSync("tar", ["-xzf", fnameTar, "-C", tmp], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
      const detail = e instanceof Error && "stderr" in e ? String(e.stderr).trim() : String(e);
      fail(
        1,
        `Traceback (most recent call last):\n  File "/snap/microk8s/current/scripts/wrappers/dbctl.py", line 113, in restore\ntarfile.ReadError: ${detail || "file could not be opened successfully"}`,
      );
    }
    const base = path.basename(fnameTar.endsWith(".tar.gz") ? fnameTar.slice(0, -7) : fnameTar);
    const dir = path.join(tmp, base);
    logrus("info", "Starting migrator", { dir, endpoint: KINE, mode: "restore-to-dqlite" });
    const db = new Etcd(knownEndpoints());
    let index = 0;
    for (;;) {
      const keyFile = path.join(dir, `${index}.key`);
      if (!fs.existsSync(keyFile)) break;
      const key = fs.readFileSync(keyFile, "utf8");
      const data = fs.readFileSync(path.join(dir, `${index}.data`), "utf8");
      try {
        await db.put(key, JSON.parse(data));
      } catch {
        logrus("error", "Failed to restore key", { index, key });
      }
      index++;
    }
    logrus("info", "Completed database restore", { entries: index });
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** `microk8s dbctl ...` after the wrapper's root/permission checks. */
export async function dbctlMain(/** @type {string[]} */ argv) {
  if (fs.existsSync(CLUSTERED_LOCK))
    fail(1, "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.", {
      stdout: true,
    });
  const kineUp = !fs.existsSync(STOPPED_LOCK) && Boolean(daemonPid("agent"));
  if (!kineUp || !fs.existsSync(HA_LOCK))
    fail(10, "Please ensure the kubernetes apiserver is running and HA is enabled.", { stdout: true });
  const args = argv.filter((a) => a !== "--debug");
  const [sub, ...rest] = args;
  if (sub === undefined) {
    out(
      `${USAGE}\n\nbackup and restore the Kubernetes datastore.\n\noptions:\n  -h, --help       show this help message and exit\n  --debug          print debug output\n\ncommands:\n  {restore,backup}  backup and restore operations`,
    );
    return 0;
  }
  if (sub === "backup") {
    const o = rest.indexOf("-o");
    if (o >= 0 && rest[o + 1] === undefined)
      fail(2, `${USAGE}\nmicrok8s dbctl backup: error: argument -o: expected one argument`);
    out("Backing up the datastore");
    return backup(o >= 0 ? rest[o + 1] : undefined);
  }
  if (sub === "restore") {
    const file = rest.find((a) => !a.startsWith("-"));
    if (!file)
      fail(
        2,
        `usage: microk8s dbctl restore [-h] backup-file\nmicrok8s dbctl restore: error: the following arguments are required: backup-file`,
      );
    out(`Restoring from ${file}`);
    return restore(file);
  }
  fail(
    2,
    `${USAGE}\nmicrok8s dbctl: error: argument {restore,backup}: invalid choice: '${sub}' (choose from 'restore', 'backup')`,
  );
}
