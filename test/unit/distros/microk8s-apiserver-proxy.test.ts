import { describe, expect, it } from "vitest";
import {
  isZeroDuration,
  providerServers,
  proxyPointsAt,
  refreshInterval,
  renderProvider,
  withRefreshDisabled,
} from "../../../src/distros/microk8s-apiserver-proxy.js";

/** What MicroK8s' join writes on a worker (PyYAML's dump of provider-template.yaml). */
const JOINED = `tcp:
  routers:
    Router-1:
      rule: HostSNI(\`*\`)
      service: kube-apiserver
      tls:
        passthrough: true
  services:
    kube-apiserver:
      loadBalancer:
        servers:
        - address: 10.0.0.11:16443
`;
const DEFAULT_ARGS =
  "--traefik-config ${SNAP_DATA}/args/traefik/traefik.yaml\n--kubeconfig ${SNAP_DATA}/credentials/kubelet.config\n--refresh-interval 30s\n";

describe("provider.yaml", () => {
  it("renders the file MicroK8s' join writes, with the given servers", () => {
    expect(renderProvider(["10.0.0.11:16443"])).toBe(JOINED);
  });

  it("reads the servers of any YAML spelling of that shape (the template's quoted form too)", () => {
    expect(providerServers(JOINED)).toEqual(["10.0.0.11:16443"]);
    const quoted =
      'tcp:\n  services:\n    kube-apiserver:\n      loadBalancer:\n        servers:\n          - address: "10.0.0.100:7443"\n          - address: "10.0.0.12:16443"\n';
    expect(providerServers(quoted)).toEqual(["10.0.0.100:7443", "10.0.0.12:16443"]);
  });

  it("refuses a file without the server list or with a server lacking an address", () => {
    expect(providerServers("tcp: {}\n")).toBeUndefined();
    expect(
      providerServers(
        "tcp:\n  services:\n    kube-apiserver:\n      loadBalancer:\n        servers:\n        - host: x\n",
      ),
    ).toBeUndefined();
    expect(providerServers("tcp: [unclosed\n")).toBeUndefined();
  });
});

describe("the apiserver-proxy args file", () => {
  it("reads --refresh-interval in both spellings", () => {
    expect(refreshInterval(DEFAULT_ARGS)).toBe("30s");
    expect(refreshInterval("--refresh-interval=0\n")).toBe("0");
    expect(refreshInterval("--kubeconfig x\n")).toBeUndefined();
  });

  it("knows Go's zero durations", () => {
    for (const z of ["0", "0s", "0m0s", "0.0s"]) expect(isZeroDuration(z)).toBe(true);
    for (const nz of ["30s", "5m", "1h0m", "", undefined]) expect(isZeroDuration(nz)).toBe(false);
  });

  it("sets the interval to 0s in place, keeping every other line, and appends it when missing", () => {
    expect(withRefreshDisabled(DEFAULT_ARGS)).toBe(DEFAULT_ARGS.replace("30s", "0s"));
    expect(withRefreshDisabled("--refresh-interval 5m\n--listen 127.0.0.1:16443\n")).toBe(
      "--refresh-interval 0s\n--listen 127.0.0.1:16443\n",
    );
    expect(withRefreshDisabled("--kubeconfig k")).toBe("--kubeconfig k\n--refresh-interval 0s\n");
    expect(withRefreshDisabled(withRefreshDisabled(DEFAULT_ARGS))).toBe(withRefreshDisabled(DEFAULT_ARGS));
  });
});

describe("proxyPointsAt", () => {
  const atVip = renderProvider(["10.0.0.100:7443"]);
  it("holds only for the load balancer alone with refresh off", () => {
    expect(proxyPointsAt(atVip, withRefreshDisabled(DEFAULT_ARGS), "10.0.0.100:7443")).toBe(true);
    expect(proxyPointsAt(atVip, DEFAULT_ARGS, "10.0.0.100:7443")).toBe(false);
    expect(proxyPointsAt(JOINED, withRefreshDisabled(DEFAULT_ARGS), "10.0.0.100:7443")).toBe(false);
    expect(
      proxyPointsAt(
        renderProvider(["10.0.0.100:7443", "10.0.0.11:16443"]),
        withRefreshDisabled(DEFAULT_ARGS),
        "10.0.0.100:7443",
      ),
    ).toBe(false);
    expect(proxyPointsAt(undefined, withRefreshDisabled(DEFAULT_ARGS), "10.0.0.100:7443")).toBe(false);
  });
});
