/**
 * The shape of an external service's connection string: scheme, host, port and credentials present.
 * Messages name what is wrong and show a made-up example; they never repeat any part of the value.
 */
import type { ExternalServiceName } from "../spec/schema.js";

interface ServiceShape {
  schemes: readonly string[];
  /** Schemes that name a DNS SRV record: no port allowed, exactly one host. */
  srvSchemes?: readonly string[];
  /** Redis needs only a password; the others a user and a password. */
  userRequired: boolean;
  example: string;
}

const SHAPES: Record<ExternalServiceName, ServiceShape> = {
  postgresql: { schemes: ["postgresql", "postgres"], userRequired: true, example: "postgresql://app:secret@db.example.com:5432/app" },
  mongodb: { schemes: ["mongodb"], srvSchemes: ["mongodb+srv"], userRequired: true, example: "mongodb://app:secret@mongo-1.example.com:27017,mongo-2.example.com:27017/app" },
  s3: { schemes: ["s3", "https", "http"], userRequired: true, example: "https://ACCESSKEY:SECRETKEY@s3.example.com:9000/bucket" },
  redis: { schemes: ["redis", "rediss"], userRequired: false, example: "redis://:secret@redis.example.com:6379/0" },
  rabbitmq: { schemes: ["amqp", "amqps"], userRequired: true, example: "amqp://app:secret@rabbit.example.com:5672/vhost" },
};

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

function hostProblems(hostList: string, srv: boolean): string[] {
  if (hostList === "") return ["no host: put the server's name or address after the credentials"];
  const hosts = hostList.split(",");
  if (srv && hosts.length > 1) return ["an SRV connection string names exactly one host"];
  const out: string[] = [];
  hosts.forEach((entry, i) => {
    const which = hosts.length > 1 ? `host ${i + 1}` : "the host";
    const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(entry);
    const host = m?.[1] ?? "";
    const port = m?.[2];
    if (host === "") out.push(`no host${hosts.length > 1 ? ` in entry ${i + 1}` : ""}: put the server's name or address before the port`);
    else if (!HOST.test(host)) out.push(`${which} is not a valid hostname or address`);
    if (srv) {
      if (port !== undefined) out.push("an SRV connection string must not give a port");
    } else if (port === undefined || port === "") {
      out.push(`${which} has no port: add :PORT after it`);
    } else if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      out.push(`${which} has an invalid port: it must be a number from 1 to 65535`);
    }
  });
  return out;
}

/** Problems with the value's shape for this service; empty when it looks right. */
export function connectionStringProblems(service: ExternalServiceName, value: string): string[] {
  const shape = SHAPES[service];
  const allowed = [...shape.schemes, ...(shape.srvSchemes ?? [])];
  const trimmed = value.trim();
  if (/\s/.test(trimmed)) return ["it contains spaces or line breaks; percent-encode them"];
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(trimmed);
  if (!m) return [`no scheme: it must start with ${allowed.map((s) => `${s}://`).join(" or ")}`];
  const scheme = (m[1] ?? "").toLowerCase();
  if (!allowed.includes(scheme)) return [`the scheme is not one of ${allowed.map((s) => `${s}://`).join(", ")}`];
  const rest = m[2] ?? "";
  const at = rest.lastIndexOf("@");
  const afterCredentials = at >= 0 ? rest.slice(at + 1) : rest;
  const end = afterCredentials.search(/[/?#]/);
  const hostList = end >= 0 ? afterCredentials.slice(0, end) : afterCredentials;
  const out: string[] = [];
  const credentials = at >= 0 ? rest.slice(0, at) : "";
  const needs = shape.userRequired ? "USER:PASSWORD@" : ":PASSWORD@";
  if (at < 0) {
    out.push(`no credentials: put ${needs} before the host`);
  } else if (/[/?#]/.test(credentials)) {
    out.push(`no credentials before the host, or they contain '/', '?' or '#': write ${needs} and percent-encode such characters (e.g. '/' as %2F)`);
  } else {
    const colon = credentials.indexOf(":");
    const user = colon >= 0 ? credentials.slice(0, colon) : credentials;
    const password = colon >= 0 ? credentials.slice(colon + 1) : "";
    if (shape.userRequired && user === "") out.push("no user name before the ':'");
    if (password === "") out.push(`no password: write ${needs} (percent-encode special characters)`);
  }
  out.push(...hostProblems(hostList, (shape.srvSchemes ?? []).includes(scheme)));
  return out;
}

/** One line for the operator: what is wrong and what a correct value looks like. */
export function describeProblems(service: ExternalServiceName, envName: string, problems: readonly string[]): string {
  return `${envName} is set, but its value is not a valid connection string: ${problems.join("; ")} (the shape is ${SHAPES[service].example})`;
}
