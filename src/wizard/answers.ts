/**
 * What the wizard collects, before it becomes a cluster.yaml document (to-spec.ts). `WizardAnswers` is
 * complete; `Draft` is what flags (or a prefilled file) already answered, every field optional.
 */
import { DEFAULT_K8S_MINOR } from "../spec/k8s-versions.js";
import type { ExternalServiceName, LoadBalancerMode, NodeRole } from "../spec/schema.js";

export type Distribution = "microk8s" | "kubeadm";

/** How hactl logs in to a machine. A password is never a value: only the environment variable's name. */
export type SshAuth = { kind: "agent" } | { kind: "key"; identityFile: string } | { kind: "password"; env: string };

export interface NodeAnswer {
  name: string;
  address: string;
  role: NodeRole;
  user: string;
  auth: SshAuth;
}

export interface LbHostAnswer {
  name: string;
  address: string;
}

export interface LbPortAnswer {
  port: number;
  protocol: "tcp" | "udp";
}

export interface WizardAnswers {
  name: string;
  distribution: Distribution;
  version: string;
  nodes: NodeAnswer[];
  lbMode: LoadBalancerMode;
  /** Dedicated load-balancer hosts (mode external only). */
  lbHosts: LbHostAnswer[];
  /** Ports the external load balancers forward besides the API port (mode external only). */
  lbPorts: LbPortAnswer[];
  vip?: string | undefined;
  /** Unset: install finds the interface that carries each node's address. */
  iface?: string | undefined;
  apiPort: number;
  web: boolean;
  ha: boolean;
  systemReplicas: number;
  evictionTimeoutSeconds: number;
  autoscaling: boolean;
  minReplicas: number;
  maxReplicas: number;
  linkerd: boolean;
  /** Environment variable name holding each external service's connection string. */
  external: Partial<Record<ExternalServiceName, string>>;
}

/** A node given on the command line: user and auth fall back to --ssh-user and the global auth. */
export interface NodeDraft {
  name: string;
  address: string;
  role?: NodeRole | undefined;
  user?: string | undefined;
  /** This node's own login method (--node-auth), instead of the global one. */
  auth?: SshAuth | undefined;
}

export type Draft = Partial<Omit<WizardAnswers, "nodes" | "external">> & {
  nodes?: NodeDraft[];
  sshUser?: string;
  sshAuth?: SshAuth;
  external?: Partial<Record<ExternalServiceName, string>>;
  /** Which external services the flags decided on (named or explicitly none): these are not asked. */
  externalDecided?: boolean;
};

export const EXTERNAL_SERVICES: readonly {
  key: ExternalServiceName;
  label: string;
  flag: string;
  envDefault: string;
}[] = [
  { key: "postgresql", label: "PostgreSQL", flag: "--postgresql-env", envDefault: "HACTL_POSTGRESQL_URL" },
  { key: "mongodb", label: "MongoDB", flag: "--mongodb-env", envDefault: "HACTL_MONGODB_URL" },
  { key: "s3", label: "S3", flag: "--s3-env", envDefault: "HACTL_S3_URL" },
  { key: "redis", label: "Redis", flag: "--redis-env", envDefault: "HACTL_REDIS_URL" },
  { key: "rabbitmq", label: "RabbitMQ", flag: "--rabbitmq-env", envDefault: "HACTL_RABBITMQ_URL" },
];

export const DEFAULTS = {
  name: "cluster",
  distribution: "microk8s" as Distribution,
  version: DEFAULT_K8S_MINOR,
  nodeCount: 3,
  sshUser: "root",
  sshAuth: { kind: "agent" } as SshAuth,
  passwordEnv: "HACTL_SSH_PASSWORD",
  identityFile: "~/.ssh/id_ed25519",
  lbMode: "keepalived-haproxy" as LoadBalancerMode,
  apiPort: 7443,
  web: false,
  ha: false,
  systemReplicas: 3,
  evictionTimeoutSeconds: 300,
  autoscaling: false,
  minReplicas: 2,
  maxReplicas: 5,
  linkerd: false,
} as const;

/** The first three nodes are control planes by default (an odd number keeps quorum), later ones workers. */
export function defaultRole(index: number): NodeRole {
  return index < 3 ? "control-plane" : "worker";
}

/** VIP is required for keepalived on the nodes, and for keepalived between two external LB hosts. */
export function vipRequired(mode: LoadBalancerMode, lbHostCount: number): boolean {
  return mode === "keepalived-haproxy" || (mode === "external" && lbHostCount === 2);
}

/** keepalived runs (so an interface matters) in the same cases. */
export const interfaceMatters = vipRequired;
