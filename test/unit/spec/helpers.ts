import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const FIXTURES = fileURLToPath(new URL("../../fixtures/specs/", import.meta.url));

export function fixture(relative: string): string {
  return readFileSync(`${FIXTURES}${relative}`, "utf8");
}

export const GOOD_FIXTURES = [
  "microk8s-minimal.yaml",
  "microk8s-3cp-1w-web.yaml",
  "external-nginx.yaml",
  "kubeadm.yaml",
] as const;

/** A valid document to mutate in tests (three control-plane nodes, keepalived VIP). */
export const BASE = `apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata:
  name: prod
spec:
  distribution: { type: microk8s, version: "1.29" }
  nodes:
    - { name: node-1, address: 10.0.0.11, role: control-plane }
    - { name: node-2, address: 10.0.0.12, role: control-plane }
    - { name: node-3, address: 10.0.0.13, role: control-plane }
  loadBalancer:
    vip: 10.0.0.100
`;
