import { describe, expect, it } from "vitest";
import { connectionStringProblems, describeProblems } from "../../../src/wizard/connection-string.js";

describe("connection string shapes", () => {
  it.each([
    ["postgresql", "postgresql://app:pw@db.example.com:5432/app"],
    ["postgresql", "postgres://app:p%2Fw@10.0.0.5:5432/app?sslmode=require"],
    ["mongodb", "mongodb://app:pw@m1.example.com:27017,m2.example.com:27017/app?replicaSet=rs0"],
    ["mongodb", "mongodb+srv://app:pw@cluster.example.com/app"],
    ["s3", "https://AKIA:secret@s3.example.com:9000/bucket"],
    ["redis", "redis://:pw@redis.example.com:6379/0"],
    ["redis", "rediss://default:pw@redis.example.com:6380"],
    ["rabbitmq", "amqp://app:pw@rabbit.example.com:5672/vhost"],
  ] as const)("accepts %s %s", (service, value) => {
    expect(connectionStringProblems(service, value)).toEqual([]);
  });

  it.each([
    ["postgresql", "db.example.com:5432", /no scheme: it must start with postgresql:\/\/ or postgres:\/\//],
    ["postgresql", "mysql://app:pw@db:3306/app", /the scheme is not one of/],
    ["postgresql", "postgresql://db.example.com:5432/app", /no credentials/],
    ["postgresql", "postgresql://app@db.example.com:5432/app", /no password/],
    ["postgresql", "postgresql://:pw@db.example.com:5432/app", /no user name/],
    ["postgresql", "postgresql://app:pw@db.example.com/app", /has no port/],
    ["postgresql", "postgresql://app:pw@:5432/app", /no host/],
    ["postgresql", "postgresql://app:pw@db.example.com:99999/app", /invalid port/],
    ["postgresql", "postgresql://app:p/w@db.example.com:5432/app", /percent-encode/],
    ["mongodb", "mongodb://app:pw@m1:27017,m2/app", /host 2 has no port/],
    ["mongodb", "mongodb+srv://app:pw@cluster.example.com:27017/app", /must not give a port/],
    ["redis", "redis://redis.example.com:6379", /no credentials: put :PASSWORD@/],
    ["rabbitmq", "amqp://app:pw@bad_host!:5672", /not a valid hostname/],
  ] as const)("refuses %s %s", (service, value, why) => {
    const problems = connectionStringProblems(service, value);
    expect(problems.join("; ")).toMatch(why);
  });

  it("never repeats the value in its messages", () => {
    const value = "postgresql://appuser:VerySecret@dbhost.example.com/appdb";
    const line = describeProblems("postgresql", "PG_URL", connectionStringProblems("postgresql", value));
    expect(line).toMatch(/^PG_URL is set, but .*has no port/);
    for (const part of ["appuser", "VerySecret", "dbhost", "appdb"]) expect(line).not.toContain(part);
  });
});
