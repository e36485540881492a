// `snap` stand-in for the microk8s snap: install (puts `microk8s` on the node's PATH) from the store or
// from a downloaded file (`snap ack` first; over an installed snap, a refresh to the file's revision),
// download, remove, list, start/stop, refresh (to a channel, --hold, --unhold), switch (tracking channel). Every use of the store is recorded (store-fetches.log) so a test can prove that an
// air-gapped install needed none.
import fs from "node:fs";
import { freshCluster, refreshInstallation, removeInstallation, revisionFor } from "./microk8s.mjs";
import { ack, download, isSnapFile, readSnapFile, storeFetch } from "./snap-files.mjs";
import { startAgent, stopAgent, versionFor } from "./node.mjs";
import {
  KIT_DIR,
  SNAP_HOLD_FILE,
  fail,
  isRoot,
  localState,
  out,
  parseArgs,
  stepCost,
  takeFault,
  updateLocalState,
} from "./util.mjs";

const LINK = "/usr/local/bin/microk8s";

export function channelVersion(/** @type {string} */ channel) {
  const [track, risk = "stable"] = channel.split("/");
  if (!["stable", "candidate", "beta", "edge"].includes(risk)) return undefined;
  if (track === "latest") return { channel: `latest/${risk}`, version: versionFor("1.32") };
  const m = /^1\.(2[4-9]|3[0-7])(-strict)?$/.exec(track ?? "");
  if (!m) return undefined;
  return { channel: `${track}/${risk}`, version: versionFor(`1.${m[1]}`) };
}

export async function snapMain(/** @type {string[]} */ argv) {
  const a = parseArgs(argv, ["channel", "target-directory"]);
  const [cmd, name] = a.positional;
  const st = localState();
  const installed = Boolean(st.installed && st.distro === "microk8s");
  switch (cmd) {
    case "download":
      storeFetch(`download ${name ?? ""}`);
      out(
        download(name, {
          channel: a.get("channel"),
          dir: a.get("target-directory") ?? ".",
          channelVersion,
          revisionFor,
        }),
      );
      return 0;
    case "ack":
      if (!isRoot()) fail(1, "error: access denied (try with sudo)");
      ack(name);
      return 0;
    case "install": {
      if (!isRoot()) fail(1, "error: access denied (try with sudo)");
      if (isSnapFile(name)) return installFile(/** @type {string} */ (name), a, installed);
      if (name !== "microk8s") fail(1, `error: snap "${name ?? ""}" not found`);
      if (installed) {
        out(`snap "microk8s" is already installed, see 'snap help refresh'`);
        return 0;
      }
      if (!a.has("classic")) {
        fail(
          1,
          'error: This revision of snap "microk8s" was published using classic confinement and thus may\n       perform arbitrary system changes outside of the security sandbox that snaps are usually\n       confined to, which may put your system at risk.\n\n       If you understand and want to proceed repeat the command including --classic.',
        );
      }
      const cv = channelVersion(a.get("channel") ?? "latest/stable");
      if (!cv) fail(1, `error: requested channel "${a.get("channel")}" is not available (see 'snap info microk8s')`);
      if (st.distro === "kubeadm")
        fail(1, 'error: cannot install "microk8s": this node already runs a kubeadm control plane (kit)');
      storeFetch(`install microk8s ${cv.channel}`);
      await installMicrok8s(cv);
      updateLocalState({ revision: undefined });
      out(`microk8s (${cv.channel}) ${cv.version} from Canonical✓ installed`);
      return 0;
    }
    case "remove": {
      if (!isRoot()) fail(1, "error: access denied (try with sudo)");
      if (name !== "microk8s" || !installed) {
        out(`snap "${name ?? ""}" is not installed`);
        return 0;
      }
      await removeInstallation();
      fs.rmSync(SNAP_HOLD_FILE, { force: true });
      fs.rmSync(LINK, { force: true });
      out("microk8s removed");
      return 0;
    }
    case "list": {
      if (name && (name !== "microk8s" || !installed)) fail(1, "error: no matching snaps installed");
      const rows = [
        ["Name", "Version", "Rev", "Tracking", "Publisher", "Notes"],
        ["core22", "20250315", "1908", "latest/stable", "canonical✓", "base"],
        ["snapd", "2.68.3", "24505", "latest/stable", "canonical✓", "snapd"],
      ];
      if (installed)
        rows.push([
          "microk8s",
          st.version ?? "",
          st.revision ?? revisionFor(st.channel ?? ""),
          st.channel ?? "",
          "canonical✓",
          fs.existsSync(SNAP_HOLD_FILE) ? "classic,held" : "classic",
        ]);
      const show = name ? [rows[0], ...rows.filter((r) => r[0] === name)] : rows;
      const w = show[0]?.map((_c, i) => Math.max(...show.map((r) => (r?.[i] ?? "").length))) ?? [];
      out(
        show
          .map((r) => (r ?? []).map((c, i) => (i === (r?.length ?? 0) - 1 ? c : c.padEnd((w[i] ?? 0) + 2))).join(""))
          .join("\n"),
      );
      return 0;
    }
    case "stop":
    case "start": {
      if (!isRoot()) fail(1, "error: access denied (try with sudo)");
      if (name !== "microk8s" || !installed) fail(1, `error: snap "${name ?? ""}" not found`);
      if (cmd === "stop") await stopAgent();
      else startAgent();
      out(cmd === "stop" ? "Stopped." : "Started.");
      return 0;
    }
    case "refresh":
      return refresh(a, name, installed);
    case "switch":
      return switchChannel(a, name, installed);
    default:
      fail(1, `error: unknown command "${cmd ?? ""}", see 'snap help'.`);
  }
}

/** @param {{ channel: string, version: string }} cv */
async function installMicrok8s(cv) {
  await stepCost("snap-install");
  fs.rmSync(SNAP_HOLD_FILE, { force: true });
  fs.rmSync(LINK, { force: true });
  fs.symlinkSync(`${KIT_DIR}/snap/microk8s`, LINK);
  await freshCluster(cv);
}

/**
 * `snap install ./NAME_REV.snap [--classic] [--dangerous]`: needs the file's assertion acknowledged first
 * (`snap ack NAME_REV.assert`), as snapd does. The base snap is taken as it comes; MicroK8s installs as
 * from its channel (the kit's `snap list` shows the channel it was downloaded from).
 * @param {string} file @param {ReturnType<typeof parseArgs>} a @param {boolean} installed
 */
async function installFile(file, a, installed) {
  const meta = readSnapFile(file, a.has("dangerous"));
  if (meta.name !== "microk8s") {
    out(`${meta.name} ${meta.version} from Canonical✓ installed`);
    return 0;
  }
  if (!a.has("classic"))
    fail(
      1,
      'error: cannot install snap file: snap "microk8s" requires classic confinement; repeat the command including --classic',
    );
  if (installed) {
    // snapd installs the file as a refresh: services restarted, data kept, the tracking channel unchanged
    const st = localState();
    await refreshInstallation({ channel: st.channel ?? meta.channel, version: meta.version });
    updateLocalState({ revision: meta.revision });
    out(`microk8s ${meta.version} from Canonical✓ installed`);
    return 0;
  }
  if (localState().distro === "kubeadm")
    fail(1, 'error: cannot install "microk8s": this node already runs a kubeadm control plane (kit)');
  await installMicrok8s({ channel: meta.channel, version: meta.version });
  updateLocalState({ revision: meta.revision });
  out(`microk8s ${meta.version} from Canonical✓ installed`);
  return 0;
}

/**
 * `snap switch --channel=C microk8s`: changes the tracking channel only; nothing is downloaded and the
 * installed revision stays, as snapd does. @param {ReturnType<typeof parseArgs>} a
 * @param {string|undefined} name @param {boolean} installed
 */
function switchChannel(a, name, installed) {
  if (!isRoot()) fail(1, "error: access denied (try with sudo)");
  const channel = a.get("channel");
  if (!channel) fail(1, "error: missing --channel=<channel-name> parameter");
  if (name !== "microk8s" || !installed) fail(1, `error: snap "${name ?? ""}" is not installed`);
  const cv = channelVersion(channel.includes("/") ? channel : `${channel}/stable`);
  if (!cv) fail(1, `error: invalid channel "${channel}"`);
  const st = localState();
  updateLocalState({ channel: cv.channel, revision: st.revision ?? revisionFor(st.channel ?? "") });
  out(`"${name}" switched to the "${cv.channel}" channel`);
  return 0;
}

/**
 * `snap refresh microk8s [--channel=C]`, `snap refresh --hold[=forever] microk8s`, `snap refresh --unhold
 * microk8s`. A hold stops auto-refreshes and general refreshes (`snap refresh` with no snap named), not a
 * refresh that names the snap, as snapd does. A refresh to another channel changes the node's version and
 * restarts its services (the node is briefly NotReady and, on a voter, the datastore member restarts).
 * @param {ReturnType<typeof parseArgs>} a @param {string|undefined} name @param {boolean} installed
 */
async function refresh(a, name, installed) {
  if (!isRoot()) fail(1, "error: access denied (try with sudo)");
  const st = localState();
  if (a.has("hold") || a.has("unhold")) {
    if (!name) fail(1, "error: the kit holds only named snaps: snap refresh --hold microk8s");
    if (name !== "microk8s" || !installed) fail(1, `error: snap "${name}" is not installed`);
    if (a.has("unhold")) {
      fs.rmSync(SNAP_HOLD_FILE, { force: true });
      out(`Removed general refresh hold of "${name}"`);
      return 0;
    }
    const hold = a.get("hold") ?? "true";
    fs.writeFileSync(SNAP_HOLD_FILE, `${hold}\n`);
    out(
      `General refreshes of "${name}" held ${hold === "true" || hold === "forever" ? "indefinitely" : `until ${new Date(Date.now() + 3600_000).toISOString()}`}`,
    );
    return 0;
  }
  if (!name) {
    out("All snaps up to date.");
    return 0;
  }
  if (name !== "microk8s" || !installed) fail(1, `error: snap "${name}" is not installed`);
  const cv = channelVersion(a.get("channel") ?? st.channel ?? "latest/stable");
  if (!cv) fail(1, `error: requested channel "${a.get("channel")}" is not available (see 'snap info microk8s')`);
  if (cv.channel === st.channel && cv.version === st.version) {
    out(`snap "${name}" has no updates available`);
    return 0;
  }
  if (takeFault("fail-snap-refresh")) {
    fail(
      1,
      `error: cannot perform the following tasks:\n- Download snap "microk8s" (${revisionFor(cv.channel)}) from channel "${cv.channel}" (unexpected EOF) (kit fault fail-snap-refresh)`,
    );
  }
  storeFetch(`refresh microk8s ${cv.channel}`);
  await refreshInstallation(cv);
  updateLocalState({ revision: undefined });
  out(`microk8s (${cv.channel}) ${cv.version} from Canonical✓ refreshed`);
  return 0;
}
