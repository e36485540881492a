/**
 * Pure renderers from plain load-balancer inputs to the config files one host needs. Nothing here
 * touches a host: installing (in array order), validating with `validate` and reloading belong to the
 * caller. Secrets in the inputs (VRRP and stats passwords) are registered for redaction.
 */
import { registerSecret } from "../core/secrets.js";
import { HactlError } from "../core/errors.js";
import {
  checkAddress,
  checkIPv4,
  checkInt,
  checkInterface,
  checkName,
  checkPort,
  checkUnique,
  checkWord,
  endpoint,
} from "./check-input.js";
import { renderTemplate, type TemplateContext } from "./template.js";
import { templateSource, type TemplateName, type TemplateSource } from "./template-source.js";

export interface LbNode {
  /** Node name from cluster.yaml; used as haproxy server name and keepalived router_id. */
  name: string;
  /** IP address (or, outside VRRP, a resolvable hostname). */
  address: string;
}

export interface KeepalivedHaproxyInput {
  clusterName: string;
  /** The virtual IPv4 address keepalived moves between control-plane nodes. */
  vip: string;
  /** Network interface that carries the VIP on every control-plane node. */
  interface: string;
  /** VRRP group id, 1-255, unique within the subnet. */
  virtualRouterId: number;
  /** Talk VRRP to the peers by unicast (for networks without multicast). */
  unicast: boolean;
  /** Port haproxy listens on at the VIP, e.g. 7443. */
  apiPort: number;
  /** The API server's own port on each node: 16443 for MicroK8s, 6443 for kubeadm. */
  backendApiPort: number;
  /** All control-plane nodes: haproxy backends and VRRP peers of the API VIP. */
  controlPlanes: LbNode[];
  /** The API backends when not every control plane is in service (one taken out for an upgrade or a renewal); at least one. */
  apiBackends?: LbNode[];
  /** The node being rendered for; one of controlPlanes, or (with web.vip) of web.vip.gateways. */
  self: LbNode;
  /** VRRP priority of this node, 1-254; the first control plane gets the highest. */
  priority: number;
  /** VRRP PASS authentication, at most 8 characters. */
  authPass?: string;
  /**
   * Optional HTTP frontend: balance leastconn with `HEAD /` health checks, to `nodes`. On the API VIP
   * (every control plane), or with `vip` on a VIP of its own that only the gateway nodes hold and serve.
   */
  web?: { port: number; backendPort: number; nodes: LbNode[]; vip?: WebVipInput };
  /** Optional haproxy status page on every control-plane node. */
  stats?: { port: number; user: string; password: string };
}

/** The web VIP's own VRRP instance on the gateway nodes. */
export interface WebVipInput {
  address: string;
  virtualRouterId: number;
  /** Every gateway node: the VRRP peers of this instance. */
  gateways: LbNode[];
  /** VRRP priority of this node in the web instance, 1-254 (when it is a gateway). */
  priority: number;
}

export interface ExternalPort {
  port: number;
  protocol: "tcp" | "udp";
  backendPort?: number;
  backends?: LbNode[];
  /**
   * The backends are Kubernetes API servers: haproxy checks their readiness (GET /readyz over TLS)
   * instead of a TCP connect. nginx has no active checks and ignores it.
   */
  readyz?: boolean;
}

export interface ExternalLbInput {
  engine: "nginx" | "haproxy";
  /** Used in headers and the VRRP instance name; default "hactl". */
  clusterName?: string;
  /** VIP shared by two LB hosts; without it no keepalived files are rendered. */
  vip?: string;
  interface?: string;
  virtualRouterId?: number;
  unicast?: boolean;
  authPass?: string;
  /** The LB host being rendered for. */
  self: LbNode;
  /** The other LB hosts of the VRRP group. */
  peers: LbNode[];
  priority: number;
  /**
   * Ports to balance; backendPort defaults to port, backends to the top-level list (pass only the
   * control planes for the Kubernetes API port).
   */
  ports: ExternalPort[];
  /** The cluster nodes traffic goes to, unless a port names its own. */
  backends: LbNode[];
}

export interface RenderedConfig {
  /** Absolute path on the target host. */
  path: string;
  content: string;
  /** File mode: 0o600 when the content holds a secret. */
  mode: number;
  /** `user:group` the file must belong to (keepalived refuses scripts others can change). */
  owner: string;
  /** Argv that validates the file at a temporary path given by the "{file}" placeholder. */
  validate: readonly [string, ...string[]];
  /** The service that reads the file and must be reloaded after a change. */
  service: "keepalived" | "haproxy" | "nginx";
  /** True when the content holds a password: never print or log it unredacted. */
  secret: boolean;
}

const ROOT = "root:root";
const CHECK_DIR = "/etc/keepalived";
let defaultSource: TemplateSource | undefined;

function load(source: TemplateSource | undefined, name: TemplateName, context: TemplateContext): string {
  const read = source ?? (defaultSource ??= templateSource());
  const { text, origin } = read(name);
  return renderTemplate(text, context, origin);
}

function file(
  path: string,
  content: string,
  service: RenderedConfig["service"],
  secret: boolean,
  validate: RenderedConfig["validate"],
  mode = secret ? 0o600 : 0o644,
): RenderedConfig {
  return { path, content, mode, owner: ROOT, validate, service, secret };
}

interface VrrpParams {
  clusterName: string;
  vip: string;
  interface: string;
  virtualRouterId: number;
  unicast: boolean;
  self: LbNode;
  peers: LbNode[];
  priority: number;
  authPass?: string;
  tracked: "haproxy" | "nginx";
  probePort: number;
}

/** A second VRRP instance in the same keepalived.conf, tracking the same script (the web VIP on gateway nodes). */
interface ExtraInstance {
  vip: string;
  virtualRouterId: number;
  peers: LbNode[];
  priority: number;
}

/** The track script (first, so it exists when keepalived.conf is validated) and keepalived.conf. */
function renderVrrp(
  p: VrrpParams,
  source: TemplateSource | undefined,
  field: string,
  instances: { api: boolean; web?: ExtraInstance } = { api: true },
): RenderedConfig[] {
  checkIPv4(p.vip, `${field}vip`, "VRRP carries an IPv4 VIP");
  checkInterface(p.interface, `${field}interface`);
  checkInt(p.virtualRouterId, `${field}virtualRouterId`, 1, 255);
  checkInt(p.priority, "priority", 1, 254);
  if (p.authPass !== undefined && p.authPass !== "") {
    checkWord(p.authPass, `${field}authPass`, 8);
    registerSecret(p.authPass);
  }
  const web = instances.web;
  if (web) {
    checkIPv4(web.vip, "web.vip", "VRRP carries an IPv4 VIP");
    checkInt(web.virtualRouterId, "web.virtualRouterId", 1, 255);
    checkInt(web.priority, "web priority", 1, 254);
    if (web.virtualRouterId === p.virtualRouterId) {
      throw new HactlError(
        "SPEC_INVALID",
        `load balancer: web.virtualRouterId ${web.virtualRouterId} is also the API VIP's router id`,
        {
          remedy: "Set loadBalancer.web.virtualRouterId to another id (1-255), or remove it to let hactl derive one.",
        },
      );
    }
  }
  if (p.unicast) {
    checkIPv4(p.self.address, `address of ${p.self.name}`, "VRRP unicast_src_ip");
    for (const peer of [...p.peers, ...(web?.peers ?? [])])
      checkIPv4(peer.address, `address of ${peer.name}`, "VRRP unicast_peer");
  }
  const checkScript = `${CHECK_DIR}/check_${p.tracked}.sh`;
  const scriptTemplate: TemplateName =
    p.tracked === "haproxy" ? "keepalived/check_haproxy.sh.tpl" : "keepalived/check_nginx.sh.tpl";
  const script = load(source, scriptTemplate, { clusterName: p.clusterName, probePort: p.probePort });
  const conf = load(source, "keepalived/keepalived.conf.tpl", {
    clusterName: p.clusterName,
    nodeName: p.self.name,
    vip: p.vip,
    interface: p.interface,
    virtualRouterId: p.virtualRouterId,
    priority: p.priority,
    authPass: p.authPass ?? "",
    unicast: p.unicast && p.peers.length > 0,
    selfAddress: p.self.address,
    peers: p.peers.map((n) => ({ name: n.name, address: n.address })),
    checkScript,
    trackedService: p.tracked,
    api: instances.api,
    web: web
      ? {
          vip: web.vip,
          virtualRouterId: web.virtualRouterId,
          priority: web.priority,
          unicast: p.unicast && web.peers.length > 0,
          peers: web.peers.map((n) => ({ name: n.name, address: n.address })),
        }
      : false,
  });
  const hasSecret = (p.authPass ?? "") !== "";
  return [
    file(checkScript, script, "keepalived", false, ["bash", "-n", "{file}"], 0o755),
    file(`${CHECK_DIR}/keepalived.conf`, conf, "keepalived", hasSecret, ["keepalived", "-t", "-f", "{file}"]),
  ];
}

function checkNodes(nodes: readonly LbNode[], field: string, min = 1): void {
  if (!Array.isArray(nodes) || nodes.length < min) {
    throw new HactlError("SPEC_INVALID", `load balancer: ${field} needs at least ${min} node(s)`, {
      remedy: "List the nodes in cluster.yaml.",
    });
  }
  nodes.forEach((n, i) => {
    checkName(n.name, `${field}[${i}].name`);
    checkAddress(n.address, `${field}[${i}].address`);
  });
  checkUnique(
    nodes.map((n) => n.name),
    `${field} (names)`,
  );
  checkUnique(
    nodes.map((n) => n.address),
    `${field} (addresses)`,
  );
}

function servers(nodes: readonly LbNode[], port: number): TemplateContext[] {
  return nodes.map((n) => ({ name: n.name, endpoint: endpoint(n.address, port) }));
}

/**
 * keepalived-haproxy mode, for one node: check_haproxy.sh, keepalived.conf and haproxy.cfg. A control
 * plane gets the API VIP's VRRP instance and the API frontend; with a web VIP, a gateway node gets the
 * web VIP's instance and the web frontend (a node may be both), and other control planes no web frontend.
 */
export function renderKeepalivedHaproxy(input: KeepalivedHaproxyInput, templates?: TemplateSource): RenderedConfig[] {
  const clusterName = checkName(input.clusterName, "clusterName");
  checkNodes(input.controlPlanes, "controlPlanes");
  const apiPort = checkPort(input.apiPort, "apiPort");
  const backendApiPort = checkPort(input.backendApiPort, "backendApiPort");
  const webVip = input.web?.vip;
  if (webVip) checkNodes(webVip.gateways, "web.vip.gateways");
  const same = (n: LbNode): boolean => n.name === input.self.name && n.address === input.self.address;
  const cpSelf = input.controlPlanes.find(same);
  const gatewaySelf = webVip?.gateways.find(same);
  const self = cpSelf ?? gatewaySelf;
  if (!self) {
    throw new HactlError(
      "INTERNAL",
      `load balancer: node ${JSON.stringify(input.self.name)} is neither a control plane nor a gateway node`,
    );
  }
  const serveWeb = input.web !== undefined && (webVip === undefined || gatewaySelf !== undefined);
  const ports = [apiPort, backendApiPort];
  if (input.web) {
    checkNodes(input.web.nodes, "web.nodes");
    ports.push(checkPort(input.web.port, "web.port"));
    checkPort(input.web.backendPort, "web.backendPort");
    if (webVip && webVip.address === input.vip) {
      throw new HactlError("SPEC_INVALID", `load balancer: web.vip ${webVip.address} is also the API VIP`, {
        remedy: "Give loadBalancer.web.vip an address of its own, or remove it.",
      });
    }
  }
  if (input.stats) {
    ports.push(checkPort(input.stats.port, "stats.port"));
    checkWord(input.stats.user, "stats.user", 64, ":");
    checkWord(input.stats.password, "stats.password", 128);
    registerSecret(input.stats.password);
  }
  checkUnique(ports.map(String), "ports (apiPort, backendApiPort, web.port, stats.port)");
  if (input.apiBackends !== undefined) checkNodes(input.apiBackends, "apiBackends");
  const vrrp = renderVrrp(
    {
      clusterName,
      vip: input.vip,
      interface: input.interface,
      virtualRouterId: input.virtualRouterId,
      unicast: input.unicast,
      self,
      peers: input.controlPlanes.filter((n) => n !== self),
      priority: input.priority,
      authPass: input.authPass,
      tracked: "haproxy",
      probePort: cpSelf ? apiPort : 0,
    },
    templates,
    "",
    {
      api: cpSelf !== undefined,
      ...(webVip && gatewaySelf
        ? {
            web: {
              vip: webVip.address,
              virtualRouterId: webVip.virtualRouterId,
              peers: webVip.gateways.filter((n) => n !== gatewaySelf),
              priority: webVip.priority,
            },
          }
        : {}),
    },
  );
  const haproxy = load(templates, "haproxy/haproxy.cfg.tpl", {
    clusterName,
    vip: input.vip,
    apiPort,
    servers: servers(input.apiBackends ?? input.controlPlanes, backendApiPort),
    api: cpSelf !== undefined,
    web:
      input.web && serveWeb
        ? {
            bind: webVip?.address ?? input.vip,
            port: input.web.port,
            servers: servers(input.web.nodes, input.web.backendPort),
          }
        : false,
    stats: input.stats ? { port: input.stats.port, user: input.stats.user, password: input.stats.password } : false,
  });
  return [
    ...vrrp,
    file("/etc/haproxy/haproxy.cfg", haproxy, "haproxy", input.stats !== undefined, ["haproxy", "-c", "-f", "{file}"]),
  ];
}

/**
 * external mode, for one LB host: nginx.conf (stream) or haproxy.cfg, plus check script and
 * keepalived.conf when the LB hosts share a VIP.
 */
export function renderExternalLb(input: ExternalLbInput, templates?: TemplateSource): RenderedConfig[] {
  const clusterName = checkName(input.clusterName ?? "hactl", "clusterName");
  checkNodes(input.backends, "backends");
  checkNodes([input.self, ...input.peers], "LB hosts");
  if (!Array.isArray(input.ports) || input.ports.length === 0) {
    throw new HactlError("SPEC_INVALID", "load balancer: external mode needs at least one port", {
      remedy: "Add loadBalancer.external.ports in cluster.yaml, e.g. [{ port: 443, protocol: tcp }].",
    });
  }
  const ports = input.ports.map((p, i) => {
    if (p.protocol !== "tcp" && p.protocol !== "udp") {
      throw new HactlError("SPEC_INVALID", `load balancer: ports[${i}].protocol must be tcp or udp`, {
        remedy: "Set protocol: tcp or protocol: udp for this port in loadBalancer.external.ports.",
      });
    }
    if (p.protocol === "udp" && input.engine === "haproxy") {
      throw new HactlError("SPEC_INVALID", `load balancer: haproxy cannot balance UDP (port ${p.port}/udp)`, {
        remedy: "Set loadBalancer.external.engine to nginx, or remove the UDP port.",
      });
    }
    const port = checkPort(p.port, `ports[${i}].port`);
    const backendPort = checkPort(p.backendPort ?? p.port, `ports[${i}].backendPort`);
    if (p.backends !== undefined) checkNodes(p.backends, `ports[${i}].backends`);
    const nodes = p.backends ?? input.backends;
    return {
      name: `${p.protocol}_${port}`,
      port,
      udp: p.protocol === "udp",
      readyz: p.readyz === true && p.protocol === "tcp",
      servers: servers(nodes, backendPort),
    };
  });
  checkUnique(
    ports.map((p) => p.name),
    "ports",
  );
  const probePort = ports.find((p) => !p.udp)?.port ?? 0;
  let vrrp: RenderedConfig[] = [];
  if (input.vip !== undefined) {
    if (input.interface === undefined || input.virtualRouterId === undefined) {
      throw new HactlError(
        "SPEC_INVALID",
        "load balancer: a VIP for the LB hosts needs an interface and a virtualRouterId",
        {
          remedy: "Set loadBalancer.interface and loadBalancer.virtualRouterId in cluster.yaml, or drop the VIP.",
        },
      );
    }
    vrrp = renderVrrp(
      {
        clusterName,
        vip: input.vip,
        interface: input.interface,
        virtualRouterId: input.virtualRouterId,
        unicast: input.unicast ?? false,
        self: input.self,
        peers: input.peers,
        priority: input.priority,
        authPass: input.authPass,
        tracked: input.engine,
        probePort,
      },
      templates,
      "external.",
    );
  }
  if (input.engine === "nginx") {
    const conf = load(templates, "nginx/nginx.conf.tpl", { clusterName, upstreams: ports });
    return [...vrrp, file("/etc/nginx/nginx.conf", conf, "nginx", false, ["nginx", "-t", "-c", "{file}"])];
  }
  const conf = load(templates, "haproxy/haproxy-external.cfg.tpl", { clusterName, frontends: ports });
  return [...vrrp, file("/etc/haproxy/haproxy.cfg", conf, "haproxy", false, ["haproxy", "-c", "-f", "{file}"])];
}
