import { InvalidArgumentError, Option } from "commander";

/** Options several commands share. */
export const fileOption = (): Option => new Option("-f, --file <path>", "cluster.yaml to use").default("cluster.yaml");
export const dryRun = (): Option =>
  new Option("--dry-run", "print the plan per node and change nothing anywhere").default(false);

/** The whole numbers a numeric flag accepts, and the unit the help names. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
  readonly unit?: string;
}

/** A flag whose value must be a whole number within its range; `range` is there for help and tests. */
export class IntOption extends Option {
  constructor(
    flags: string,
    description: string,
    readonly range: IntRange,
  ) {
    super(flags, `${description} (${rangeText(range)})`);
    this.argParser((value: string) => checkInt(value, range));
  }
}

/**
 * Declares a numeric flag: `intOption("--keep <n>", "backups to keep", { min: 1, max: 100 }, 5)`.
 * commander refuses a value that is not a whole number in range while it parses the command line
 * (exit 2, naming the flag and the range), before any action starts. The value the action reads stays
 * text ("0120" becomes "120"), now known to be a whole number: read it with Number().
 */
export function intOption(flags: string, description: string, range: IntRange, defaultValue?: number): IntOption {
  const option = new IntOption(flags, description, range);
  return defaultValue === undefined ? option : option.default(String(defaultValue));
}

/** How long a drain may take before the command stops (remove-node, reset, upgrade). */
export const drainTimeoutOption = (defaultSeconds = 120): IntOption =>
  intOption(
    "--drain-timeout <seconds>",
    "how long to wait for each node's drain",
    { min: 10, max: 86_400, unit: "seconds" },
    defaultSeconds,
  );

export function rangeText(range: IntRange): string {
  return `${range.min}-${range.max}${range.unit ? ` ${range.unit}` : ""}`;
}

/** Pure: the value in plain decimal when it is a whole number within range; InvalidArgumentError otherwise. */
export function checkInt(value: string, range: IntRange): string {
  const text = value.trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isInteger(n) && n >= range.min && n <= range.max) return String(n);
  throw new InvalidArgumentError(
    `It must be a whole number from ${range.min} to ${range.max}${range.unit ? ` ${range.unit}` : ""}.`,
  );
}
