/**
 * spec.storage.sharedMounts: every node mounts the same NFS exports (Rainbond's /grdata). Preflight checks
 * from every node that the server answers on TCP 2049 and lists the export (spec.storage.nfs's too); the
 * plan installs the NFS client where mount.nfs is missing (also for spec.storage.nfs), keeps one fstab line per mount point, mounts what is not mounted, and
 * then writes a file on one node and reads it back on another.
 */
import { randomBytes } from "node:crypto";
import { HactlError } from "../core/errors.js";
import { need, type RemoteHost } from "../core/host.js";
import type { Phase, Step, StepOutcome } from "../core/plan.js";
import type { NodeFacts } from "../gather/facts.js";
import { exportFor, parseShowmount, showmountCommand, type SharedMountState } from "../gather/shared-mounts.js";
import type { ClusterSpec, SharedMountSpec } from "../spec/schema.js";
import type { PreflightCheck } from "./preflight.js";

export const NFS_PORT = 2049;
const FSTAB = "/etc/fstab";
const NFS_CLIENT_PACKAGE = "nfs-common";

export function sharedMountsOf(spec: ClusterSpec): readonly SharedMountSpec[] {
  return spec.spec.storage?.sharedMounts ?? [];
}

/** An export the spec needs from an NFS server, and the cluster.yaml field that names its path. */
export interface NeededExport {
  server: string;
  path: string;
  field: string;
}

/** Every export the nodes need: the shared mounts' and the NFS StorageClass's. */
export function nfsExportsOf(spec: ClusterSpec): NeededExport[] {
  const nfs = spec.spec.storage?.nfs;
  return [
    ...sharedMountsOf(spec).map((m) => ({ server: m.server, path: m.path, field: "spec.storage.sharedMounts[].path" })),
    ...(nfs ? [{ server: nfs.server, path: nfs.path, field: "spec.storage.nfs.path" }] : []),
  ];
}

/** The NFS servers the nodes talk to. */
export function nfsServersOf(spec: ClusterSpec): string[] {
  return [...new Set(nfsExportsOf(spec).map((e) => e.server))];
}

/** The TCP probes a node runs during fact gathering: each NFS server's port 2049. */
export function nfsProbes(spec: ClusterSpec, machine: string): string[] {
  if (!spec.spec.nodes.some((n) => n.name === machine)) return [];
  return nfsServersOf(spec).map((s) => `${s}:${NFS_PORT}`);
}

/** The fstab line of a mount: `_netdev` added so boot waits for the network before mounting it. */
export function fstabLine(m: SharedMountSpec): string {
  const options = m.options.includes("_netdev") ? m.options : [...m.options, "_netdev"];
  return `${m.server}:${m.path} ${m.mountPoint} nfs ${options.join(",")} 0 0`;
}

/** fstab's active lines for a mount point (second field), comments and other entries aside. */
function entriesFor(fstab: string, mountPoint: string): string[] {
  return fstab.split("\n").filter((l) => !l.trimStart().startsWith("#") && l.trim().split(/\s+/)[1] === mountPoint);
}

/** fstab with exactly one line for the mount point: the first one replaced in place, others removed, or appended. */
export function withFstabEntry(fstab: string, m: SharedMountSpec): string {
  const line = fstabLine(m);
  const lines = fstab.split("\n");
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  let placed = false;
  const out = lines.flatMap((l) => {
    if (l.trimStart().startsWith("#") || l.trim().split(/\s+/)[1] !== m.mountPoint) return [l];
    if (placed) return [];
    placed = true;
    return [line];
  });
  if (!placed) out.push(line);
  return `${out.join("\n")}\n`;
}

const source = (m: SharedMountSpec): string => `${m.server}:${m.path}`;

/** What a node still needs: the NFS client, fstab lines, mounts. Empty when it is done. */
export function mountWork(
  m: SharedMountSpec,
  state: SharedMountState,
): { fstab: boolean; mount: boolean; foreign?: string } {
  const lines = entriesFor(state.fstab, m.mountPoint);
  const fstab = !(lines.length === 1 && lines[0]?.trim().split(/\s+/).join(" ") === fstabLine(m));
  const mounted = state.mounted.get(m.mountPoint);
  if (mounted !== undefined && mounted !== source(m)) return { fstab, mount: false, foreign: mounted };
  return { fstab, mount: mounted === undefined };
}

/** `hactl status`: each shared mount a node has not mounted, or whose fstab line is missing or different. */
export function sharedMountDrift(spec: ClusterSpec, states: ReadonlyMap<string, SharedMountState>): string[] {
  const out: string[] = [];
  for (const node of spec.spec.nodes) {
    const state = states.get(node.name);
    if (!state) continue;
    for (const m of sharedMountsOf(spec)) {
      const w = mountWork(m, state);
      if (w.foreign !== undefined) out.push(`${node.name}: ${m.mountPoint} has ${w.foreign} mounted, not ${source(m)}`);
      else if (w.mount) out.push(`${node.name}: ${m.mountPoint} is not mounted (drift; run hactl install)`);
      if (w.fstab)
        out.push(
          `${node.name}: ${FSTAB} lacks hactl's line for ${m.mountPoint} (${source(m)}) (drift; run hactl install)`,
        );
    }
  }
  return out;
}

/**
 * Per node and NFS server (shared mounts and the NFS StorageClass alike): port 2049 answers, and the server
 * lists an export that holds each path.
 */
export function sharedMountChecks(
  spec: ClusterSpec,
  facts: ReadonlyMap<string, NodeFacts>,
  states: ReadonlyMap<string, SharedMountState>,
): PreflightCheck[] {
  const mounts = sharedMountsOf(spec);
  const needed = nfsExportsOf(spec);
  const checks: PreflightCheck[] = [];
  for (const node of spec.spec.nodes) {
    const f = facts.get(node.name);
    const state = states.get(node.name);
    if (!f || !state) continue;
    for (const server of nfsServersOf(spec)) {
      const wanted = needed.filter((e) => e.server === server);
      const paths = [...new Set(wanted.map((e) => e.path))];
      const add = (status: PreflightCheck["status"], message: string, fix?: string): void => {
        checks.push({ node: node.name, check: "nfs", status, message, ...(fix ? { fix } : {}) });
      };
      if (!f.reachable.has(`${server}:${NFS_PORT}`)) {
        add(
          "fail",
          `cannot reach the NFS server ${server}:${NFS_PORT}`,
          `start the NFS server on ${server} and open TCP ${NFS_PORT} from the nodes to it (or fix ${wanted[0]?.field.replace(/path$/, "server") ?? "the server"})`,
        );
        continue;
      }
      const list = state.exports.get(server);
      for (const m of mounts.filter((x) => x.server === server)) {
        const foreign = mountWork(m, state).foreign;
        if (foreign !== undefined) {
          add(
            "fail",
            `${m.mountPoint} already has ${foreign} mounted, not ${source(m)}`,
            `unmount it (umount ${m.mountPoint}) or choose another mountPoint`,
          );
        }
      }
      if (list === undefined) {
        add(
          "warn",
          `${server}:${NFS_PORT} answers; its exports are read once ${NFS_CLIENT_PACKAGE} (showmount) is installed by this run`,
        );
      } else if ("error" in list) {
        add(
          "warn",
          `${server}:${NFS_PORT} answers but does not list its exports (showmount: ${list.error}); an NFSv4-only server does not, and the mount will tell`,
        );
      } else {
        const missing = paths.filter((p) => exportFor(p, list.exports) === undefined);
        const field = wanted.find((e) => e.path === missing[0])?.field;
        if (missing.length === 0) add("ok", `${server}:${NFS_PORT} answers and exports ${paths.join(", ")}`);
        else
          add(
            "fail",
            `${server} does not export ${missing.join(", ")} (it exports ${list.exports.join(", ") || "nothing"})`,
            `export ${missing[0]} on ${server} (a line in /etc/exports, then exportfs -ra) or fix ${field ?? "the path"}`,
          );
      }
    }
  }
  return checks;
}

/** Before mounting on a node that just got showmount: the export must be listed (when the server lists any). */
async function checkExport(host: RemoteHost, m: SharedMountSpec): Promise<void> {
  const r = await host.exec(showmountCommand(m.server));
  if (r.code !== 0) return;
  const exports = parseShowmount(m.server, r.stdout);
  if (exportFor(m.path, exports) !== undefined) return;
  throw new HactlError(
    "CONFIG_INVALID",
    `${m.server} does not export ${m.path} (it exports ${exports.join(", ") || "nothing"})`,
    {
      node: host.name,
      remedy: `Export ${m.path} on ${m.server} (a line in /etc/exports, then exportfs -ra) or fix spec.storage.sharedMounts[].path.`,
    },
  );
}

async function mountOne(
  host: RemoteHost,
  m: SharedMountSpec,
  state: SharedMountState,
  log: (l: string) => void,
): Promise<boolean> {
  let changed = false;
  const fstab = (await host.readFile(FSTAB, { sudo: true })) ?? "";
  const written = await host.writeFile(FSTAB, withFstabEntry(fstab, m), { mode: 0o644, sudo: true, backup: true });
  if (written.changed) {
    log(`${FSTAB}: ${fstabLine(m)}`);
    changed = true;
  }
  if (!mountWork(m, state).mount) return changed;
  await checkExport(host, m);
  await host.run({ argv: ["mkdir", "-p", m.mountPoint], sudo: true });
  const r = await host.exec({ argv: ["mount", m.mountPoint], sudo: true, timeoutMs: 60_000 });
  if (r.code !== 0) {
    const why = r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`;
    throw new HactlError("COMMAND_FAILED", `mount ${m.mountPoint} (${source(m)}) failed: ${why}`, {
      node: host.name,
      remedy: /no such device/i.test(why)
        ? "This node's kernel has no NFS client (modprobe nfs fails): use a kernel with NFS support."
        : `Mount it by hand (mount ${m.mountPoint}) and check the server's export options for this node's address.`,
    });
  }
  return true;
}

function nodeStep(
  node: string,
  mounts: readonly SharedMountSpec[],
  installClient: boolean,
  state: SharedMountState,
): Step {
  return {
    id: `shared-mounts:${node}`,
    node,
    title: mounts.length > 0 ? `NFS mounts ${mounts.map((m) => m.mountPoint).join(", ")}` : "NFS client",
    describe: [
      ...(installClient ? [`apt-get install ${NFS_CLIENT_PACKAGE} (mount.nfs is missing)`] : []),
      ...mounts.map((m) => `${FSTAB}: ${fstabLine(m)}; mount ${m.mountPoint} unless mounted`),
    ],
    async run(ctx): Promise<StepOutcome> {
      const host = need(ctx.hosts, node);
      let changed = false;
      if (installClient) {
        await host.run({
          argv: ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", NFS_CLIENT_PACKAGE],
          sudo: true,
          timeoutMs: 15 * 60_000,
        });
        changed = true;
      }
      for (const m of mounts) if (await mountOne(host, m, state, ctx.log)) changed = true;
      return changed ? "changed" : "unchanged";
    },
  };
}

/** Writes a file with a fresh token on one node and reads it on another: the mount is the same file system. */
function sharedCheckStep(m: SharedMountSpec, writer: string, reader: string, after: readonly string[]): Step {
  const file = `${m.mountPoint}/.hactl-shared-check`;
  return {
    id: `shared-check:${m.mountPoint}`,
    node: writer,
    title: `${m.mountPoint} is shared: written here, read on ${reader}`,
    describe: [`write ${file} on ${writer}, read it on ${reader}, remove it`],
    after,
    async run(ctx): Promise<StepOutcome> {
      const token = `hactl ${randomBytes(8).toString("hex")}\n`;
      const w = need(ctx.hosts, writer);
      await w.writeFile(file, token, { mode: 0o644, sudo: true });
      const seen = await need(ctx.hosts, reader).readFile(file, { sudo: true });
      await w.run({ argv: ["rm", "-f", file], sudo: true });
      if (seen !== token) {
        throw new HactlError(
          "UNHEALTHY",
          `${m.mountPoint}: a file written on ${writer} is ${seen === undefined ? "missing" : "different"} on ${reader}`,
          {
            node: reader,
            remedy: `Check with findmnt ${m.mountPoint} on both nodes that ${source(m)} is mounted there, not a local directory.`,
          },
        );
      }
      ctx.log(`${m.mountPoint}: ${reader} reads what ${writer} wrote`);
      return "unchanged";
    },
  };
}

/** The mounts still to do, per node; then one shared-file check per mount that changed anywhere */
export function planSharedMounts(
  spec: ClusterSpec,
  facts: ReadonlyMap<string, NodeFacts>,
  states: ReadonlyMap<string, SharedMountState>,
): Phase[] {
  const mounts = sharedMountsOf(spec);
  if (nfsExportsOf(spec).length === 0) return [];
  const steps: Step[] = [];
  /** Mount → the nodes that mount it in this run. */
  const touched = new Map<SharedMountSpec, string[]>();
  for (const node of spec.spec.nodes) {
    const state = states.get(node.name) ?? { fstab: "", mounted: new Map(), exports: new Map() };
    const todo = mounts.filter((m) => {
      const w = mountWork(m, state);
      return w.fstab || w.mount;
    });
    const installClient = !(facts.get(node.name)?.commands.has("mount.nfs") ?? false);
    if (todo.length === 0 && !installClient) continue;
    for (const m of todo) touched.set(m, [...(touched.get(m) ?? []), node.name]);
    steps.push(nodeStep(node.name, todo, installClient, state));
  }
  // written on a node that mounted it in this run (the new node of an add-node), read on another node
  const checks = [...touched].flatMap(([m, nodes]) => {
    const writer = nodes[0] as string;
    const reader = spec.spec.nodes.find((n) => n.name !== writer)?.name;
    return reader === undefined
      ? []
      : [
          sharedCheckStep(
            m,
            writer,
            reader,
            steps.map((s) => s.id),
          ),
        ];
  });
  return [
    { title: mounts.length > 0 ? "Shared mounts" : "NFS client", mode: "parallel", steps },
    ...(checks.length > 0 ? [{ title: "Check shared mounts", mode: "serial" as const, steps: checks }] : []),
  ];
}
