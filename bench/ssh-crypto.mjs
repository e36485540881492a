// `npm run bench:ssh-crypto`: what the single-file hactl pays for ssh2's pure-JavaScript crypto. The
// single file cannot carry ssh2's native addon (sshcrypto.node), so ssh2 falls back to JavaScript for
// its ciphers and MACs. This times, against one lab node's real sshd, N handshakes (connect, key
// exchange, public-key auth, one `true`) and an SFTP upload of SIZE MiB, once with the addon and once
// with it hidden (a preload makes every `require` of a .node file fail, as inside the single file).
// Needs root (the lab); takes the lab lock like `npm test`. Prints a Markdown table.
//   npm run bench:ssh-crypto -- [handshakes=20] [MiB=64]
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  acquireLabLock,
  ensureRequirements,
  ensureWorkstation,
  labDown,
  labUp,
  releaseLabLock,
  LAB_ROOT,
  WORKSTATION_NS,
} from "../test/lab/lab.mjs";

const SELF = fileURLToPath(import.meta.url);
const [mode, host, handshakesArg, mibArg] = process.argv.slice(2);

/** The measuring child: runs in the workstation namespace with or without the addon. */
async function measure() {
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  const { Client } = require("ssh2");
  const { bindingAvailable } = require("ssh2/lib/protocol/crypto.js");
  const { readFileSync } = await import("node:fs");
  const key = readFileSync(join(LAB_ROOT, "keys/id_ed25519"));
  const handshakes = Number(handshakesArg);
  const size = Number(mibArg) * 2 ** 20;
  const connect = () =>
    new Promise((resolve, reject) => {
      const c = new Client();
      c.on("ready", () => resolve(c)).on("error", reject);
      c.connect({ host, username: "root", privateKey: key, hostVerifier: () => true });
    });
  const exec = (c, cmd) =>
    new Promise((resolve, reject) => c.exec(cmd, (err, ch) => (err ? reject(err) : ch.on("close", resolve).resume())));
  const times = [];
  for (let i = 0; i < handshakes; i++) {
    const t = performance.now();
    const c = await connect();
    await exec(c, "true");
    times.push(performance.now() - t);
    c.end();
  }
  times.sort((a, b) => a - b);
  const c = await connect();
  const data = Buffer.alloc(size, 7);
  const t = performance.now();
  await new Promise((resolve, reject) =>
    c.sftp((err, sftp) => {
      if (err) return reject(err);
      const w = sftp.createWriteStream("/tmp/hactl-crypto-bench");
      w.on("close", resolve).on("error", reject);
      w.end(data);
    }),
  );
  const uploadMs = performance.now() - t;
  const cipher = c._protocol?._kex?.negotiated?.cs?.cipher ?? "unknown";
  c.end();
  console.log(
    JSON.stringify({
      native: bindingAvailable,
      cipher,
      handshakeMedianMs: times[Math.floor(times.length / 2)],
      uploadMs,
      mib: Number(mibArg),
    }),
  );
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("needs root (the lab)");
  await acquireLabLock();
  try {
    await ensureRequirements({ log: (l) => console.error(l) });
    await ensureWorkstation();
    const lab = await labUp({ nodes: 1 });
    const address = lab.nodes[0].address;
    const preload = join(tmpdir(), "hactl-no-native.cjs");
    writeFileSync(
      preload,
      'const M = require("node:module"); const load = M._load; M._load = function (req, ...rest) { if (String(req).endsWith(".node")) throw new Error("no native addons"); return load.call(this, req, ...rest); };\n',
    );
    const rows = [];
    for (const [label, extra] of [
      ["native addon", []],
      ["pure JavaScript (as in the single file)", ["--require", preload]],
    ]) {
      const r = spawnSync(
        "ip",
        [
          "netns",
          "exec",
          WORKSTATION_NS,
          process.execPath,
          ...extra,
          SELF,
          "measure",
          address,
          process.argv[2] ?? "20",
          process.argv[3] ?? "64",
        ],
        { encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(r.stderr);
      rows.push({ label, ...JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") });
    }
    console.log(
      `| ssh2 crypto | cipher | handshake + one command, median (ms) | SFTP upload of ${rows[0].mib} MiB (s) | MiB/s |`,
    );
    console.log("|---|---|---:|---:|---:|");
    for (const r of rows)
      console.log(
        `| ${r.label} (bindingAvailable=${r.native}) | ${r.cipher} | ${r.handshakeMedianMs.toFixed(1)} | ${(r.uploadMs / 1000).toFixed(2)} | ${(r.mib / (r.uploadMs / 1000)).toFixed(1)} |`,
      );
  } finally {
    await labDown();
    await releaseLabLock();
  }
}

if (mode === "measure") await measure();
else
  await main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
