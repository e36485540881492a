/**
 * Rules of the gateway topology: nodes with `gateway: true` hold loadBalancer.web.vip in a VRRP
 * instance of their own and are the only web backends behind it.
 */
import type { PathSegment, ProblemDraft } from "./problems.js";
import type { SpecParts } from "./spec-parts.js";
import { virtualRouterIdFor } from "./schema.js";

function problem(
  severity: ProblemDraft["severity"],
  segments: readonly PathSegment[],
  text: string,
  fix: string,
): ProblemDraft {
  return { severity, segments, text, fix };
}

export function gatewayRules(
  parts: SpecParts,
  unusableAddress: (address: string) => string | undefined,
): ProblemDraft[] {
  const lb = parts.loadBalancer;
  if (!lb || !parts.allNodes) return [];
  const out: ProblemDraft[] = [];
  const webPath = ["spec", "loadBalancer", "web"];
  const gateways = parts.nodes.filter((n) => n.gateway === true);
  const webVip = lb.web.vip;

  if (webVip === undefined) {
    const first = parts.nodes.findIndex((n) => n.gateway === true);
    if (first >= 0) {
      out.push(
        problem(
          "warning",
          ["spec", "nodes", first, "gateway"],
          "has no effect without loadBalancer.web.vip (the web ports stay on the API VIP, balanced to every node)",
          "add web: { enabled: true, vip: <a free address> } under loadBalancer, or remove gateway: true",
        ),
      );
    }
    if (lb.web.virtualRouterId !== undefined) {
      out.push(
        problem(
          "warning",
          [...webPath, "virtualRouterId"],
          "has no effect without loadBalancer.web.vip",
          "add web.vip, or remove web.virtualRouterId",
        ),
      );
    }
    return out;
  }

  const vipPath = [...webPath, "vip"];
  if (lb.mode !== "keepalived-haproxy") {
    out.push(
      problem(
        "error",
        vipPath,
        `a web VIP on gateway nodes needs mode keepalived-haproxy (mode is ${lb.mode})`,
        "set loadBalancer.mode: keepalived-haproxy, or remove web.vip (external LB hosts forward the web ports themselves)",
      ),
    );
    return out;
  }
  if (!lb.web.enabled) {
    out.push(
      problem(
        "error",
        vipPath,
        "is set but web.enabled is false, so nothing would listen on it",
        "set web.enabled: true, or remove web.vip",
      ),
    );
  }
  if (gateways.length === 0) {
    out.push(
      problem(
        "error",
        vipPath,
        "needs gateway nodes to hold it, and no node has gateway: true",
        "add gateway: true to two or more nodes, e.g. { name: node-4, address: 10.0.0.14, role: worker, gateway: true }",
      ),
    );
  } else if (gateways.length === 1) {
    out.push(
      problem(
        "warning",
        vipPath,
        `only ${gateways[0]?.name ?? ""} is a gateway node, so the web VIP cannot fail over`,
        "add gateway: true to a second node",
      ),
    );
  }
  const unusable = unusableAddress(webVip);
  const nodeClash = parts.nodes.findIndex((n) => n.address === webVip);
  const hostClash = (lb.external?.hosts ?? []).findIndex((h) => h.address === webVip);
  if (webVip === lb.vip) {
    out.push(
      problem(
        "error",
        vipPath,
        `${webVip} is also loadBalancer.vip; the web VIP moves between the gateway nodes on its own, so it needs an address of its own`,
        "pick another free address for web.vip, or remove web.vip to serve the web ports on the API VIP",
      ),
    );
  } else if (unusable) {
    out.push(
      problem("error", vipPath, `${webVip} ${unusable}`, "pick a free unicast address on the gateway nodes' network"),
    );
  } else if (nodeClash >= 0) {
    out.push(
      problem(
        "error",
        vipPath,
        `${webVip} is the address of spec.nodes[${nodeClash}]; the VIP must be an unused address`,
        "pick a free address in the gateway nodes' subnet",
      ),
    );
  } else if (hostClash >= 0) {
    out.push(
      problem(
        "error",
        vipPath,
        `${webVip} is the address of spec.loadBalancer.external.hosts[${hostClash}]`,
        "pick a free address in the gateway nodes' subnet",
      ),
    );
  }

  const apiId =
    lb.virtualRouterId ?? (parts.clusterName === undefined ? undefined : virtualRouterIdFor(parts.clusterName));
  if (lb.web.virtualRouterId !== undefined && lb.web.virtualRouterId === apiId) {
    out.push(
      problem(
        "error",
        [...webPath, "virtualRouterId"],
        `${apiId} is also the API VIP's router id (loadBalancer.virtualRouterId, derived from metadata.name when unset); two VRRP instances with one router id on one network fight over each other's adverts`,
        `choose another id (1-255, unused on this network), e.g. ${(apiId % 255) + 1}, or remove web.virtualRouterId to let hactl derive one`,
      ),
    );
  }
  return out;
}
