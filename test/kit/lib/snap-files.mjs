// Snap files and their assertions, as `snap download`, `snap ack` and `snap install ./FILE.snap` use them.
// A kit snap file starts with one JSON line (name, version, revision, channel) followed by filler bytes
// standing in for the squashfs image; its .assert file names the file's sha256 (a snap-revision assertion
// names its sha3-384). `snap install` of a file accepts it only when an acknowledged assertion matches the
// file's digest (or with --dangerous), as snapd does.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { LOG_DIR, STATE_DIR, fail } from "./util.mjs";

const ASSERT_DIR = `${STATE_DIR}/snap-asserts`;
/** Size of a downloaded kit snap file: MicroK8s' is large enough that upload time means something. */
const FILLER = { microk8s: 24 * 2 ** 20, core22: 4 * 2 ** 20 };
const BASES = { core22: { version: "20250315", revision: "1908" } };

/** @param {string} file */
function sha256(file) {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/**
 * `snap download NAME [--channel=C] [--target-directory=DIR]`: writes NAME_REV.snap and NAME_REV.assert.
 * @param {string|undefined} name @param {{ channel?: string, dir: string, channelVersion: (c: string) => { channel: string, version: string } | undefined, revisionFor: (c: string) => string }} o
 */
export function download(name, o) {
  /** @type {{ name: string, version: string, revision: string, channel: string }} */
  let meta;
  if (name === "microk8s") {
    const cv = o.channelVersion(o.channel ?? "latest/stable");
    if (!cv) fail(1, `error: requested channel "${o.channel}" is not available (see 'snap info microk8s')`);
    meta = { name, version: cv.version, revision: o.revisionFor(cv.channel), channel: cv.channel };
  } else if (name === "core22") {
    meta = { name, ...BASES.core22, channel: "latest/stable" };
  } else {
    fail(1, `error: snap "${name ?? ""}" not found`);
  }
  fs.mkdirSync(o.dir, { recursive: true });
  const base = `${meta.name}_${meta.revision}`;
  const snap = path.join(o.dir, `${base}.snap`);
  const header = Buffer.from(`${JSON.stringify({ kitSnap: 1, ...meta })}\n`);
  fs.writeFileSync(snap, Buffer.concat([header, randomBytes(FILLER[/** @type {"microk8s"|"core22"} */ (meta.name)])]));
  fs.writeFileSync(
    path.join(o.dir, `${base}.assert`),
    `type: snap-revision\nauthority-id: canonical\nsnap-name: ${meta.name}\nsnap-revision: ${meta.revision}\nsnap-sha256: ${sha256(snap)}\n`,
  );
  return [
    `Fetching snap "${meta.name}"`,
    `Fetching assertions for "${meta.name}"`,
    "Install the snap with:",
    `   snap ack ${base}.assert`,
    `   snap install ${base}.snap`,
  ].join("\n");
}

/** `snap ack FILE.assert`: remembers the assertion; silent on success, as snapd. @param {string|undefined} file */
export function ack(file) {
  if (!file) fail(1, "error: the required argument `<assertion file>` was not provided");
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    fail(1, `error: cannot read assertion input: open ${file}: no such file or directory`);
  }
  const digest = /^snap-sha256: ([0-9a-f]{64})$/m.exec(text)?.[1];
  if (!/^type: snap-revision$/m.test(text) || !digest)
    fail(1, "error: cannot assert: assertion content/signature separator not found");
  fs.mkdirSync(ASSERT_DIR, { recursive: true });
  fs.writeFileSync(path.join(ASSERT_DIR, `${digest}.assert`), text);
}

/**
 * What `snap install ./FILE.snap` installs: the file's metadata, once an acknowledged assertion matches
 * it (or with --dangerous). @param {string} file @param {boolean} dangerous
 * @returns {{ name: string, version: string, revision: string, channel: string }}
 */
export function readSnapFile(file, dangerous) {
  let fd;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    fail(1, `error: cannot open "${file}": no such file or directory`);
  }
  const head = Buffer.alloc(512);
  fs.readSync(fd, head, 0, 512, 0);
  fs.closeSync(fd);
  const line = head.toString("utf8").split("\n")[0] ?? "";
  let meta;
  try {
    meta = JSON.parse(line);
  } catch {
    fail(
      1,
      `error: cannot read snap file "${file}": cannot process snap or snapdir: file "${file}" is invalid (no squashfs)`,
    );
  }
  if (!dangerous && !fs.existsSync(path.join(ASSERT_DIR, `${sha256(file)}.assert`))) {
    fail(1, `error: cannot find signatures with metadata for snap "${file}"`);
  }
  return meta;
}

/** Whether an install argument is a file path rather than a store name (snapd: contains a slash or ends in .snap). @param {string|undefined} arg */
export function isSnapFile(arg) {
  return arg !== undefined && (arg.includes("/") || arg.endsWith(".snap"));
}

/**
 * Records that this run needed the snap store (on a real node: a download from the internet). An
 * air-gapped install must leave no line here. @param {string} what
 */
export function storeFetch(what) {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.appendFileSync(path.join(LOG_DIR, "store-fetches.log"), `${new Date().toISOString()} ${what}\n`);
}
