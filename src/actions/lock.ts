import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { HactlError } from "../core/errors.js";
import type { RemoteHost } from "../core/host.js";
import type { Reporter } from "../core/output.js";

export const LOCK_PATH = "/var/lib/hactl/cluster.lock";
const HEARTBEAT_MS = 10_000;

/** How long a lock may go without a heartbeat before another run may take it over. */
export function staleSeconds(): number {
  const fromEnv = Number(process.env.HACTL_LOCK_STALE_SECONDS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 60;
}

/**
 * Prints `held <age-seconds>` and the lock's content when it exists, else creates it from stdin
 * (noclobber, so two runs cannot both create it) and prints `acquired`.
 */
const ACQUIRE = [
  `mkdir -p "$(dirname "$1")"`,
  `if ( set -C; cat > "$1" ) 2>/dev/null; then echo acquired; exit 0; fi`,
  `echo "held $(( $(date +%s) - $(stat -c %Y "$1") ))"`,
  `cat "$1"`,
].join("\n");
/**
 * Removes the lock only when it carries the given token: a release never removes a lock taken over by
 * another run, and a takeover removes only the stale lock it looked at.
 */
const REMOVE_IF_TOKEN = `grep -qF "$2" "$1" 2>/dev/null && rm -f "$1"; true`;

export interface ClusterLock {
  release(): Promise<void>;
}

/**
 * A cluster-wide lock file on the first reachable control-plane node: owner, command and a heartbeat
 * (the file's mtime, touched every 10 s). A lock whose heartbeat is older than the staleness window
 * (crashed or killed run) is taken over with a clear message; a live one refuses the run (exit 5).
 */
export async function acquireClusterLock(
  host: RemoteHost,
  command: string,
  reporter: Pick<Reporter, "warn" | "log">,
): Promise<ClusterLock> {
  const token = randomBytes(12).toString("hex");
  const owner = {
    token,
    user: userInfo().username,
    host: hostname(),
    pid: process.pid,
    command,
    startedAt: new Date().toISOString(),
  };
  const content = `${JSON.stringify(owner)}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await host.run({ argv: ["sh", "-c", ACQUIRE, "hactl-lock", LOCK_PATH], sudo: true, stdin: content });
    const [first, ...rest] = res.stdout.split("\n");
    if (first === "acquired") return startHeartbeat(host, token, reporter);
    const age = Number(first?.split(" ")[1] ?? 0);
    const holder = describeHolder(rest.join("\n"));
    if (age < staleSeconds()) {
      throw new HactlError(
        "LOCKED",
        `another hactl run holds the cluster lock on ${host.name}: ${holder}, last heartbeat ${age}s ago`,
        {
          remedy: `Wait for that run to finish. If it crashed, its lock is taken over automatically once it is ${staleSeconds()}s old (or remove ${LOCK_PATH} on ${host.name} if you are sure).`,
        },
      );
    }
    const staleToken = /"token":"([0-9a-f]+)"/.exec(rest.join("\n"))?.[1] ?? "";
    reporter.warn(
      `taking over a stale cluster lock on ${host.name} (${holder}, no heartbeat for ${age}s); that run is assumed dead`,
    );
    await host.run({ argv: ["sh", "-c", REMOVE_IF_TOKEN, "hactl-lock", LOCK_PATH, staleToken], sudo: true });
  }
  throw new HactlError("LOCKED", `could not take the cluster lock on ${host.name}`, {
    remedy: "Run the command again.",
  });
}

function describeHolder(text: string): string {
  try {
    const o = JSON.parse(text) as { user?: string; host?: string; pid?: number; command?: string; startedAt?: string };
    return `'hactl ${o.command ?? "?"}' by ${o.user ?? "?"}@${o.host ?? "?"} (pid ${o.pid ?? "?"}, started ${o.startedAt ?? "?"})`;
  } catch {
    return "an unreadable lock file";
  }
}

function startHeartbeat(host: RemoteHost, token: string, reporter: Pick<Reporter, "log">): ClusterLock {
  const timer = setInterval(() => {
    host
      .exec({ argv: ["touch", "-c", LOCK_PATH], sudo: true })
      .catch((err: unknown) => reporter.log(host.name, `lock heartbeat failed: ${String(err)}`));
  }, HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await host.exec({ argv: ["sh", "-c", REMOVE_IF_TOKEN, "hactl-lock", LOCK_PATH, token], sudo: true });
    },
  };
}
