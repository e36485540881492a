import { parseSpec } from "../../src/spec/parse.js";
import type { ClusterSpec } from "../../src/spec/schema.js";

/** A parsed, valid cluster spec from YAML text; throws with the problems when the text is invalid. */
export function specFrom(yaml: string): ClusterSpec {
  const result = parseSpec(yaml);
  if (!result.spec) throw new Error(`test spec is invalid:\n${result.problems.map((p) => p.message).join("\n")}`);
  return result.spec;
}

/** Three control planes and a worker behind a keepalived VIP (the lab layout). */
export const THREE_CP_ONE_WORKER = `apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata:
  name: lab
spec:
  distribution: { type: microk8s, version: "1.29" }
  nodes:
    - { name: node-1, address: 10.0.0.11, role: control-plane }
    - { name: node-2, address: 10.0.0.12, role: control-plane }
    - { name: node-3, address: 10.0.0.13, role: control-plane }
    - { name: worker-1, address: 10.0.0.21, role: worker }
  loadBalancer:
    vip: 10.0.0.100
    virtualRouterId: 51
`;

/** Same nodes, two external nginx LB hosts sharing a VIP; the API port is balanced too. */
export const EXTERNAL_NGINX = `apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata:
  name: edge
spec:
  distribution: { type: microk8s, version: "1.29" }
  nodes:
    - { name: node-1, address: 10.0.0.11, role: control-plane }
    - { name: node-2, address: 10.0.0.12, role: control-plane }
    - { name: node-3, address: 10.0.0.13, role: control-plane }
    - { name: worker-1, address: 10.0.0.21, role: worker }
  loadBalancer:
    mode: external
    vip: 10.0.0.200
    interface: ens3
    virtualRouterId: 52
    external:
      engine: nginx
      hosts:
        - { name: lb-1, address: 10.0.0.51 }
        - { name: lb-2, address: 10.0.0.52 }
      ports:
        - { port: 80 }
        - { port: 443 }
        - { port: 16443 }
`;
