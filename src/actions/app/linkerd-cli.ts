/**
 * The operator's `linkerd` CLI on this machine (kubeadm clusters; MicroK8s brings its own through the
 * addon). It is found before anything else happens, and runs against the cluster's admin kubeconfig,
 * whose server is the control-plane endpoint (the VIP). The only user of execa.
 */
import { access, constants, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { execa } from "execa";
import type { ExecResult } from "../../core/command.js";
import { HactlError, interruptedError } from "../../core/errors.js";
import type { RemoteHost } from "../../core/host.js";
import { ADMIN_CONF } from "../../distros/kubeadm.js";
import type { WorkstationLinkerd } from "../../phases/app/linkerd.js";
import { expandHome } from "../../ssh/connect.js";

const VERSION_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 300_000;
/** Where Linkerd's own installer (run.linkerd.io/install) puts the CLI. */
const INSTALLER_PATH = join(".linkerd2", "bin", "linkerd");

export interface FoundLinkerd {
  path: string;
  /** `linkerd version --client`'s first line. */
  version: string;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `linkerd` in a PATH directory, then in ~/.linkerd2/bin. */
async function searchPath(): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  for (const dir of [...dirs, join(homedir(), ".linkerd2", "bin")]) {
    const candidate = join(dir, "linkerd");
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

const INSTALL_HINT =
  "Install the Linkerd CLI on this machine (curl --proto '=https' --tlsv1.2 -sSfL https://run.linkerd.io/install-edge | sh, see linkerd.io \"Getting started\") " +
  "so that `linkerd version --client` works, or set spec.linkerd.cli in cluster.yaml to its path; then run the same command again. Nothing was changed.";

/**
 * The CLI named by spec.linkerd.cli (a path on this machine; `~/` allowed), else `linkerd` on PATH or in
 * ~/.linkerd2/bin. A missing or broken CLI is a preflight failure, raised before any change.
 */
export async function findWorkstationLinkerd(configured: string | undefined): Promise<FoundLinkerd> {
  const path = configured ? resolve(expandHome(configured)) : await searchPath();
  if (!path || !(await isExecutable(path))) {
    throw new HactlError(
      "PREFLIGHT_FAILED",
      configured
        ? `spec.linkerd.cli: ${path ?? configured} is not an executable file on this machine`
        : `the Linkerd CLI is not installed on this machine (no linkerd on PATH or in ~/${INSTALLER_PATH})`,
      {
        remedy: `On kubeadm clusters hactl runs Linkerd's CLI here, against the cluster's kubeconfig. ${INSTALL_HINT}`,
      },
    );
  }
  const r = await execa(path, ["version", "--client"], { reject: false, timeout: VERSION_TIMEOUT_MS, stdin: "ignore" });
  if (r.exitCode !== 0) {
    throw new HactlError(
      "PREFLIGHT_FAILED",
      `${path} version --client failed${r.exitCode === undefined ? "" : ` (exit ${r.exitCode})`}`,
      {
        details: `${r.stderr}`.trim().split("\n").slice(-3).join("\n"),
        remedy: INSTALL_HINT,
      },
    );
  }
  return { path, version: `${r.stdout}`.trim().split("\n")[0] ?? "" };
}

/** The found CLI, run with KUBECONFIG set to a private copy of the leader's admin kubeconfig. */
export interface ClusterLinkerd extends WorkstationLinkerd {
  /** Removes the kubeconfig copy (when one was made). */
  close(): Promise<void>;
}

/**
 * The kubeconfig is read from the leader over SSH on the first run (a dry run never reads it) and kept in a
 * fresh 0700 directory as a 0600 file until close().
 */
export function clusterLinkerd(found: FoundLinkerd, leader: RemoteHost): ClusterLinkerd {
  let dir: string | undefined;
  let kubeconfig: Promise<string> | undefined;
  const kubeconfigPath = async (): Promise<string> => {
    const content = await leader.readFile(ADMIN_CONF, { sudo: true });
    if (!content) {
      throw new HactlError("UNHEALTHY", `${ADMIN_CONF} is missing on ${leader.name}`, {
        node: leader.name,
        remedy: "Run `hactl status` to see the control planes' state; `hactl install` restores a control plane.",
      });
    }
    dir = await mkdtemp(join(tmpdir(), "hactl-linkerd-"));
    const path = join(dir, "kubeconfig");
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };
  return {
    path: found.path,
    async run(args: readonly string[], signal: AbortSignal): Promise<ExecResult> {
      kubeconfig ??= kubeconfigPath();
      const r = await execa(found.path, args, {
        env: { KUBECONFIG: await kubeconfig },
        reject: false,
        timeout: RUN_TIMEOUT_MS,
        cancelSignal: signal,
        stdin: "ignore",
        maxBuffer: 64 * 1024 * 1024,
      });
      if (r.isCanceled || signal.aborted) throw interruptedError(signal);
      if (r.timedOut) {
        throw new HactlError(
          "COMMAND_TIMEOUT",
          `linkerd ${args.join(" ")} did not finish within ${RUN_TIMEOUT_MS / 1000}s`,
          {
            remedy:
              "Check that this machine reaches the cluster's API through the VIP (hactl status), then run the same command again.",
            retryable: true,
          },
        );
      }
      return { code: r.exitCode ?? 1, stdout: `${r.stdout}`, stderr: `${r.stderr}` };
    },
    async close(): Promise<void> {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
