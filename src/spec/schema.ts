/**
 * The cluster.yaml contract (apiVersion hactl.dev/v1alpha1, kind Cluster), written once in zod 4.
 * Field names are a contract with users and with every workflow: extend, never rename.
 *
 * Every string that can reach a remote command line or a rendered config file is validated strictly
 * here (names, addresses, users, paths, interfaces, versions), so later code may trust a parsed spec.
 * Cross-field rules (unique names, quorum, VIP placement) live in rules.ts.
 */
import { z } from "zod";
import { DEFAULT_K8S_MINOR } from "./k8s-versions.js";

export const API_VERSION = "hactl.dev/v1alpha1";
export const KIND = "Cluster";

/* ---------- primitive rules, shared with the docs and the problem formatter ---------- */

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** An IPv4 address, or a DNS name that is not all digits and dots (so 10.0.0.300 is not taken for a name). */
const ADDRESS = new RegExp(`^(?:${IPV4.source.slice(1, -1)}|(?![\\d.]+$)${HOSTNAME.source.slice(1, -1)})$`);
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/;
const INTERFACE = /^[a-zA-Z0-9_.:-]{1,15}$/;
const VERSION = /^\d+\.\d+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
// eslint-disable-next-line no-control-regex
const SAFE_PATH = /^[^\u0000-\u001f\u007f]+$/;
const CIDR4 = new RegExp(`^${IPV4.source.slice(1, -1)}\\/(?:3[0-2]|[12]?\\d)$`);
/** An absolute path on a node or NFS server: no whitespace, no '..' segment, no trailing '/' (except "/"). */
const ABSOLUTE_PATH = /^(?:\/|(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._+@%=,:~-]+)+)$/;
/** One mount option as fstab and StorageClass mountOptions take it: no commas or whitespace. */
const MOUNT_OPTION = /^[A-Za-z0-9_][A-Za-z0-9_.=:/+-]{0,127}$/;

export const PATTERNS = {
  HOST_LABEL,
  HOSTNAME,
  IPV4,
  ADDRESS,
  USER,
  INTERFACE,
  VERSION,
  ENV_NAME,
  SAFE_PATH,
  CIDR4,
  ABSOLUTE_PATH,
  MOUNT_OPTION,
} as const;

export const MESSAGES = {
  hostLabel:
    "must be a hostname label: lowercase letters, digits and '-', starting and ending with a letter or digit, no dots, at most 63 characters",
  address: "must be an IPv4 address (e.g. 10.0.0.11) or a hostname made of letters, digits, '-' and '.'",
  ipv4: "must be an IPv4 address such as 10.0.0.100",
  user: "must be a login name: starts with a lowercase letter or '_', then lowercase letters, digits, '_', '.', '-' (at most 32 characters)",
  iface: "must be a network interface name: 1-15 characters of letters, digits, '_', '.', ':', '-'",
  version: `must be a Kubernetes minor version such as "${DEFAULT_K8S_MINOR}" (quoted, so YAML keeps it a string)`,
  envName: "must be an environment variable name: letters, digits and '_', not starting with a digit",
  path: "must be a file path without control characters (no newlines, tabs or NUL), at most 4096 characters",
  cidr: "must be an IPv4 CIDR such as 10.244.0.0/16",
  secretLiteral: "secrets are never values in the file: give a reference instead",
  secretShape: "must be a secret reference: { env: NAME } or { file: PATH }",
  absolutePath:
    "must be an absolute path such as /srv/nfs/k8s: starts with '/', no spaces, no '..' segments, no trailing '/'",
  mountOption: "must be one mount option such as nfsvers=4.1 or hard: no commas or spaces (give a list)",
} as const;

const hostLabel = z.string().max(63, MESSAGES.hostLabel).regex(HOST_LABEL, MESSAGES.hostLabel);
const address = z.string().max(253, MESSAGES.address).regex(ADDRESS, MESSAGES.address);
const ipv4 = z.string().max(15, MESSAGES.ipv4).regex(IPV4, MESSAGES.ipv4);
const user = z.string().max(32, MESSAGES.user).regex(USER, MESSAGES.user);
const filePath = z.string().min(1, MESSAGES.path).max(4096, MESSAGES.path).regex(SAFE_PATH, MESSAGES.path);
const iface = z.string().regex(INTERFACE, MESSAGES.iface);
const version = z.string().max(16, MESSAGES.version).regex(VERSION, MESSAGES.version);
const cidr = z.string().max(18, MESSAGES.cidr).regex(CIDR4, MESSAGES.cidr);
const port = z.int().min(1).max(65535);
const absolutePath = z.string().max(1024, MESSAGES.absolutePath).regex(ABSOLUTE_PATH, MESSAGES.absolutePath);
const mountOptions = z.array(z.string().regex(MOUNT_OPTION, MESSAGES.mountOption)).max(32);

/* ---------- secret references ---------- */

export const secretRefSchema = z
  .union(
    [
      z.strictObject({ env: z.string().max(128, MESSAGES.envName).regex(ENV_NAME, MESSAGES.envName) }),
      z.strictObject({ file: filePath }),
    ],
    { error: (iss) => (typeof iss.input === "string" ? MESSAGES.secretLiteral : MESSAGES.secretShape) },
  )
  .meta({ description: "A secret reference, resolved at run time: { env: NAME } or { file: PATH }. Never the value." });

/* ---------- ssh ---------- */

const bastionSchema = z.strictObject({
  address,
  port: port.default(22),
  user: user.optional(),
  identityFile: filePath.optional(),
});

const sshFields = {
  user,
  port,
  identityFile: filePath,
  knownHostsFile: filePath,
  passphrase: secretRefSchema,
  password: secretRefSchema,
  sudoPassword: secretRefSchema,
  useAgent: z.boolean(),
  bastion: bastionSchema,
  connectTimeoutSeconds: z.int().min(1).max(300),
  installKey: filePath
    .refine((p) => p.endsWith(".pub"), {
      message: "must be a public key file ending in .pub (e.g. ~/.ssh/id_ed25519.pub), never the private key",
    })
    .meta({
      description:
        "Public key that install and add-node append to the login user's ~/.ssh/authorized_keys, so that runs after a first password login use keys.",
    }),
};

export const sshSettingsSchema = z.strictObject({
  user: sshFields.user.default("root"),
  port: sshFields.port.default(22),
  identityFile: sshFields.identityFile.optional(),
  knownHostsFile: sshFields.knownHostsFile.optional(),
  passphrase: sshFields.passphrase.optional(),
  password: sshFields.password.optional(),
  sudoPassword: sshFields.sudoPassword.optional(),
  useAgent: sshFields.useAgent.default(true),
  bastion: sshFields.bastion.optional(),
  connectTimeoutSeconds: sshFields.connectTimeoutSeconds.default(10),
  installKey: sshFields.installKey.optional(),
});

/** A per-node (or per-LB-host) override: any subset of spec.ssh, merged over it by effectiveSsh(). */
export const sshOverrideSchema = z.strictObject({
  user: sshFields.user.optional(),
  port: sshFields.port.optional(),
  identityFile: sshFields.identityFile.optional(),
  knownHostsFile: sshFields.knownHostsFile.optional(),
  passphrase: sshFields.passphrase.optional(),
  password: sshFields.password.optional(),
  sudoPassword: sshFields.sudoPassword.optional(),
  useAgent: sshFields.useAgent.optional(),
  bastion: sshFields.bastion.optional(),
  connectTimeoutSeconds: sshFields.connectTimeoutSeconds.optional(),
  installKey: sshFields.installKey.optional(),
});

/* ---------- distribution ---------- */

const microk8sSchema = z.strictObject({
  type: z.literal("microk8s"),
  version: version.default(DEFAULT_K8S_MINOR),
});

const kubeadmSchema = z.strictObject({
  type: z.literal("kubeadm"),
  version: version.default(DEFAULT_K8S_MINOR),
  podNetworkCidr: cidr.default("10.244.0.0/16"),
  serviceCidr: cidr.optional(),
  cni: z
    .strictObject({
      manifest: filePath.optional().meta({ description: "A CNI manifest to apply instead of the bundled Calico." }),
    })
    .prefault({}),
  helm: filePath.optional().meta({
    description: "A helm binary on this machine, uploaded to the control plane that applies spec.deploy charts.",
  }),
});

export const distributionSchema = z.discriminatedUnion("type", [microk8sSchema, kubeadmSchema]);

/* ---------- nodes ---------- */

export const ROLES = ["control-plane", "worker"] as const;

export const nodeSchema = z.strictObject({
  name: hostLabel,
  address,
  role: z.enum(ROLES),
  gateway: z.boolean().optional().meta({
    description: "Also a gateway node: holds loadBalancer.web.vip and receives the web traffic (needs web.vip).",
  }),
  ssh: sshOverrideSchema.optional(),
});

/* ---------- load balancer ---------- */

export const LB_MODES = ["keepalived-haproxy", "external", "none"] as const;

const lbHostSchema = z.strictObject({
  name: hostLabel,
  address,
  ssh: sshOverrideSchema.optional(),
});

const lbPortSchema = z.strictObject({
  port,
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
  backendPort: port.optional(),
});

const externalSchema = z.strictObject({
  engine: z.enum(["nginx", "haproxy"]).default("nginx"),
  hosts: z.array(lbHostSchema).max(2),
  ports: z.array(lbPortSchema).max(64).default([]),
});

export const loadBalancerSchema = z.strictObject({
  mode: z.enum(LB_MODES).default("keepalived-haproxy"),
  vip: ipv4.optional(),
  interface: iface.optional(),
  virtualRouterId: z.int().min(1).max(255).optional(),
  unicast: z.boolean().default(false),
  apiPort: port.default(7443),
  web: z
    .strictObject({
      enabled: z.boolean().default(false),
      port: port.default(80),
      backendPort: port.default(80),
      vip: ipv4.optional().meta({
        description: "A VIP of its own for the web ports, held by the gateway nodes (nodes with gateway: true).",
      }),
      virtualRouterId: z.int().min(1).max(255).optional(),
    })
    .prefault({}),
  stats: z
    .strictObject({
      enabled: z.boolean().default(false),
      port: port.default(8404),
      user: user.default("admin"),
      password: secretRefSchema.optional(),
    })
    .prefault({}),
  external: externalSchema.optional(),
  templates: filePath.optional(),
});

/* ---------- application and day-2 settings ---------- */

const serviceName = hostLabel;

/** A Helm value path such as `db.password` (dots separate nesting levels). */
const VALUE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;
const valueKey = z
  .string()
  .max(253)
  .regex(
    VALUE_KEY,
    "must be a Helm value path such as db.password: names of letters, digits, '_' and '-', separated by dots",
  );

/**
 * One item of spec.deploy: plain manifests (files, directories, Kustomize directories) or a local Helm
 * chart. Which fields go together is checked by the deploy rules (src/spec/rules.ts), so each mistake
 * gets its own message and fix.
 */
export const deployItemSchema = z.strictObject({
  name: hostLabel.meta({
    description: "The item's name: unique in spec.deploy; labels what it creates and keys its record.",
  }),
  manifests: z.array(filePath).min(1).max(200).optional().meta({
    description:
      "Manifest files or directories (a directory with kustomization.yaml is a Kustomize directory), relative to cluster.yaml.",
  }),
  chart: filePath
    .optional()
    .meta({ description: "A local Helm chart: a directory or a .tgz, relative to cluster.yaml." }),
  values: z
    .array(filePath)
    .max(50)
    .optional()
    .meta({ description: "Helm values files, relative to cluster.yaml, later ones winning." }),
  secretValues: z
    .record(valueKey, secretRefSchema)
    .optional()
    .meta({ description: "Helm values read from secret references, e.g. db.password: { env: DB_PASSWORD }." }),
  namespace: hostLabel.optional().meta({
    description: "The namespace (required for charts; for manifests, the namespace of objects that name none).",
  }),
  release: hostLabel.optional().meta({ description: "The Helm release name (default: the item's name)." }),
  timeoutSeconds: z
    .int()
    .min(10)
    .max(3600)
    .default(300)
    .meta({ description: "How long to wait for the item's workloads to be ready." }),
});

/* ---------- shared storage ---------- */

export const sharedMountSchema = z.strictObject({
  server: address.meta({ description: "The NFS server's address or hostname." }),
  path: absolutePath.meta({ description: "The exported directory on the server." }),
  mountPoint: absolutePath.meta({ description: "Where every node mounts it, e.g. /grdata." }),
  options: mountOptions
    .default([])
    .meta({ description: "Mount options for the fstab entry; _netdev is added when missing." }),
});

/** A StorageClass name: a DNS subdomain as Kubernetes takes it. */
const storageClassName = z
  .string()
  .max(253, "a StorageClass name: lowercase letters, digits, '-' and '.', at most 253 characters")
  .regex(
    /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/,
    "a StorageClass name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  );

export const nfsStorageSchema = z.strictObject({
  server: address.meta({ description: "The NFS server's address or hostname; every node must reach its TCP 2049." }),
  path: absolutePath.meta({ description: "The exported directory; each volume is a directory below it." }),
  storageClass: z
    .strictObject({
      name: storageClassName.default("nfs-csi").meta({ description: "The StorageClass hactl creates." }),
      default: z.boolean().default(false).meta({ description: "Mark it as the cluster's default StorageClass." }),
    })
    .prefault({}),
  mountOptions: mountOptions
    .default([])
    .meta({ description: "The StorageClass's mountOptions, e.g. [nfsvers=4.1, hard]." }),
});

export const storageSchema = z.strictObject({
  sharedMounts: z.array(sharedMountSchema).max(20).default([]),
  nfs: nfsStorageSchema.optional().meta({
    description: "The NFS CSI driver (csi-driver-nfs) and a StorageClass whose volumes are directories of this export.",
  }),
});

export const clusterSpecBodySchema = z.strictObject({
  distribution: distributionSchema,
  ssh: sshSettingsSchema.prefault({}),
  nodes: z.array(nodeSchema).min(1).max(500),
  loadBalancer: loadBalancerSchema.prefault({}),
  airgap: z
    .strictObject({
      bundle: filePath.meta({
        description:
          "An offline bundle written by `hactl bundle` (with FILE.sha256 beside it): install, add-node and upgrade take everything from it and nothing from the internet.",
      }),
    })
    .optional(),
  addons: z
    .strictObject({
      dns: z.boolean().default(true),
      haCluster: z.boolean().default(true),
      metricsServer: z.boolean().default(false),
      hostpathStorage: z.boolean().default(false),
    })
    .prefault({}),
  storage: storageSchema.optional().meta({
    description: "Shared storage: NFS exports mounted on every node (fstab entry and mount), and an NFS StorageClass.",
  }),
  app: z
    .strictObject({
      namespace: hostLabel.default("app"),
      services: z.array(serviceName).max(200).default([]),
    })
    .prefault({}),
  ha: z
    .strictObject({
      enabled: z.boolean().default(false),
      systemReplicas: z.int().min(3).max(100).default(3),
      evictionTimeoutSeconds: z.int().min(10).max(300).default(300),
    })
    .prefault({}),
  autoscaling: z
    .strictObject({
      enabled: z.boolean().default(false),
      minReplicas: z.int().min(1).max(1000).default(2),
      maxReplicas: z.int().min(1).max(1000).default(5),
      cpuPercent: z.int().min(1).max(100).default(80),
    })
    .prefault({}),
  linkerd: z
    .strictObject({
      enabled: z.boolean().default(false),
      cli: filePath.optional().meta({
        description:
          "kubeadm: the Linkerd CLI on the machine that runs hactl (default: linkerd on PATH, then ~/.linkerd2/bin/linkerd).",
      }),
    })
    .prefault({}),
  replicas: z.record(serviceName, z.int().min(0).max(1000)).default({}),
  externalServices: z
    .strictObject({
      postgresql: secretRefSchema.optional(),
      mongodb: secretRefSchema.optional(),
      s3: secretRefSchema.optional(),
      redis: secretRefSchema.optional(),
      rabbitmq: secretRefSchema.optional(),
    })
    .prefault({}),
  deploy: z.array(deployItemSchema).max(100).default([]),
  preflight: z
    .strictObject({
      minCpus: z.int().min(1).max(1024).default(1),
      minMemoryMiB: z.int().min(128).max(16_777_216).default(1024),
      minDiskGiB: z.int().min(1).max(1_048_576).default(5),
      maxClockSkewSeconds: z.int().min(0).max(3600).default(5),
    })
    .prefault({}),
});

/** The whole document as written (before defaults that depend on other fields are filled in). */
export const clusterDocumentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z.strictObject({ name: hostLabel }),
  spec: clusterSpecBodySchema,
});

/** A stable VRRP router id (1-255) derived from the cluster name, used when loadBalancer.virtualRouterId is unset. */
export function virtualRouterIdFor(clusterName: string): number {
  let h = 2166136261;
  for (const ch of clusterName) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return (h % 255) + 1;
}

/** The web VIP's router id when loadBalancer.web.virtualRouterId is unset: derived like the API's, never equal to it. */
export function webVirtualRouterIdFor(clusterName: string, apiRouterId: number): number {
  const id = virtualRouterIdFor(`${clusterName}-web`);
  return id === apiRouterId ? (id % 255) + 1 : id;
}

/** The schema used for parsing: the document schema plus defaults derived from other fields. */
export const clusterSchema = clusterDocumentSchema.transform((doc) => ({
  ...doc,
  spec: {
    ...doc.spec,
    loadBalancer: withRouterIds(doc.spec.loadBalancer, doc.metadata.name),
  },
}));

/** The API VRRP router id, and the web VIP's when there is one, each derived when unset. */
function withRouterIds<
  T extends {
    virtualRouterId?: number | undefined;
    web: { vip?: string | undefined; virtualRouterId?: number | undefined };
  },
>(lb: T, clusterName: string): T & { virtualRouterId: number } {
  const apiId = lb.virtualRouterId ?? virtualRouterIdFor(clusterName);
  const web =
    lb.web.vip === undefined
      ? lb.web
      : { ...lb.web, virtualRouterId: lb.web.virtualRouterId ?? webVirtualRouterIdFor(clusterName, apiId) };
  return { ...lb, virtualRouterId: apiId, web };
}

/* ---------- exported types ---------- */

export type ClusterSpec = z.output<typeof clusterSchema>;
/** What a user may write (defaults not yet applied); used by writeSpec() and the wizard. */
export type ClusterSpecInput = z.input<typeof clusterDocumentSchema>;
export type ClusterSpecBody = ClusterSpec["spec"];
export type SecretRef = z.output<typeof secretRefSchema>;
export type SshSettings = z.output<typeof sshSettingsSchema>;
export type SshOverride = z.output<typeof sshOverrideSchema>;
export type BastionSpec = z.output<typeof bastionSchema>;
export type DistributionSpec = z.output<typeof distributionSchema>;
export type MicroK8sDistribution = z.output<typeof microk8sSchema>;
export type KubeadmDistribution = z.output<typeof kubeadmSchema>;
export type NodeSpec = z.output<typeof nodeSchema>;
export type NodeRole = NodeSpec["role"];
export type LoadBalancerSpec = ClusterSpecBody["loadBalancer"];
export type LoadBalancerMode = LoadBalancerSpec["mode"];
export type ExternalLbSpec = z.output<typeof externalSchema>;
export type LbHostSpec = z.output<typeof lbHostSchema>;
export type LbPortSpec = z.output<typeof lbPortSchema>;
export type AddonsSpec = ClusterSpecBody["addons"];
export type AppSpec = ClusterSpecBody["app"];
export type HaSpec = ClusterSpecBody["ha"];
export type AutoscalingSpec = ClusterSpecBody["autoscaling"];
export type LinkerdSpec = ClusterSpecBody["linkerd"];
export type DeploySpecItem = z.output<typeof deployItemSchema>;
export type ExternalServicesSpec = ClusterSpecBody["externalServices"];
export type ExternalServiceName = keyof ExternalServicesSpec;
export type PreflightSpec = ClusterSpecBody["preflight"];
export type StorageSpec = z.output<typeof storageSchema>;
export type SharedMountSpec = z.output<typeof sharedMountSchema>;
export type NfsStorageSpec = z.output<typeof nfsStorageSchema>;

/** The SSH settings for one node or LB host: its override merged field by field over spec.ssh. */
export function effectiveSsh(spec: ClusterSpec, target: { readonly ssh?: SshOverride | undefined }): SshSettings {
  const merged: SshSettings = { ...spec.spec.ssh };
  const o = target.ssh;
  if (!o) return merged;
  for (const key of Object.keys(o) as (keyof SshOverride)[]) {
    const value = o[key];
    if (value !== undefined) Object.assign(merged, { [key]: value });
  }
  return merged;
}

/** Control-plane nodes in file order (the first is the bootstrap node). */
export function controlPlaneNodes(spec: ClusterSpec): NodeSpec[] {
  return spec.spec.nodes.filter((n) => n.role === "control-plane");
}

export function workerNodes(spec: ClusterSpec): NodeSpec[] {
  return spec.spec.nodes.filter((n) => n.role === "worker");
}

/** Nodes with gateway: true, in file order (the first holds the web VIP when all are healthy). */
export function gatewayNodes(spec: ClusterSpec): NodeSpec[] {
  return spec.spec.nodes.filter((n) => n.gateway === true);
}
