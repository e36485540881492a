import { parse } from "yaml";

/**
 * The API proxy of a MicroK8s worker (snap service `apiserver-proxy`): kubelet and kube-proxy on a
 * worker reach the API through it on 127.0.0.1:16443, and it forwards to the servers listed in
 * provider.yaml. Unless its `--refresh-interval` is 0 it rewrites that list from the cluster's
 * control planes; MicroK8s' clustering guide says to put the load balancer there instead and set 0.
 */
export const PROVIDER_FILE = "/var/snap/microk8s/current/args/traefik/provider.yaml";
export const PROXY_ARGS_FILE = "/var/snap/microk8s/current/args/apiserver-proxy";
export const PROXY_SERVICE = "snap.microk8s.daemon-apiserver-proxy";

/** provider.yaml with exactly these `host:port` servers, as MicroK8s' join writes it (PyYAML's dump). */
export function renderProvider(servers: readonly string[]): string {
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

/** The servers provider.yaml lists; undefined when the file is not a provider file of that shape. */
export function providerServers(text: string): string[] | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  const servers = dig(doc, ["tcp", "services", "kube-apiserver", "loadBalancer", "servers"]);
  if (!Array.isArray(servers)) return undefined;
  const out: string[] = [];
  for (const s of servers) {
    const address = dig(s, ["address"]);
    if (typeof address !== "string") return undefined;
    out.push(address);
  }
  return out;
}

function dig(value: unknown, path: readonly string[]): unknown {
  let cur = value;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

const REFRESH = /^\s*--refresh-interval(?:=|\s+)(\S*)\s*$/;

/** The `--refresh-interval` value of the apiserver-proxy args file; undefined when the line is missing. */
export function refreshInterval(args: string): string | undefined {
  for (const line of args.split("\n")) {
    const m = REFRESH.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** A Go duration that is zero: "0", "0s", "0m0s", "0.0s". */
export function isZeroDuration(value: string | undefined): boolean {
  return value !== undefined && /^(0+(\.0+)?(ns|us|µs|ms|s|m|h)?)+$/.test(value);
}

/** The args file with `--refresh-interval 0s` (the value MicroK8s' join message names), every other line kept. */
export function withRefreshDisabled(args: string): string {
  const lines = args.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const at = lines.findIndex((l) => REFRESH.test(l));
  const kept = lines
    .filter((l, i) => i === at || !REFRESH.test(l))
    .map((l) => (REFRESH.test(l) ? "--refresh-interval 0s" : l));
  return [...kept, ...(at < 0 ? ["--refresh-interval 0s"] : []), ""].join("\n");
}

/** Whether a worker's proxy already sends everything to `endpoint` and never rewrites that. */
export function proxyPointsAt(provider: string | undefined, args: string | undefined, endpoint: string): boolean {
  const servers = provider === undefined ? undefined : providerServers(provider);
  return (
    servers?.length === 1 && servers[0] === endpoint && args !== undefined && isZeroDuration(refreshInterval(args))
  );
}
