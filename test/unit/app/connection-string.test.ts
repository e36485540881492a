import { describe, expect, it } from "vitest";
import { describeConnectionProblems, parseConnectionString } from "../../../src/phases/app/connection-string.js";

const SECRET = "S3cr3t-Pa55";

describe("valid connection strings", () => {
  it.each([
    [
      "postgresql",
      `postgresql://app:${SECRET}@db.example.com:5432/app?sslmode=require`,
      [{ host: "db.example.com", port: 5432 }],
    ],
    ["postgresql", `postgres://app:${SECRET}@10.0.0.5:5433`, [{ host: "10.0.0.5", port: 5433 }]],
    [
      "mongodb",
      `mongodb://app:${SECRET}@m1.example.com:27017,m2.example.com:27018/app`,
      [
        { host: "m1.example.com", port: 27017 },
        { host: "m2.example.com", port: 27018 },
      ],
    ],
    ["mongodb", `mongodb+srv://app:${SECRET}@cluster0.example.com/app`, []],
    ["s3", `https://AKIA123:${SECRET}@s3.example.com:443/bucket`, [{ host: "s3.example.com", port: 443 }]],
    ["s3", `s3://AKIA123:${SECRET}@minio.local:9000/bucket`, [{ host: "minio.local", port: 9000 }]],
    ["redis", `redis://:${SECRET}@cache.example.com:6379/0`, [{ host: "cache.example.com", port: 6379 }]],
    ["redis", `rediss://default:${SECRET}@[::1]:6380`, [{ host: "::1", port: 6380 }]],
    ["rabbitmq", `amqps://app:${SECRET}@mq.example.com:5671/vhost`, [{ host: "mq.example.com", port: 5671 }]],
  ] as const)("%s %#", (service, value, endpoints) => {
    const parsed = parseConnectionString(service, value);
    expect(parsed.problems).toEqual([]);
    expect(parsed.endpoints).toEqual(endpoints);
  });
});

describe("malformed connection strings", () => {
  it.each([
    ["postgresql", `postgresql://app:${SECRET}@db.example.com/app`, "the host has no port"],
    ["postgresql", "postgresql://app@db.example.com:5432/app", "the password is missing"],
    ["postgresql", "postgresql://db.example.com:5432/app", "there are no credentials"],
    ["postgresql", `mysql://app:${SECRET}@db:3306`, "the scheme is not one for postgresql"],
    ["postgresql", `db.example.com:5432`, "there is no scheme"],
    ["mongodb", `mongodb+srv://app:${SECRET}@cluster0.example.com:27017/app`, "must not give a port"],
    ["redis", `redis://:${SECRET}@cache.example.com:99999`, "invalid port"],
    ["rabbitmq", `amqp://:${SECRET}@mq:5672`, "the user name is missing"],
    ["s3", `https://KEY:${SECRET} x@s3:443`, "spaces"],
    ["s3", `https://KEY:${SECRET}@bad_host!:443`, "not a valid host name"],
    ["redis", `redis://:50%zz@cache:6379`, "percent-encoding"],
    ["postgresql", "", "the value is empty"],
  ] as const)("%s: %s → %s", (service, value, problem) => {
    const parsed = parseConnectionString(service, value);
    expect(parsed.problems.join("; ")).toContain(problem);
    expect(parsed.endpoints).toEqual([]);
  });

  it("names the field and the fix, and never repeats the value or the password", () => {
    const value = `postgresql://app:${SECRET}@db.example.com/app`;
    const message = describeConnectionProblems(parseConnectionString("postgresql", value));
    expect(message).toMatch(/^spec\.externalServices\.postgresql is not a valid postgresql connection string: /);
    expect(message).toContain("write HOST:PORT (e.g. postgresql://USER:PASSWORD@db.example.com:5432/DBNAME)");
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain(value);
    expect(message).not.toContain("app:");
  });
});
