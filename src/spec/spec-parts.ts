import type { z } from "zod";
import type {
  AppSpec,
  AutoscalingSpec,
  DeploySpecItem,
  DistributionSpec,
  HaSpec,
  LinkerdSpec,
  NodeSpec,
  StorageSpec,
  loadBalancerSchema,
} from "./schema.js";

/**
 * The parsed sections of a spec. When the whole file does not parse, parse.ts fills in the sections that
 * do (and the nodes that do), so the rules below still report what they can in the same pass.
 */
export interface SpecParts {
  readonly nodes: readonly NodeSpec[];
  /** False when some entries of spec.nodes failed to parse (rules that need every node are skipped). */
  readonly allNodes: boolean;
  readonly distribution?: DistributionSpec;
  readonly loadBalancer?: z.output<typeof loadBalancerSchema>;
  readonly autoscaling?: AutoscalingSpec;
  readonly linkerd?: LinkerdSpec;
  readonly app?: AppSpec;
  readonly replicas?: Record<string, number>;
  readonly ha?: HaSpec;
  /** metadata.name, when it parsed (derived VRRP router ids depend on it). */
  readonly clusterName?: string;
  readonly deploy?: readonly DeploySpecItem[];
  readonly storage?: StorageSpec;
}
