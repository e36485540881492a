/**
 * Checks every value that ends up in a load-balancer config. The template engine already refuses
 * newlines; these checks go further, so that no value can end a directive early (`;`, `#`, `!`, `{`,
 * quotes, spaces) in any of the three config languages.
 */
import { isIPv4, isIPv6 } from "node:net";
import { HactlError } from "../core/errors.js";

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const INTERFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const WORD = /^[A-Za-z0-9._~+=%^*@,/-]+$/;

function refuse(field: string, message: string): never {
  throw new HactlError("SPEC_INVALID", `load balancer: ${field} ${message}`, {
    remedy: "Fix this value in cluster.yaml (the loadBalancer section or the node list) and run the command again.",
  });
}

/** Shows a user value safely inside an error message (escapes newlines and control characters). */
function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function checkName(value: string, field: string): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    refuse(field, `${show(value)} is not a valid name (letters, digits, '.', '_', '-'; at most 63 characters)`);
  }
  return value;
}

/** An IPv4/IPv6 address or a DNS hostname. */
export function checkAddress(value: string, field: string): string {
  if (typeof value !== "string" || !(isIPv4(value) || isIPv6(value) || HOSTNAME.test(value))) {
    refuse(field, `${show(value)} is not an IP address or hostname`);
  }
  return value;
}

export function checkIPv4(value: string, field: string, why: string): string {
  if (typeof value !== "string" || !isIPv4(value)) refuse(field, `${show(value)} must be an IPv4 address (${why})`);
  return value;
}

export function checkInterface(value: string, field: string): string {
  if (typeof value !== "string" || !INTERFACE.test(value) || value === "." || value === "..") {
    refuse(
      field,
      `${show(value)} is not a network interface name (letters, digits, '.', '_', '-'; at most 15 characters)`,
    );
  }
  return value;
}

export function checkInt(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    refuse(field, `${show(value)} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function checkPort(value: number, field: string): number {
  return checkInt(value, field, 1, 65535);
}

/**
 * A password or user name written into a config as one bare word. The value itself never appears in
 * the error, since it may be a secret.
 */
export function checkWord(value: string, field: string, maxLength: number, forbid = ""): string {
  const ok =
    typeof value === "string" &&
    value.length > 0 &&
    value.length <= maxLength &&
    WORD.test(value) &&
    ![...forbid].some((c) => value.includes(c));
  if (!ok) {
    refuse(
      field,
      `must be 1 to ${maxLength} characters from letters, digits and ._~+=%^*@,/-${forbid ? ` (not ${forbid})` : ""}`,
    );
  }
  return value;
}

/** `host:port` as haproxy and nginx expect it (IPv6 addresses in brackets). */
export function endpoint(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Refuses repeated values in a list, e.g. two nodes with one name. */
export function checkUnique(values: readonly string[], field: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) refuse(field, `lists ${show(v)} more than once`);
    seen.add(v);
  }
}
