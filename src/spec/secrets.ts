/**
 * Resolving the secret references of cluster.yaml ({ env: NAME } or { file: PATH }) at run time.
 * Every resolved value is registered for redaction before it is returned; errors name the reference,
 * never the value.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { HactlError, errnoCode } from "../core/errors.js";
import { registerSecret } from "../core/secrets.js";
import { formatPath, type PathSegment } from "./problems.js";
import type { ClusterSpec, SecretRef } from "./schema.js";

/** Secret files larger than this are refused: a password or connection string is never this long. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface ResolveSecretOptions {
  /** True when a terminal is attached: a missing env var is prompted for instead of failing. */
  readonly interactive: boolean;
  /** Asks the user for the value (hidden input); called only when interactive. */
  readonly prompt?: (message: string) => Promise<string>;
  /** What the secret is for, shown in prompts and errors, e.g. "spec.ssh.sudoPassword". */
  readonly label?: string;
  /** Environment to read from; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** "{ env: NAME }" or "{ file: PATH }": how a reference is named in messages. */
export function describeSecretRef(ref: SecretRef): string {
  return "env" in ref ? `{ env: ${ref.env} }` : `{ file: ${ref.file} }`;
}

/** Expands a leading ~ or ~/ to the home directory. */
export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return `${homedir()}${path.slice(1)}`;
  return path;
}

/** Resolves a reference to its value (files: contents with surrounding whitespace trimmed). */
export async function resolveSecret(ref: SecretRef, opts: ResolveSecretOptions): Promise<string> {
  const what = opts.label ? `${opts.label} ${describeSecretRef(ref)}` : describeSecretRef(ref);
  let value: string;
  if ("env" in ref) {
    const env = opts.env ?? process.env;
    const fromEnv = env[ref.env];
    if (fromEnv !== undefined && fromEnv !== "") {
      value = fromEnv;
    } else if (opts.interactive && opts.prompt) {
      value = await opts.prompt(`${opts.label ?? "Secret"} (${ref.env} is not set)`);
      if (value === "") {
        throw new HactlError("SECRET_UNRESOLVED", `no value was given for ${what}`, {
          remedy: `Enter the value when asked, or export ${ref.env} before running hactl.`,
        });
      }
    } else {
      throw new HactlError(
        "SECRET_UNRESOLVED",
        `secret ${what} is not set: environment variable ${ref.env} is ${fromEnv === "" ? "empty" : "missing"}`,
        {
          remedy: `Export ${ref.env} before running hactl (e.g. read -rs ${ref.env} && export ${ref.env}), or run in a terminal to be prompted.`,
        },
      );
    }
  } else {
    const path = expandHome(ref.file);
    let raw: Buffer;
    try {
      raw = await readFile(path);
    } catch (e) {
      const code = errnoCode(e) ?? "unknown error";
      throw new HactlError("SECRET_UNRESOLVED", `secret ${what} cannot be read (${code})`, {
        remedy: `Create ${ref.file} (mode 0600) holding only the secret, or point the reference at the right file.`,
        cause: e,
      });
    }
    if (raw.length > MAX_SECRET_FILE_BYTES) {
      throw new HactlError(
        "SECRET_UNRESOLVED",
        `secret ${what} is ${raw.length} bytes; a secret file holds one value`,
        {
          remedy: `Put only the secret in ${ref.file}.`,
        },
      );
    }
    value = raw.toString("utf8").trim();
    if (value === "") {
      throw new HactlError("SECRET_UNRESOLVED", `secret ${what} is an empty file`, {
        remedy: `Write the secret into ${ref.file}.`,
      });
    }
  }
  registerSecret(value);
  return value;
}

export interface SecretRefAt {
  /** YAML path, e.g. "spec.nodes[1].ssh.sudoPassword". */
  readonly path: string;
  readonly ref: SecretRef;
}

/** Every secret reference in a spec, with its path, in file order. */
export function collectSecretRefs(spec: ClusterSpec): SecretRefAt[] {
  const out: SecretRefAt[] = [];
  const walk = (value: unknown, segments: PathSegment[]): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...segments, i]));
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const keys = Object.keys(value);
    const record = value as Record<string, unknown>;
    if (
      keys.length === 1 &&
      ((keys[0] === "env" && typeof record.env === "string") || (keys[0] === "file" && typeof record.file === "string"))
    ) {
      const ref: SecretRef = keys[0] === "env" ? { env: String(record.env) } : { file: String(record.file) };
      out.push({ path: formatPath(segments), ref });
      return;
    }
    for (const k of keys) walk(record[k], [...segments, k]);
  };
  walk(spec, []);
  return out;
}
