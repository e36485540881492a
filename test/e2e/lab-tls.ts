import { spawn } from "node:child_process";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inNode } from "../lab/lab.mjs";

/**
 * Re-signs a certificate on a lab node with the same key, subject and extensions but only `days` of
 * validity left (real openssl, so every tool reads it as it would read an ageing certificate).
 */
export async function ageCertificate(
  node: string,
  crt: string,
  key: string,
  ca: { crt: string; key: string } | undefined,
  days: number,
): Promise<void> {
  const csr = `${crt}.age.csr`;
  const steps: string[][] = [
    ["openssl", "x509", "-x509toreq", "-in", crt, "-signkey", key, "-copy_extensions", "copyall", "-out", csr],
    ca
      ? [
          "openssl",
          "x509",
          "-req",
          "-in",
          csr,
          "-CA",
          ca.crt,
          "-CAkey",
          ca.key,
          "-days",
          String(days),
          "-copy_extensions",
          "copyall",
          "-out",
          crt,
        ]
      : [
          "openssl",
          "x509",
          "-req",
          "-in",
          csr,
          "-signkey",
          key,
          "-days",
          String(days),
          "-copy_extensions",
          "copyall",
          "-out",
          crt,
        ],
    ["rm", "-f", csr],
  ];
  for (const argv of steps) {
    const r = await inNode(node, argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")} on ${node}: ${r.stderr}`);
  }
}

/** Whole days until the certificate a TLS port serves expires, read with openssl from inside a node. */
export async function servedDaysLeft(fromNode: string, address: string, port: number): Promise<number> {
  const r = await inNode(fromNode, [
    "sh",
    "-c",
    `openssl s_client -connect ${address}:${port} </dev/null 2>/dev/null | openssl x509 -noout -enddate`,
  ]);
  const m = /notAfter=(.+)/.exec(r.stdout);
  if (!m?.[1]) throw new Error(`no certificate served on ${address}:${port}: ${r.stdout}${r.stderr}`);
  return Math.floor((Date.parse(m[1]) - Date.now()) / 86_400_000);
}

export interface RequestLoop {
  stop(): Promise<{ ok: number; failed: number; errors: string[] }>;
}

/**
 * GET https://host:port/livez every `intervalMs` on a new connection each time, at most `max` requests;
 * counts answers other than 200 and connection errors as failures. Each error says when it happened and
 * how far the request got (TCP connected, TLS done with which API server: its certificate names the
 * node's address), so a failure tells the load balancer, the VIP and the API server apart.
 */
export function requestLoop(host: string, port: number, intervalMs = 100, max = 6000, timeoutMs = 5000): RequestLoop {
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      let stage = "before connect";
      const fail = (what: string): void => {
        failed += 1;
        errors.push(`${new Date().toISOString()} ${what} (${stage})`);
        resolve();
      };
      const req = request(
        { host, port, path: "/livez", method: "GET", rejectUnauthorized: false, agent: false, timeout: timeoutMs },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode ?? "?"}`);
            ok += 1;
            resolve();
          });
        },
      );
      req.on("socket", (socket: TLSSocket) => {
        socket.on("connect", () => (stage = "tcp connected"));
        socket.on(
          "secureConnect",
          () =>
            (stage = `tls done with ${/IP Address:([\d.]+)/.exec(socket.getPeerCertificate().subjectaltname ?? "")?.[1] ?? "?"}`),
        );
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
      req.end();
    });
  const done = (async () => {
    for (let i = 0; running && i < max; i++) {
      await one();
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { ok, failed, errors };
    },
  };
}

const bin = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "hactl");

/** Starts hactl and sends it SIGINT (a Ctrl-C) once its stdout matches `when`; resolves with its exit code and output. */
export function hactlInterrupted(
  dir: string,
  args: readonly string[],
  when: RegExp,
): Promise<{ code: number; stdout: string; stderr: string; interrupted: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (!interrupted && when.test(stdout)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout, stderr, interrupted });
    });
  });
}

/** A request of `requestLoop` that the peer reset (what a VIP move does to a connection in flight). */
export const isReset = (error: string): boolean => / ECONNRESET \(/.test(error);

/**
 * A request of `requestLoop` lost to a VIP move: reset by the new holder, or, when its packets still went to
 * the old holder after that one had dropped the address (it discards them and sends no reset), connected (TCP
 * alone, or with TLS already done through the old holder's haproxy) and then never answered. The CA rotations
 * count these against the VIP moves they watched: at most one each.
 */
export const isLostAtVipMove = (error: string): boolean =>
  isReset(error) || / no answer within \d+ ms \((tcp connected|tls done with [\d.]+)\)$/.test(error);
