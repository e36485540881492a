/**
 * The record of what spec.deploy applied, kept in the cluster so any workstation reads it back: one
 * Secret in namespace hactl-system, one data key per item holding its checksums and names as JSON.
 * A Secret rather than a ConfigMap because a checksum mixes in secret values (still: never values).
 */
import { z } from "zod";
import { HactlError } from "../../core/errors.js";
import { recordEntrySchema, type RecordEntry } from "./plan.js";

export const RECORD_NAMESPACE = "hactl-system";
export const RECORD_NAME = "hactl-deploy";
/** Marks the record (and lets a read by label answer with an empty list before the first deploy). */
export const RECORD_LABEL = "hactl.dev/record";
/** On every object a manifests item applies: the item's name. */
export const ITEM_LABEL = "hactl.dev/deploy-item";
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "hactl" } as const;
export const FIELD_MANAGER = "hactl";

const secretList = z.object({
  items: z.array(
    z.object({ metadata: z.object({ name: z.string() }), data: z.record(z.string(), z.string()).nullish() }),
  ),
});

/** The record from `kubectl get secrets -n hactl-system -l hactl.dev/record=deploy -o json`. */
export function parseRecord(stdout: string): Map<string, RecordEntry> {
  const list = secretList.parse(JSON.parse(stdout));
  const secret = list.items.find((s) => s.metadata.name === RECORD_NAME);
  const out = new Map<string, RecordEntry>();
  for (const [key, b64] of Object.entries(secret?.data ?? {})) {
    const parsed = recordEntrySchema.safeParse(JSON.parse(Buffer.from(b64, "base64").toString("utf8")));
    if (!parsed.success) {
      throw new HactlError(
        "UNHEALTHY",
        `the deploy record (secret ${RECORD_NAMESPACE}/${RECORD_NAME}) has an unreadable entry '${key}'`,
        {
          remedy: `Look at it with kubectl get secret ${RECORD_NAME} -n ${RECORD_NAMESPACE} -o yaml; delete the entry and run hactl deploy again to re-apply that item.`,
        },
      );
    }
    out.set(key, parsed.data);
  }
  return out;
}

/** The namespace and the record Secret as one List for `kubectl apply --server-side -f -`. */
export function recordManifest(record: ReadonlyMap<string, RecordEntry>): string {
  const labels = { ...MANAGED_BY, [RECORD_LABEL]: "deploy" };
  const data = Object.fromEntries(
    [...record.entries()].map(([k, v]) => [k, Buffer.from(JSON.stringify(v)).toString("base64")]),
  );
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: RECORD_NAMESPACE, labels: MANAGED_BY } },
      {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: { name: RECORD_NAME, namespace: RECORD_NAMESPACE, labels },
        data,
      },
    ],
  });
}
