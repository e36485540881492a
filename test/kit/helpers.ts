// Helpers for the node kit's tests: plain OpenSSH from the workstation namespace, as an operator would.
import { execFile } from "node:child_process";
import https from "node:https";
import { sshArgs } from "../lab/lab.mjs";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a shell command line on a node as root over ssh. */
export function ssh(node: string, command: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      "ssh",
      [...sshArgs(node), command],
      { timeout: opts.timeoutMs ?? 90_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 255) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
    child.stdin?.end(opts.input ?? "");
  });
}

/** Like ssh, but the command must succeed. */
export async function sshOk(
  node: string,
  command: string,
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await ssh(node, command, opts);
  if (r.code !== 0) throw new Error(`[${node}] ${command} -> exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** GET an https URL without verifying the certificate; resolves with the status code, or the error code. */
export function httpsStatus(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** Poll until fn returns true or the time is up. */
export async function eventually(fn: () => Promise<boolean>, ms: number, stepMs = 500): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The application tests seed: namespace `app` with Deployments main, worker, web. */
export const APP_MANIFEST = ["main", "worker", "web"]
  .map(
    (name) => `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: ${name}
        image: registry.example/${name}:1.0
`,
  )
  .join("")
  .replace(/^/, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n");
