import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(repo, "bin", "hactl");

export interface HactlRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Contents of every log file this run wrote. */
  log: string;
}

/**
 * The CNI manifest kubeadm lab clusters apply (spec.distribution.cni.manifest): a DaemonSet the kit's
 * kubectl accepts; the lab has no pod network to run.
 */
export const LAB_CNI = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: lab-cni
  namespace: kube-system
spec: {}
`;

/** A scratch directory for one test file: cluster.yaml, kubeconfig and hactl's state and logs. */
export function workdir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `hactl-${prefix}-`));
}

export function writeSpec(dir: string, text: string, name = "cluster.yaml"): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export interface HactlRunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  onStdout?: (chunk: string) => void;
  /** The argv that starts hactl (default: this Node running bin/hactl); the arguments follow it. */
  command?: readonly string[];
}

/** Runs the real hactl binary (built by `npm test`) with its state under `dir`; never throws. */
export function hactl(dir: string, args: readonly string[], opts: HactlRunOptions = {}): Promise<HactlRun> {
  const stateHome = join(dir, "state");
  const [cmd, ...prefix] = opts.command ?? [process.execPath, bin];
  return new Promise((resolve) => {
    const child = spawn(cmd ?? process.execPath, [...prefix, ...args], {
      cwd: dir,
      env: { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: "1", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(d.toString());
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout, stderr, log: readLogs(stateHome) });
    });
  });
}

/**
 * stdout of a read-only report run with --output json, as its one JSON document. It is first handed to
 * `python3 -c 'import json,sys; json.load(sys.stdin)'`, the consumer the issue names, which fails on
 * anything but exactly one document.
 */
export function reportDocument<T>(run: HactlRun): T {
  const check = spawnSync("python3", ["-c", "import json,sys; json.load(sys.stdin)"], {
    input: run.stdout,
    encoding: "utf8",
  });
  if (check.status !== 0)
    throw new Error(`stdout is not one JSON document (python3: ${check.stderr.trim()}):\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

function readLogs(stateHome: string): string {
  const dir = join(stateHome, "hactl", "logs");
  try {
    return readdirSync(dir)
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("\n");
  } catch {
    return "";
  }
}
