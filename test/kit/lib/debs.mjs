// Debian package files as `apt-get download`, `dpkg-deb -x` and `apt-get install ./FILE.deb` use them.
// A kit .deb starts with the ar magic line, then one JSON line (package, version, architecture, depends),
// then filler bytes standing in for the archive members. The catalogue is pkgs.k8s.io's kubeadm, kubelet,
// kubectl, cri-tools and kubernetes-cni of a minor plus the Ubuntu packages a kubeadm node needs.
// `apt-get install --no-download ./x.deb` resolves dependencies against the files given and what is
// installed (the kit's records, then the machine's real dpkg database), and fails as apt does.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { versionFor } from "./node.mjs";
import { KIT_DIR, fail, localState, out, updateLocalState } from "./util.mjs";

const MAGIC = "!<arch>\n";
const MiB = 2 ** 20;

/** @typedef {{ package: string, version: string, arch: string, depends: string[], size: number, origin: string }} DebMeta */

/** The packages on offer for a pkgs.k8s.io minor, with their dependencies and file sizes (scaled down). @param {string} minor @returns {DebMeta[]} */
export function catalogue(minor) {
  const kube = versionFor(minor).replace(/^v/, "");
  const k8s = `https://pkgs.k8s.io/core:/stable:/v${minor}/deb`;
  const ubuntu = "http://archive.ubuntu.com/ubuntu noble/main";
  /** @type {[string, string, string[], number, string][]} */
  const rows = [
    ["kubeadm", `${kube}-1.1`, ["cri-tools"], 4 * MiB, k8s],
    [
      "kubelet",
      `${kube}-1.1`,
      ["iptables", "iproute2", "mount", "util-linux", "kubernetes-cni", "conntrack", "socat", "ethtool", "ebtables"],
      6 * MiB,
      k8s,
    ],
    ["kubectl", `${kube}-1.1`, [], 4 * MiB, k8s],
    ["cri-tools", `${minor}.0-1.1`, [], 2 * MiB, k8s],
    ["kubernetes-cni", "1.6.0-1.1", [], 3 * MiB, k8s],
    ["containerd", "1.7.24-0ubuntu1~24.04.2", ["runc"], 6 * MiB, ubuntu],
    ["runc", "1.1.12-0ubuntu3.1", [], 3 * MiB, ubuntu],
    ["conntrack", "1:1.4.8-1ubuntu1", [], MiB / 4, ubuntu],
    ["socat", "1.8.0.0-4build3", [], MiB / 2, ubuntu],
    ["ethtool", "1:6.7-1build1", [], MiB / 4, ubuntu],
    ["ebtables", "2.0.11-6build1", [], MiB / 8, ubuntu],
    ["iptables", "1.8.10-3ubuntu2", [], MiB / 2, ubuntu],
  ];
  return rows.map(([pkg, version, depends, size, origin]) => ({
    package: pkg,
    version,
    arch: "amd64",
    depends,
    size,
    origin,
  }));
}

/** The file name apt gives a package (the epoch's colon escaped as %3a). @param {DebMeta} m */
export const debFileName = (m) => `${m.package}_${m.version.replace(":", "%3a")}_${m.arch}.deb`;

/** @param {string} dir @param {DebMeta} m */
export function writeDeb(dir, m) {
  const header = Buffer.from(`${MAGIC}${JSON.stringify({ kitDeb: 1, ...m })}\n`);
  fs.writeFileSync(path.join(dir, debFileName(m)), Buffer.concat([header, randomBytes(m.size)]));
}

/** A kit .deb's metadata, or undefined when the file is not one. @param {string} file @returns {DebMeta|undefined} */
export function readDeb(file) {
  let fd;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return undefined;
  }
  const head = Buffer.alloc(1024);
  const n = fs.readSync(fd, head, 0, 1024, 0);
  fs.closeSync(fd);
  const text = head.subarray(0, n).toString("utf8");
  if (!text.startsWith(MAGIC)) return undefined;
  try {
    const meta = JSON.parse(text.slice(MAGIC.length).split("\n")[0] ?? "");
    return meta.kitDeb === 1 ? meta : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pkgs.k8s.io minor this machine's apt is configured for: the source list APT_CONFIG names
 * (`Dir::Etc::SourceList "FILE";`), else /etc/apt/sources.list.d/kubernetes.list; undefined for none.
 */
export function configuredMinor() {
  let list = "/etc/apt/sources.list.d/kubernetes.list";
  const conf = process.env.APT_CONFIG;
  if (conf && fs.existsSync(conf))
    list = /Dir::Etc::SourceList\s+"([^"]+)"/.exec(fs.readFileSync(conf, "utf8"))?.[1] ?? list;
  const text = fs.existsSync(list) ? fs.readFileSync(list, "utf8") : "";
  return /pkgs\.k8s\.io\/core:\/stable:\/v(1\.\d+)\/deb/.exec(text)?.[1];
}

/** `apt-get download PKG...` into the working directory (no root needed), as apt prints it. @param {string[]} names */
export function download(names) {
  const minor = configuredMinor();
  const offer = new Map(
    catalogue(minor ?? "1.32")
      .filter((m) => minor || !m.origin.includes("pkgs.k8s.io"))
      .map((m) => [m.package, m]),
  );
  const picked = names.map((spec) => {
    const name = spec.split("=")[0] ?? "";
    const m = offer.get(name);
    if (!m) fail(100, `E: Unable to locate package ${name}`);
    return m;
  });
  let total = 0;
  picked.forEach((m, i) => {
    writeDeb(process.cwd(), m);
    total += m.size;
    out(`Get:${i + 1} ${m.origin} ${m.arch} ${m.package} ${m.arch} ${m.version} [${(m.size / 1000).toFixed(0)} kB]`);
  });
  out(`Fetched ${(total / 1e6).toFixed(1)} MB in 0s (${(total / 1e6).toFixed(1)} MB/s)`);
}

/**
 * `dpkg-deb -x FILE DIR`: the package's files. kubeadm's own binary is the workstation kit's kubeadm of
 * the package's release. @param {string} file @param {string} dir
 */
export function extract(file, dir) {
  const m = readDeb(file);
  if (!m) fail(2, `dpkg-deb: error: '${file}' is not a Debian format archive`);
  const bin = path.join(dir, "usr", "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(path.join(dir, "usr", "share", "doc", m.package), { recursive: true });
  if (m.package === "kubeadm") {
    const release = `v${m.version.replace(/-.*$/, "")}`;
    fs.writeFileSync(
      path.join(bin, "kubeadm"),
      `#!/bin/sh\nHACTL_KIT_KUBEADM_RELEASE=${release} exec "${KIT_DIR}/workstation/kubeadm" "$@"\n`,
      { mode: 0o755 },
    );
  }
}

/** Packages installed on this machine: the kit's records, then the real dpkg database. */
function installed() {
  const st = localState();
  const real = spawnSync("/usr/bin/dpkg-query", ["-W", "-f", "${Package} ${db:Status-Status}\\n"], {
    encoding: "utf8",
  });
  const names = new Set(
    (real.stdout ?? "")
      .split("\n")
      .filter((l) => l.endsWith(" installed"))
      .map((l) => l.split(" ")[0] ?? ""),
  );
  for (const n of Object.keys(st.debs ?? {})) names.add(n);
  return names;
}

const HEAD = "Reading package lists...\nBuilding dependency tree...\nReading state information...";

/**
 * `apt-get install [--no-download] ./A.deb ./B.deb`: every file must be a package (apt: invalid archive
 * signature), every dependency among the files or installed (apt: unmet dependencies). Kubernetes'
 * packages set the kit's versions (kubeadm version reports them); the others are recorded.
 * @param {string[]} files @param {{ held: string[], allowHeld: boolean, currentVersion: (p: string) => string|undefined, kube: string[] }} o
 */
export function installFiles(files, o) {
  /** @type {DebMeta[]} */
  const debs = [];
  for (const f of files) {
    const m = readDeb(f);
    if (!m)
      fail(
        100,
        `${HEAD}\nE: Invalid archive signature\nE: Could not read meta data from ${path.resolve(f)}\nE: The package lists or status file could not be parsed or opened.`,
      );
    debs.push(m);
  }
  const have = installed();
  const given = new Set(debs.map((d) => d.package));
  const unmet = debs.flatMap((d) =>
    d.depends
      .filter((dep) => !given.has(dep) && !have.has(dep))
      .map((dep) => ` ${d.package} : Depends: ${dep} but it is not installable`),
  );
  if (unmet.length) {
    fail(
      100,
      `${HEAD}\nSome packages could not be installed. This may mean that you have\nrequested an impossible situation or if you are using the unstable\ndistribution that some required packages have not yet been created\nor been moved out of Incoming.\nThe following information may help to resolve the situation:\n\nThe following packages have unmet dependencies:\n${unmet.join("\n")}\nE: Unable to correct problems, you have held broken packages.`,
    );
  }
  const changes = debs.filter((d) => o.currentVersion(d.package) !== d.version);
  const heldChanges = changes.filter((d) => o.held.includes(d.package));
  if (heldChanges.length && !o.allowHeld) {
    out(`${HEAD}\nThe following held packages will be changed:\n  ${heldChanges.map((d) => d.package).join(" ")}`);
    fail(100, "E: Held packages were changed and -y was used without --allow-change-held-packages.");
  }
  out(HEAD);
  for (const d of debs)
    out(`Note, selecting '${d.package}' instead of '${path.resolve(files[debs.indexOf(d)] ?? "")}'`);
  for (const d of debs.filter((x) => !changes.includes(x)))
    out(`${d.package} is already the newest version (${d.version}).`);
  const st = localState();
  const packages = { ...(st.packages ?? {}) };
  const recorded = { ...(st.debs ?? {}) };
  let fresh = 0;
  for (const d of changes) {
    const before = o.currentVersion(d.package);
    if (before === undefined) fresh++;
    out(
      `Preparing to unpack .../${debFileName(d)} ...\nUnpacking ${d.package} (${d.version})${before ? ` over (${before})` : ""} ...`,
    );
    if (o.kube.includes(d.package)) packages[d.package] = d.version;
    recorded[d.package] = d.version;
  }
  for (const d of changes) out(`Setting up ${d.package} (${d.version}) ...`);
  updateLocalState({ packages, debs: recorded });
  out(`${changes.length - fresh} upgraded, ${fresh} newly installed, 0 to remove and 0 not upgraded.`);
}
