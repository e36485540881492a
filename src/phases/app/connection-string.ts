/**
 * Connection strings of the application's external services (PostgreSQL, MongoDB, S3, Redis, RabbitMQ).
 * The parser returns the endpoints to probe and a list of problems. Problems name the cluster.yaml field
 * and show a made-up example of the right shape; they never repeat any part of the value itself, since
 * it carries a password.
 */
import type { ExternalServiceName } from "../../spec/schema.js";

export const EXTERNAL_SECRETS_ORDER: readonly ExternalServiceName[] = [
  "postgresql",
  "mongodb",
  "s3",
  "redis",
  "rabbitmq",
];

interface Shape {
  readonly schemes: readonly string[];
  /** Schemes naming a DNS SRV record: one host, no port (reachability is not probed). */
  readonly srvSchemes: readonly string[];
  /** Redis authenticates with a password alone; the others need a user (or S3 access key) too. */
  readonly userRequired: boolean;
  readonly example: string;
  /** The key of the value in the Kubernetes Secret. */
  readonly secretKey: string;
}

const SHAPES: Record<ExternalServiceName, Shape> = {
  postgresql: {
    schemes: ["postgresql", "postgres"],
    srvSchemes: [],
    userRequired: true,
    example: "postgresql://USER:PASSWORD@db.example.com:5432/DBNAME",
    secretKey: "POSTGRESQL_URL",
  },
  mongodb: {
    schemes: ["mongodb"],
    srvSchemes: ["mongodb+srv"],
    userRequired: true,
    example: "mongodb://USER:PASSWORD@mongo1.example.com:27017,mongo2.example.com:27017/DBNAME",
    secretKey: "MONGODB_URL",
  },
  s3: {
    schemes: ["s3", "https"],
    srvSchemes: [],
    userRequired: true,
    example: "https://ACCESS_KEY:SECRET_KEY@s3.example.com:443/BUCKET",
    secretKey: "S3_URL",
  },
  redis: {
    schemes: ["redis", "rediss"],
    srvSchemes: [],
    userRequired: false,
    example: "redis://:PASSWORD@redis.example.com:6379/0",
    secretKey: "REDIS_URL",
  },
  rabbitmq: {
    schemes: ["amqp", "amqps"],
    srvSchemes: [],
    userRequired: true,
    example: "amqp://USER:PASSWORD@rabbit.example.com:5672/VHOST",
    secretKey: "RABBITMQ_URL",
  },
};

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface ParsedConnection {
  readonly service: ExternalServiceName;
  /** Empty for SRV schemes. */
  readonly endpoints: readonly Endpoint[];
  /** What is wrong, each with its fix; empty when the value is usable. */
  readonly problems: readonly string[];
}

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

export function secretKeyOf(service: ExternalServiceName): string {
  return SHAPES[service].secretKey;
}

export function fieldOf(service: ExternalServiceName): string {
  return `spec.externalServices.${service}`;
}

/** Parses one connection string for `service`; never throws. */
export function parseConnectionString(service: ExternalServiceName, value: string): ParsedConnection {
  const shape = SHAPES[service];
  const problems: string[] = [];
  const done = (endpoints: Endpoint[] = []): ParsedConnection => ({ service, endpoints, problems });
  const allSchemes = [...shape.schemes, ...shape.srvSchemes];
  const schemeList = allSchemes.map((s) => `${s}://`).join(", ");

  if (value.length === 0) {
    problems.push(`the value is empty: write a connection string like ${shape.example}`);
    return done();
  }
  if (/\s/.test(value) || hasControlCharacter(value)) {
    problems.push("the value contains spaces, line breaks or control characters: percent-encode them (a space is %20)");
    return done();
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(value);
  if (!m) {
    problems.push(`there is no scheme: start the value with ${schemeList} (e.g. ${shape.example})`);
    return done();
  }
  const scheme = (m[1] ?? "").toLowerCase();
  if (!allSchemes.includes(scheme)) {
    problems.push(`the scheme is not one for ${service}: use ${schemeList} (e.g. ${shape.example})`);
    return done();
  }
  const srv = shape.srvSchemes.includes(scheme);
  const rest = m[2] ?? "";
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd >= 0 ? rest.slice(0, authorityEnd) : rest;
  const at = authority.lastIndexOf("@");
  const needs = shape.userRequired ? "USER:PASSWORD@" : ":PASSWORD@";
  if (at < 0) {
    problems.push(`there are no credentials: put ${needs} before the host (percent-encode '@', ':', '/' in them)`);
  } else {
    const credentials = authority.slice(0, at);
    const colon = credentials.indexOf(":");
    const user = colon >= 0 ? credentials.slice(0, colon) : credentials;
    const password = colon >= 0 ? credentials.slice(colon + 1) : "";
    if (shape.userRequired && user === "") problems.push(`the user name is missing: write ${needs} before the host`);
    if (password === "") problems.push(`the password is missing: write ${needs} before the host`);
    if (!validPercentEncoding(credentials))
      problems.push("the credentials have a '%' that does not start a percent-encoding: write a literal '%' as %25");
  }
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;
  if (hostList === "") {
    problems.push(`there is no host: put HOST:PORT after the credentials (e.g. ${shape.example})`);
    return done();
  }
  const entries = hostList.split(",");
  if (srv && entries.length > 1) problems.push(`a ${scheme}:// string names exactly one host`);
  if (!srv && entries.length > 1 && service !== "mongodb")
    problems.push(`${service} takes one HOST:PORT; remove the extra hosts`);
  const endpoints: Endpoint[] = [];
  entries.forEach((entry, i) => {
    const which = entries.length > 1 ? `host ${i + 1}` : "the host";
    const hm = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(entry);
    const host = hm?.[1] ?? "";
    const port = hm?.[2];
    if (!(HOSTNAME.test(host) || IPV6.test(host))) problems.push(`${which} is not a valid host name or IP address`);
    if (srv) {
      if (port !== undefined) problems.push(`a ${scheme}:// string must not give a port: remove ':PORT'`);
      return;
    }
    if (port === undefined || port === "") {
      problems.push(`${which} has no port: write HOST:PORT (e.g. ${shape.example})`);
      return;
    }
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      problems.push(`${which} has an invalid port: use a number from 1 to 65535`);
      return;
    }
    endpoints.push({ host: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(port) });
  });
  return done(problems.length === 0 ? endpoints : []);
}

function validPercentEncoding(text: string): boolean {
  return !/%(?![0-9A-Fa-f]{2})/.test(text);
}

/** One message for an invalid value: the field, what is wrong, and the example shape. */
export function describeConnectionProblems(parsed: ParsedConnection): string {
  return `${fieldOf(parsed.service)} is not a valid ${parsed.service} connection string: ${parsed.problems.join("; ")}`;
}

export function exampleOf(service: ExternalServiceName): string {
  return SHAPES[service].example;
}

function hasControlCharacter(text: string): boolean {
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
