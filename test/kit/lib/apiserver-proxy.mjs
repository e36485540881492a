// The MicroK8s worker's `apiserver-proxy` stand-in (snap service snap.microk8s.daemon-apiserver-proxy):
// a TCP pass-through on 127.0.0.1:16443 to the servers listed in $SNAP_DATA/args/traefik/provider.yaml,
// trying them in order. Unless `--refresh-interval` in $SNAP_DATA/args/apiserver-proxy is 0 it rewrites
// that list every interval from the cluster's control-plane nodes, as the real proxy does.
import fs from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { SNAP_DIR, sleep, writeFileAtomic } from "./util.mjs";

export const PROVIDER_FILE = `${SNAP_DIR}/args/traefik/provider.yaml`;
export const PROXY_ARGS_FILE = `${SNAP_DIR}/args/apiserver-proxy`;
export const PROXY_UNIT = "snap.microk8s.daemon-apiserver-proxy";
/** MicroK8s' default-args/apiserver-proxy. */
export const DEFAULT_PROXY_ARGS =
  "--traefik-config ${SNAP_DATA}/args/traefik/traefik.yaml\n--kubeconfig ${SNAP_DATA}/credentials/kubelet.config\n--refresh-interval 30s\n";

/** provider.yaml as MicroK8s' join writes it (PyYAML's dump of provider-template.yaml with the servers). */
export function renderProvider(/** @type {string[]} */ servers) {
  return [
    "tcp:",
    "  routers:",
    "    Router-1:",
    "      rule: HostSNI(`*`)",
    "      service: kube-apiserver",
    "      tls:",
    "        passthrough: true",
    "  services:",
    "    kube-apiserver:",
    "      loadBalancer:",
    "        servers:",
    ...servers.map((s) => `        - address: ${s}`),
    "",
  ].join("\n");
}

/** The servers of provider.yaml (the yaml package: any valid YAML spelling of that shape works). */
export async function providerServers() {
  const yaml = (await import("yaml")).default;
  const doc = yaml.parse(fs.readFileSync(PROVIDER_FILE, "utf8"));
  const servers = doc?.tcp?.services?.["kube-apiserver"]?.loadBalancer?.servers;
  if (!Array.isArray(servers))
    throw new Error(`${PROVIDER_FILE}: no tcp.services.kube-apiserver.loadBalancer.servers list`);
  return servers.map((/** @type {any} */ s) => String(s.address));
}

/** Milliseconds of a Go duration ("30s", "5m", "1h30m", "0", "0s"); NaN when it is not one. */
export function goDurationMs(/** @type {string} */ text) {
  if (/^0+$/.test(text)) return 0;
  const units = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.map((p) => p[0]).join("") !== text || parts.length === 0) return Number.NaN;
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[/** @type {keyof typeof units} */ (p[2])], 0);
}

/** The proxy's `--refresh-interval` in ms (MicroK8s' flag default, 30s, when the line is missing). */
export function refreshIntervalMs() {
  const args = fs.existsSync(PROXY_ARGS_FILE) ? fs.readFileSync(PROXY_ARGS_FILE, "utf8") : "";
  const m = /^\s*--refresh-interval(?:=|\s+)(\S+)\s*$/m.exec(args);
  return goDurationMs(m?.[1] ?? "30s");
}

function log(/** @type {string} */ msg) {
  process.stdout.write(`${new Date().toISOString()} apiserver-proxy: ${msg}\n`);
}

/** Connect to the first server that accepts within a second. @returns {Promise<net.Socket | undefined>} */
async function upstream(/** @type {string[]} */ servers) {
  for (const s of servers) {
    const i = s.lastIndexOf(":");
    const sock = await new Promise((resolve) => {
      const c = net.connect({ host: s.slice(0, i), port: Number(s.slice(i + 1)), timeout: 1000 });
      c.once("connect", () => {
        c.setTimeout(0);
        resolve(c);
      });
      c.once("timeout", () => {
        c.destroy();
        resolve(undefined);
      });
      c.once("error", () => resolve(undefined));
    });
    if (sock) return /** @type {net.Socket} */ (sock);
  }
  return undefined;
}

async function refreshLoop(/** @type {number} */ everyMs) {
  for (;;) {
    await sleep(everyMs);
    try {
      const [{ Etcd, knownEndpoints }, { listNodes }] = await Promise.all([
        import("./etcd.mjs"),
        import("./store.mjs"),
      ]);
      const nodes = await listNodes(new Etcd(knownEndpoints(), { perRequestMs: 1500, budgetMs: 2500 }));
      const servers = nodes
        .filter((n) => n.role === "control-plane")
        .map((n) => `${n.address}:16443`)
        .sort();
      if (servers.length && JSON.stringify(servers) !== JSON.stringify(await providerServers().catch(() => []))) {
        writeFileAtomic(PROVIDER_FILE, renderProvider(servers), 0o660);
        log(`endpoints refreshed: ${servers.join(", ")}`);
      }
    } catch (e) {
      log(`refresh: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

async function main() {
  const everyMs = refreshIntervalMs();
  if (Number.isNaN(everyMs)) throw new Error(`${PROXY_ARGS_FILE}: --refresh-interval is not a duration`);
  log(
    `listening on 127.0.0.1:16443, servers ${(await providerServers()).join(", ")}, refresh ${everyMs ? `every ${everyMs} ms` : "off"}`,
  );
  const server = net.createServer((client) => {
    client.pause();
    client.on("error", () => {});
    void (async () => {
      const up = await upstream(await providerServers().catch(() => []));
      if (!up) return client.destroy();
      up.on("error", () => client.destroy());
      client.on("close", () => up.destroy());
      client.pipe(up).pipe(client);
      client.resume();
    })();
  });
  server.listen(16443, "127.0.0.1");
  process.on("SIGTERM", () => process.exit(0));
  if (everyMs > 0) void refreshLoop(everyMs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
