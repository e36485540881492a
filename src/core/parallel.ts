import { HactlError, MultiNodeError, asHactlError } from "./errors.js";

/**
 * Runs fn for every item at once (bounded by `limit`), waits for all of them, and fails with one
 * MultiNodeError listing every node that failed — never just the first.
 */
export async function forEachNode<T extends { name: string }, R>(
  step: string,
  items: readonly T[],
  fn: (item: T) => Promise<R>,
  limit = 32,
): Promise<Map<string, R>> {
  const results = new Map<string, R>();
  const failures: HactlError[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        results.set(item.name, await fn(item));
      } catch (err) {
        const e = asHactlError(err);
        failures.push(
          e.node
            ? e
            : new HactlError(e.code, e.message, {
                node: item.name,
                remedy: e.remedy,
                details: e.details,
                retryable: e.retryable,
                cause: e,
              }),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length === 1) throw (failures[0] as HactlError).inStep(step);
  if (failures.length > 1) throw new MultiNodeError(step, failures);
  return results;
}
