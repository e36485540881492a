import { describe, expect, it } from "vitest";
import {
  MICROK8S_CERTS,
  daysLeft,
  parseCheckExpiration,
  parseEnddates,
  parseKubeadmDate,
  parseOpensslDate,
} from "../../../src/distros/certs.js";

// kubeadm v1.29 output (kubernetes/kubeadm#2866 and the kubeadm-certs docs), one row shortened.
const CHECK_EXPIRATION = `[check-expiration] Reading configuration from the cluster...
[check-expiration] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'

CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED
admin.conf                 Mar 15, 2023 01:59 UTC   362d            ca                      no      
apiserver                  Mar 15, 2023 01:58 UTC   362d            ca                      no      
apiserver-etcd-client      Mar 15, 2023 01:59 UTC   362d            etcd-ca                 no      
etcd-server                Mar 15, 2023 01:59 UTC   362d            etcd-ca                 no      
front-proxy-client         Mar 15, 2023 01:59 UTC   362d            front-proxy-ca          no      
scheduler.conf             Mar 15, 2023 01:59 UTC   362d            ca                      no      

CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED
ca                      Mar 12, 2032 01:58 UTC   9y              no      
front-proxy-ca          Mar 12, 2032 01:58 UTC   9y              no      
`;

describe("certificate output parsers", () => {
  it("reads openssl's and kubeadm's date formats in UTC", () => {
    expect(parseOpensslDate("Mar  5 01:59:07 2026 GMT")?.toISOString()).toBe("2026-03-05T01:59:07.000Z");
    expect(parseOpensslDate("Dec 31 23:00:00 2026 GMT")?.toISOString()).toBe("2026-12-31T23:00:00.000Z");
    expect(parseOpensslDate("yesterday")).toBeUndefined();
    expect(parseKubeadmDate("Apr 09, 2024 09:17 UTC")?.toISOString()).toBe("2024-04-09T09:17:00.000Z");
  });

  it("maps `PATH notAfter=` lines to the catalogue and skips unknown paths and noise", () => {
    const text = [
      "/var/snap/microk8s/current/certs/server.crt notAfter=Dec 12 07:26:14 2026 GMT",
      "/var/snap/microk8s/current/certs/ca.crt notAfter=Nov 30 07:26:14 2035 GMT",
      "/etc/other.crt notAfter=Dec 12 07:26:14 2026 GMT",
      "unable to load certificate",
    ].join("\n");
    const found = parseEnddates(text, MICROK8S_CERTS);
    expect(found.map((c) => [c.name, c.kind, c.notAfter.toISOString().slice(0, 10)])).toEqual([
      ["server.crt", "apiserver", "2026-12-12"],
      ["ca.crt", "ca", "2035-11-30"],
    ]);
  });

  it("reads both tables of `kubeadm certs check-expiration`, CAs as ca and kubeconfigs as client", () => {
    const found = parseCheckExpiration(CHECK_EXPIRATION);
    expect(found.map((c) => `${c.name}:${c.kind}`)).toEqual([
      "admin.conf:client",
      "apiserver:apiserver",
      "apiserver-etcd-client:datastore",
      "etcd-server:datastore",
      "front-proxy-client:front-proxy",
      "scheduler.conf:client",
      "ca:ca",
      "front-proxy-ca:ca",
    ]);
    expect(found.find((c) => c.name === "apiserver")?.path).toBe("/etc/kubernetes/pki/apiserver.crt");
    expect(found.find((c) => c.name === "ca")?.notAfter.toISOString()).toBe("2032-03-12T01:58:00.000Z");
  });

  it("counts whole days left, negative once expired", () => {
    const now = new Date("2026-01-01T12:00:00Z");
    expect(daysLeft(new Date("2026-01-11T11:59:59Z"), now)).toBe(9);
    expect(daysLeft(new Date("2026-01-11T12:00:00Z"), now)).toBe(10);
    expect(daysLeft(new Date("2025-12-31T12:00:00Z"), now)).toBe(-1);
  });
});
