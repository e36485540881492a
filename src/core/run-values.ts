/**
 * Values one step produces and a later step of the same apply uses (a certificate key, a token): they
 * travel through the executor, which makes one store per apply, instead of through an object the
 * planner shares between its steps. Keys are typed, so a reader gets what the writer put.
 */
export interface RunValueKey<T> {
  readonly name: string;
  /** Never set: carries T for the type checker only. */
  readonly type?: T;
}

export function runValueKey<T>(name: string): RunValueKey<T> {
  return { name };
}

export class RunValues {
  private readonly values = new Map<RunValueKey<unknown>, unknown>();

  get<T>(key: RunValueKey<T>): T | undefined {
    return this.values.get(key) as T | undefined;
  }

  set<T>(key: RunValueKey<T>, value: T): void {
    this.values.set(key, value);
  }

  delete<T>(key: RunValueKey<T>): void {
    this.values.delete(key);
  }
}
