// `apt-get`, `apt-mark` and `dpkg -S` stand-ins for the Kubernetes packages (kubeadm, kubelet, kubectl)
// that the kit's own binaries play. A package's version lives in the node's kit state; `kubeadm version`
// and the kubelet (after a restart) report it. The versions on offer are those of the pkgs.k8s.io minor
// that /etc/apt/sources.list.d/kubernetes.list names (any kit minor when the node has no such list).
// Texts and exit codes follow apt and dpkg; anything else goes to the real tool. `apt-get download` and
// `apt-get install ./FILE.deb` of local packages are in debs.mjs.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { download, installFiles } from "./debs.mjs";
import { versionFor } from "./node.mjs";
import { KIT_DIR, STATE_DIR, fail, isRoot, localState, out, parseArgs, stepCost, updateLocalState } from "./util.mjs";

export const KUBE_PACKAGES = ["kubeadm", "kubelet", "kubectl"];
const HOLD_FILE = `${STATE_DIR}/apt-held`;
const APT_LIST = "/etc/apt/sources.list.d/kubernetes.list";
const KIT_MINORS = ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37"];

/** The Debian version of a kit Kubernetes version ("v1.32.3" -> "1.32.3-1.1", as pkgs.k8s.io numbers them). */
const debVersion = (/** @type {string} */ v) => `${v.replace(/^v/, "")}-1.1`;

/** The installed version of a package (Debian form): the kit state, else the version the node was built with. */
export function packageVersion(/** @type {string} */ pkg) {
  const st = localState();
  return st.packages?.[pkg] ?? debVersion(st.version ?? versionFor("1.32"));
}

/** "1.33.1-1.1" -> "v1.33.1" */
export const kubeVersionOf = (/** @type {string} */ deb) => `v${deb.replace(/-.*$/, "")}`;

/**
 * Fixes each package's version in the kit state, so a change of the node's cluster version (kubeadm upgrade)
 * does not change a package that was never reinstalled.
 */
export function pinPackages() {
  const packages = Object.fromEntries(KUBE_PACKAGES.map((p) => [p, packageVersion(p)]));
  updateLocalState({ packages });
}

const held = () => (fs.existsSync(HOLD_FILE) ? fs.readFileSync(HOLD_FILE, "utf8").split("\n").filter(Boolean) : []);
const writeHeld = (/** @type {string[]} */ pkgs) =>
  fs.writeFileSync(HOLD_FILE, pkgs.length ? `${[...new Set(pkgs)].sort().join("\n")}\n` : "");

/** The versions the configured repository offers for a package, newest first. */
function offered() {
  const list = fs.existsSync(APT_LIST) ? fs.readFileSync(APT_LIST, "utf8") : "";
  const minors = [...list.matchAll(/pkgs\.k8s\.io\/core:\/stable:\/v(1\.\d+)\/deb/g)].map((m) => m[1] ?? "");
  return (minors.length ? minors : KIT_MINORS).map((m) => debVersion(versionFor(m))).reverse();
}

/** apt's version match: exact, or a glob with `*` ("1.33.*", "1.33.1-*"). */
function pick(/** @type {string} */ pattern) {
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return offered().find((v) => re.test(v));
}

/** @returns {never} */
function notRoot() {
  fail(
    100,
    "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?",
  );
}

export async function aptGetMain(/** @type {string[]} */ argv) {
  const a = parseArgs(argv, ["o"]);
  const [cmd, ...names] = a.positional;
  if (cmd === "update") {
    if (!isRoot())
      fail(
        100,
        "E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)\nE: Unable to lock directory /var/lib/apt/lists/",
      );
    const minors = [...new Set(offered().map((v) => v.split(".").slice(0, 2).join(".")))];
    out(
      `${minors.map((m, i) => `Hit:${i + 1} https://pkgs.k8s.io/core:/stable:/v${m}/deb  InRelease`).join("\n")}\nReading package lists... Done`,
    );
    return 0;
  }
  if (cmd === "download") {
    download(names);
    return 0;
  }
  if (cmd !== "install") fail(100, `E: Invalid operation ${cmd ?? ""}`);
  if (!isRoot()) notRoot();
  if (names.some((n) => n.includes("/"))) {
    await stepCost("apt-install");
    installFiles(names, {
      held: held(),
      allowHeld: a.has("allow-change-held-packages"),
      kube: KUBE_PACKAGES,
      currentVersion: (p) => (KUBE_PACKAGES.includes(p) ? packageVersion(p) : localState().debs?.[p]),
    });
    return 0;
  }
  /** @type {[string, string][]} */
  const wanted = [];
  for (const spec of names) {
    const [name = "", version] = spec.split("=");
    if (!KUBE_PACKAGES.includes(name))
      fail(
        100,
        `Reading package lists...\nBuilding dependency tree...\nReading state information...\nE: Unable to locate package ${name}`,
      );
    const chosen = version === undefined ? offered()[0] : pick(version);
    if (!chosen)
      fail(
        100,
        `Reading package lists...\nBuilding dependency tree...\nReading state information...\nE: Version '${version}' for '${name}' was not found`,
      );
    wanted.push([name, chosen]);
  }
  const changes = wanted.filter(([n, v]) => packageVersion(n) !== v);
  const heldChanges = changes.filter(([n]) => held().includes(n));
  if (heldChanges.length && !a.has("allow-change-held-packages")) {
    out(
      `Reading package lists...\nBuilding dependency tree...\nReading state information...\nThe following held packages will be changed:\n  ${heldChanges.map(([n]) => n).join(" ")}`,
    );
    fail(100, "E: Held packages were changed and -y was used without --allow-change-held-packages.");
  }
  out("Reading package lists...\nBuilding dependency tree...\nReading state information...");
  for (const [n, v] of wanted.filter(([n, v]) => packageVersion(n) === v))
    out(`${n} is already the newest version (${v}).`);
  if (changes.length === 0) {
    out("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.");
    return 0;
  }
  await stepCost("apt-install");
  const packages = { ...(localState().packages ?? {}) };
  for (const [n, v] of changes) {
    out(
      `Preparing to unpack .../${n}_${v}_amd64.deb ...\nUnpacking ${n} (${v}) over (${packageVersion(n)}) ...\nSetting up ${n} (${v}) ...`,
    );
    packages[n] = v;
  }
  updateLocalState({ packages });
  out(`${changes.length} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.`);
  return 0;
}

export async function aptMarkMain(/** @type {string[]} */ argv) {
  const [cmd, ...names] = parseArgs(argv).positional;
  if (cmd === "showhold") {
    if (held().length) out(held().join("\n"));
    return 0;
  }
  if (cmd !== "hold" && cmd !== "unhold") fail(100, `E: Invalid operation ${cmd ?? ""}`);
  if (!isRoot())
    fail(
      100,
      "E: Could not create temporary file for /var/lib/apt/extended_states - mkstemp (13: Permission denied)\nE: Failed to write temporary StateFile /var/lib/apt/extended_states",
    );
  for (const n of names) if (!KUBE_PACKAGES.includes(n)) fail(100, `E: Unable to locate package ${n}`);
  const now = held();
  for (const n of names) {
    if (cmd === "hold") out(now.includes(n) ? `${n} was already set on hold.` : `${n} set on hold.`);
    else out(now.includes(n) ? `Canceled hold on ${n}.` : `${n} was already not on hold.`);
  }
  writeHeld(cmd === "hold" ? [...now, ...names] : now.filter((n) => !names.includes(n)));
  return 0;
}

/** `dpkg -S FILE`: the kit's kubeadm, kubelet and kubectl belong to the packages of their names; the rest to the real dpkg. */
export async function dpkgMain(/** @type {string[]} */ argv) {
  if (argv[0] === "-S" && argv.length === 2) {
    const file = argv[1] ?? "";
    const own = KUBE_PACKAGES.find((p) => file === `${KIT_DIR}/bin/${p}`);
    if (own) {
      out(`${own}: ${file}`);
      return 0;
    }
  }
  const r = spawnSync("/usr/bin/dpkg", argv, { stdio: "inherit" });
  return r.status ?? 1;
}
