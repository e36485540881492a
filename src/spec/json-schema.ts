/**
 * The JSON Schema of cluster.yaml, generated from the zod schema (what `hactl schema` prints), so that
 * editors with a YAML language server can complete and check the file.
 */
import { z } from "zod";
import { clusterDocumentSchema } from "./schema.js";

export const SCHEMA_ID = "https://hactl.dev/schemas/cluster-v1alpha1.json";

export function clusterJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(clusterDocumentSchema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  });
  return {
    ...generated,
    $id: SCHEMA_ID,
    title: "hactl cluster.yaml",
    description:
      "A highly available Kubernetes cluster managed by hactl (apiVersion hactl.dev/v1alpha1, kind Cluster).",
  };
}
