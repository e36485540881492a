import type { Lab } from "./lab.d.mts";

/** A cluster.yaml for the lab: the lab's key, known_hosts and addresses filled in. */
export function labClusterYaml(
  lab: Lab,
  opts?: {
    name?: string;
    controlPlanes?: number;
    workers?: number;
    distribution?: "microk8s" | "kubeadm";
    lbMode?: "keepalived-haproxy" | "external" | "none";
    vip?: string;
    web?: boolean;
    extra?: string;
  },
): string;

/** The environment variable that carries the ops user's sudo password to hactl. */
export const OPS_SUDO_ENV: string;
/** The environment a hactl run against labClusterYaml's file needs (secrets referenced by it). */
export function labSecretEnv(lab: Lab): Record<string, string>;
