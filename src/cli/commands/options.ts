import { Option } from "commander";

/** Options several commands share. */
export const fileOption = (): Option => new Option("-f, --file <path>", "cluster.yaml to use").default("cluster.yaml");
export const dryRun = (): Option => new Option("--dry-run", "print the plan per node and change nothing anywhere").default(false);
