/**
 * Cross-field rules of cluster.yaml: what zod cannot see field by field. Node-list rules read the raw
 * document defensively so they still run when another field is invalid; the rest need a parsed spec.
 */
import { isRecord, type PathSegment, type ProblemDraft } from "./problems.js";
import { clusterSpecBodySchema, nodeSchema, PATTERNS, type ClusterSpec } from "./schema.js";
import { gatewayRules } from "./gateway-rules.js";
import { storageRules } from "./storage-rules.js";
import type { SpecParts } from "./spec-parts.js";

const DISTRO_API_PORT = { microk8s: 16443, kubeadm: 6443 } as const;

function err(segments: readonly PathSegment[], text: string, fix: string): ProblemDraft {
  return { severity: "error", segments, text, fix };
}

function warn(segments: readonly PathSegment[], text: string, fix: string): ProblemDraft {
  return { severity: "warning", segments, text, fix };
}

export function ipv4ToInt(address: string): number | undefined {
  if (!PATTERNS.IPV4.test(address)) return undefined;
  return address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

function cidrRange(cidr: string): { start: number; end: number } | undefined {
  const [ip, bits] = cidr.split("/");
  const base = ip === undefined ? undefined : ipv4ToInt(ip);
  const n = Number(bits);
  if (base === undefined || !Number.isInteger(n)) return undefined;
  const size = 2 ** (32 - n);
  const start = Math.floor(base / size) * size;
  return { start, end: start + size - 1 };
}

/**
 * Why an IPv4 address cannot be a machine's or a VIP's address (this host, loopback, multicast,
 * reserved, broadcast), or undefined when it can be.
 */
export function unusableAddress(address: string): string | undefined {
  const n = ipv4ToInt(address);
  if (n === undefined) return undefined;
  const first = Math.floor(n / 2 ** 24);
  if (first === 0) return 'is in 0.0.0.0/8 ("this host"), not an address a machine can be reached on';
  if (first === 127) return "is a loopback address: every machine would be talking to itself";
  if (first >= 224 && first <= 239) return "is a multicast address";
  if (first >= 240) return "is a reserved or broadcast address";
  return undefined;
}

function sameSlash24(a: string, b: string): boolean {
  const x = ipv4ToInt(a);
  const y = ipv4ToInt(b);
  return x !== undefined && y !== undefined && Math.floor(x / 256) === Math.floor(y / 256);
}

interface RawNode {
  index: number;
  name?: string;
  address?: string;
  role?: string;
}

/** Rules over spec.nodes that hold even when other fields are broken. */
export function nodeListRules(document: unknown): ProblemDraft[] {
  if (!isRecord(document) || !isRecord(document.spec) || !Array.isArray(document.spec.nodes)) return [];
  const spec = document.spec;
  const list: unknown[] = spec.nodes as unknown[];
  const nodes: RawNode[] = list.map((n, index) => {
    if (!isRecord(n)) return { index };
    return {
      index,
      name: typeof n.name === "string" ? n.name : undefined,
      address: typeof n.address === "string" ? n.address : undefined,
      role: typeof n.role === "string" ? n.role : undefined,
    };
  });
  const out: ProblemDraft[] = [];

  const seenNames = new Map<string, number>();
  const seenAddresses = new Map<string, number>();
  for (const n of nodes) {
    if (n.name !== undefined) {
      const first = seenNames.get(n.name.toLowerCase());
      if (first !== undefined) {
        out.push(
          err(
            ["spec", "nodes", n.index, "name"],
            `${JSON.stringify(n.name)} is already the name of spec.nodes[${first}]`,
            "give every node its own name, e.g. node-4",
          ),
        );
      } else seenNames.set(n.name.toLowerCase(), n.index);
    }
    const unusable = n.address === undefined ? undefined : unusableAddress(n.address);
    if (unusable) {
      out.push(
        err(
          ["spec", "nodes", n.index, "address"],
          `${n.address ?? ""} ${unusable}`,
          "use the address the other nodes reach this server on (ip -4 addr on the server shows it)",
        ),
      );
    }
    if (n.address !== undefined) {
      const first = seenAddresses.get(n.address.toLowerCase());
      if (first !== undefined) {
        out.push(
          err(
            ["spec", "nodes", n.index, "address"],
            `${JSON.stringify(n.address)} is already the address of spec.nodes[${first}]`,
            "every node needs its own address; remove the duplicate entry or correct the address",
          ),
        );
      } else seenAddresses.set(n.address.toLowerCase(), n.index);
    }
  }

  const rolesKnown = nodes.every((n) => n.role === "control-plane" || n.role === "worker");
  if (list.length > 0 && rolesKnown) {
    const controlPlanes = nodes.filter((n) => n.role === "control-plane").length;
    if (controlPlanes < 3) {
      out.push(
        err(
          ["spec", "nodes"],
          `has ${controlPlanes} control-plane node(s); a highly available cluster needs at least 3`,
          `add control-plane nodes (3 or 5 in total), or set role: control-plane on workers`,
        ),
      );
    } else if (controlPlanes % 2 === 0) {
      out.push(
        warn(
          ["spec", "nodes"],
          `has ${controlPlanes} control-plane nodes; an even count survives no more failures than ${controlPlanes - 1} (quorum needs a majority)`,
          `use an odd number of control-plane nodes (3, 5, 7): add one, or make one a worker`,
        ),
      );
    }
  }

  const ha = spec.ha;
  if (isRecord(ha) && ha.enabled === true && list.length < 3) {
    out.push(
      err(
        ["spec", "ha", "enabled"],
        `HA mode needs at least 3 nodes (the file has ${list.length})`,
        "add nodes to spec.nodes, or set ha.enabled: false",
      ),
    );
  }
  return out;
}

export function partsOf(cluster: ClusterSpec): SpecParts {
  return { ...cluster.spec, allNodes: true, clusterName: cluster.metadata.name };
}

/** Parses each section of a raw document on its own. */
export function partsFromRaw(document: unknown): SpecParts {
  const spec = isRecord(document) && isRecord(document.spec) ? document.spec : {};
  const shape = clusterSpecBodySchema.shape;
  const rawNodes: unknown[] = Array.isArray(spec.nodes) ? (spec.nodes as unknown[]) : [];
  const nodes = rawNodes.flatMap((n) => {
    const r = nodeSchema.safeParse(n);
    return r.success ? [r.data] : [];
  });
  const section = <T>(
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
    value: unknown,
  ): T | undefined => {
    const r = schema.safeParse(value);
    return r.success ? r.data : undefined;
  };
  return {
    nodes,
    allNodes: Array.isArray(spec.nodes) && nodes.length === rawNodes.length,
    distribution: section(shape.distribution, spec.distribution),
    loadBalancer: section(shape.loadBalancer, spec.loadBalancer),
    autoscaling: section(shape.autoscaling, spec.autoscaling),
    linkerd: section(shape.linkerd, spec.linkerd),
    app: section(shape.app, spec.app),
    replicas: section(shape.replicas, spec.replicas),
    ha: section(shape.ha, spec.ha),
    ...(isRecord(document) && isRecord(document.metadata) && typeof document.metadata.name === "string"
      ? { clusterName: document.metadata.name }
      : {}),
    deploy: section(shape.deploy, spec.deploy),
    storage: section(shape.storage, spec.storage),
  };
}

/** Rules that need parsed sections; each runs when the sections it reads parsed. */
export function specRules(parts: SpecParts): ProblemDraft[] {
  return [
    ...loadBalancerRules(parts),
    ...gatewayRules(parts, unusableAddress),
    ...kubeadmRules(parts),
    ...appRules(parts),
    ...deployRules(parts),
    ...storageRules(parts),
  ];
}

function loadBalancerRules(spec: SpecParts): ProblemDraft[] {
  const lb = spec.loadBalancer;
  const distribution = spec.distribution;
  if (!lb || !distribution || !spec.allNodes) return [];
  const out: ProblemDraft[] = [];
  const lbPath = ["spec", "loadBalancer"];
  const controlPlanes = spec.nodes.filter((n) => n.role === "control-plane");
  const nodeAddresses = new Map(spec.nodes.map((n, i) => [n.address.toLowerCase(), i]));
  const nodeNames = new Map(spec.nodes.map((n, i) => [n.name, i]));
  const externalHosts = lb.external?.hosts ?? [];

  // VIP presence
  if (lb.vip === undefined) {
    if (lb.mode === "keepalived-haproxy") {
      out.push(
        err(
          lbPath,
          "vip is required when mode is keepalived-haproxy",
          "add vip: with a free address on the control-plane nodes' network, e.g. vip: 10.0.0.100",
        ),
      );
    } else if (lb.mode === "external" && externalHosts.length === 2) {
      out.push(
        err(
          lbPath,
          "vip is required when mode is external with two load-balancer hosts (keepalived moves it between them)",
          "add vip: with a free address on the load-balancer hosts' network, e.g. vip: 10.0.0.100",
        ),
      );
    }
  }

  // VIP placement
  if (lb.vip !== undefined && lb.mode !== "none") {
    const vipPath = [...lbPath, "vip"];
    const clash = nodeAddresses.get(lb.vip);
    const lbClash = externalHosts.findIndex((h) => h.address === lb.vip);
    const unusable = unusableAddress(lb.vip);
    if (unusable) {
      out.push(
        err(
          vipPath,
          `${lb.vip} ${unusable}`,
          "pick a free unicast address on the control-plane nodes' network, e.g. 10.0.0.100",
        ),
      );
    } else if (clash !== undefined) {
      out.push(
        err(
          vipPath,
          `${lb.vip} is the address of spec.nodes[${clash}]; the VIP must be an unused address`,
          "pick a free address in the same subnet, e.g. one no machine answers ping on",
        ),
      );
    } else if (lbClash >= 0) {
      out.push(
        err(
          vipPath,
          `${lb.vip} is the address of spec.loadBalancer.external.hosts[${lbClash}]; the VIP must be an unused address`,
          "pick a free address in the same subnet",
        ),
      );
    } else {
      const holders =
        lb.mode === "external" ? externalHosts.map((h) => h.address) : controlPlanes.map((n) => n.address);
      const ipv4Holders = holders.filter((a) => ipv4ToInt(a) !== undefined);
      if (ipv4Holders.length > 0 && !ipv4Holders.some((a) => sameSlash24(a, lb.vip ?? ""))) {
        const who = lb.mode === "external" ? "load-balancer host" : "control-plane node";
        out.push(
          warn(
            vipPath,
            `${lb.vip} is not in the /24 of any ${who} (${ipv4Holders.slice(0, 3).join(", ")}); VRRP only moves a VIP within the holders' subnet`,
            `use an address on the ${who}s' network, or ignore this if that network is larger than /24`,
          ),
        );
      }
    }
  }

  // external mode
  if (lb.mode === "external") {
    if (!lb.external) {
      out.push(
        err(
          lbPath,
          "mode external needs an external: block with 1 or 2 hosts and the ports to forward",
          "add external: { engine: nginx, hosts: [{ name: lb-1, address: 10.0.0.5 }], ports: [{ port: 80 }] }",
        ),
      );
    } else {
      const extPath = [...lbPath, "external"];
      if (lb.external.hosts.length === 0) {
        out.push(
          err(
            [...extPath, "hosts"],
            "needs 1 or 2 load-balancer hosts (got 0)",
            "add hosts: [{ name: lb-1, address: 10.0.0.5 }]",
          ),
        );
      }
      if (lb.external.ports.length === 0) {
        out.push(
          err(
            [...extPath, "ports"],
            "lists no ports to forward; the API port is added by hactl, the application ports must be listed",
            "add ports: [{ port: 80 }, { port: 443 }]",
          ),
        );
      }
      const seenPorts = new Map<string, number>();
      lb.external.ports.forEach((p, i) => {
        const k = `${p.port}/${p.protocol}`;
        const first = seenPorts.get(k);
        if (first !== undefined)
          out.push(
            err(
              [...extPath, "ports", i, "port"],
              `${k} is already listed at ports[${first}]`,
              "remove the duplicate entry",
            ),
          );
        else seenPorts.set(k, i);
        if (p.port === lb.apiPort && p.protocol === "tcp") {
          out.push(
            err(
              [...extPath, "ports", i, "port"],
              `${p.port}/tcp is the API port (loadBalancer.apiPort), which hactl forwards itself`,
              "remove this entry, or change loadBalancer.apiPort",
            ),
          );
        }
      });
      const seenHostNames = new Map<string, number>();
      const seenHostAddresses = new Map<string, number>();
      externalHosts.forEach((h, i) => {
        const hostPath = [...extPath, "hosts", i];
        const sameName = nodeNames.get(h.name);
        if (sameName !== undefined)
          out.push(
            err(
              [...hostPath, "name"],
              `${JSON.stringify(h.name)} is already the name of spec.nodes[${sameName}]`,
              "load-balancer hosts are separate machines: give them their own names, e.g. lb-1",
            ),
          );
        else if (seenHostNames.has(h.name))
          out.push(
            err(
              [...hostPath, "name"],
              `${JSON.stringify(h.name)} is used by two load-balancer hosts`,
              "give each host its own name",
            ),
          );
        seenHostNames.set(h.name, i);
        const sameAddress = nodeAddresses.get(h.address.toLowerCase());
        if (sameAddress !== undefined)
          out.push(
            err(
              [...hostPath, "address"],
              `${h.address} is already the address of spec.nodes[${sameAddress}]`,
              "load-balancer hosts must be separate machines; use mode keepalived-haproxy to balance on the nodes themselves",
            ),
          );
        else if (seenHostAddresses.has(h.address.toLowerCase()))
          out.push(
            err(
              [...hostPath, "address"],
              `${h.address} is used by two load-balancer hosts`,
              "give each host its own address",
            ),
          );
        seenHostAddresses.set(h.address.toLowerCase(), i);
      });
    }
  } else if (lb.external) {
    out.push(
      warn(
        [...lbPath, "external"],
        `is ignored because mode is ${lb.mode}`,
        "remove the external: block, or set mode: external",
      ),
    );
  }

  // Ports used on the balancing machines must not collide.
  if (lb.mode === "keepalived-haproxy") {
    const apiServerPort = DISTRO_API_PORT[distribution.type];
    if (lb.apiPort === apiServerPort) {
      out.push(
        err(
          [...lbPath, "apiPort"],
          `${lb.apiPort} is the ${distribution.type} API server's own port on every control-plane node, where haproxy also runs`,
          "keep the default apiPort: 7443",
        ),
      );
    }
    const used: { name: string; port: number; path: PathSegment[] }[] = [
      { name: "apiPort", port: lb.apiPort, path: [...lbPath, "apiPort"] },
    ];
    if (lb.web.enabled) used.push({ name: "web.port", port: lb.web.port, path: [...lbPath, "web", "port"] });
    if (lb.stats.enabled) used.push({ name: "stats.port", port: lb.stats.port, path: [...lbPath, "stats", "port"] });
    for (let i = 1; i < used.length; i++) {
      const cur = used[i];
      const prev = cur ? used.slice(0, i).find((u) => u.port === cur.port) : undefined;
      if (cur && prev)
        out.push(
          err(
            cur.path,
            `${cur.port} is also loadBalancer.${prev.name}; each listener needs its own port`,
            `choose another port for ${cur.name}`,
          ),
        );
    }
  }
  if (lb.stats.enabled && !lb.stats.password) {
    out.push(
      warn(
        [...lbPath, "stats"],
        "the stats page is enabled without a password",
        "add password: { env: HACTL_STATS_PASSWORD }",
      ),
    );
  }
  if (lb.unicast && lb.mode === "none") {
    out.push(
      warn([...lbPath, "unicast"], "has no effect when mode is none", "remove unicast, or choose a load-balancer mode"),
    );
  }

  return out;
}

function kubeadmRules(spec: SpecParts): ProblemDraft[] {
  const out: ProblemDraft[] = [];
  if (spec.distribution?.type === "kubeadm") {
    const dist = spec.distribution;
    const pods = cidrRange(dist.podNetworkCidr);
    const services = dist.serviceCidr ? cidrRange(dist.serviceCidr) : cidrRange("10.96.0.0/12");
    if (pods && services && pods.start <= services.end && services.start <= pods.end) {
      out.push(
        err(
          ["spec", "distribution", dist.serviceCidr ? "serviceCidr" : "podNetworkCidr"],
          `the pod network ${dist.podNetworkCidr} overlaps the service network ${dist.serviceCidr ?? "10.96.0.0/12 (kubeadm's default)"}`,
          "choose networks that do not overlap, e.g. podNetworkCidr: 10.244.0.0/16 with serviceCidr: 10.96.0.0/12",
        ),
      );
    }
    if (pods) {
      spec.nodes.forEach((n, i) => {
        const a = ipv4ToInt(n.address);
        if (a !== undefined && a >= pods.start && a <= pods.end) {
          out.push(
            err(
              ["spec", "nodes", i, "address"],
              `${n.address} lies inside the pod network ${dist.podNetworkCidr}`,
              "choose a podNetworkCidr that does not contain the nodes' addresses",
            ),
          );
        }
      });
    }
  }

  return out;
}

function appRules(spec: SpecParts): ProblemDraft[] {
  const out: ProblemDraft[] = [];
  const auto = spec.autoscaling;
  if (auto && auto.minReplicas > auto.maxReplicas) {
    out.push(
      err(
        ["spec", "autoscaling", "maxReplicas"],
        `${auto.maxReplicas} is less than minReplicas (${auto.minReplicas})`,
        `set maxReplicas to at least ${auto.minReplicas}`,
      ),
    );
  }
  if (auto?.enabled && spec.linkerd && !spec.linkerd.enabled) {
    out.push(
      warn(
        ["spec", "autoscaling", "enabled"],
        "autoscaling needs Linkerd, so hactl will turn Linkerd on as well (linkerd.enabled is false)",
        "set linkerd.enabled: true to say so in the file",
      ),
    );
  }
  if (spec.linkerd?.cli && spec.distribution?.type === "microk8s") {
    out.push(
      warn(
        ["spec", "linkerd", "cli"],
        "MicroK8s brings Linkerd with its own addon (microk8s enable linkerd), so this CLI is not used",
        "remove linkerd.cli, or keep it for a kubeadm cluster only",
      ),
    );
  }
  const app = spec.app;
  if (app && app.services.length > 0 && spec.replicas) {
    const services = new Set(app.services);
    for (const name of Object.keys(spec.replicas)) {
      if (!services.has(name))
        out.push(
          warn(
            ["spec", "replicas", name],
            `${JSON.stringify(name)} is not one of app.services (${app.services.join(", ")})`,
            "remove the entry, or add the service to app.services",
          ),
        );
    }
  }
  if (spec.ha?.enabled && spec.allNodes && spec.ha.systemReplicas > spec.nodes.length) {
    out.push(
      warn(
        ["spec", "ha", "systemReplicas"],
        `${spec.ha.systemReplicas} replicas cannot be spread over ${spec.nodes.length} nodes`,
        `use at most ${spec.nodes.length}, or add nodes`,
      ),
    );
  }
  return out;
}

/** spec.deploy: each item is either manifests or a chart, names are unique, kubeadm charts need a helm binary. */
function deployRules(spec: SpecParts): ProblemDraft[] {
  const out: ProblemDraft[] = [];
  const seen = new Map<string, number>();
  (spec.deploy ?? []).forEach((item, i) => {
    const at = ["spec", "deploy", i];
    const first = seen.get(item.name);
    if (first !== undefined)
      out.push(
        err(
          [...at, "name"],
          `${JSON.stringify(item.name)} is already the name of spec.deploy[${first}]`,
          "give each item its own name",
        ),
      );
    else seen.set(item.name, i);
    if (item.manifests && item.chart) {
      out.push(
        err(
          at,
          "has both manifests and chart; an item is one or the other",
          "split it into two items, one with manifests: and one with chart:",
        ),
      );
      return;
    }
    if (!item.manifests && !item.chart) {
      out.push(
        err(
          at,
          "has neither manifests nor chart",
          "add manifests: [./k8s/app.yaml] or chart: ./charts/app.tgz with namespace:",
        ),
      );
      return;
    }
    if (item.manifests) {
      for (const field of ["values", "secretValues", "release"] as const) {
        if (item[field] !== undefined)
          out.push(
            err(
              [...at, field],
              `${field} belongs to a Helm chart item, and this item has manifests`,
              `remove ${field}, or use chart: instead of manifests:`,
            ),
          );
      }
      return;
    }
    if (!item.namespace) out.push(err(at, "a chart item needs a namespace", `add namespace: ${item.name}`));
    if (spec.distribution?.type === "kubeadm" && !spec.distribution.helm) {
      out.push(
        err(
          ["spec", "distribution"],
          `spec.deploy[${i}] is a Helm chart, and a kubeadm cluster has no helm of its own`,
          "add helm: ~/bin/helm (a helm binary on this machine, uploaded to the control plane) under spec.distribution",
        ),
      );
    }
  });
  return out;
}
