import { describe, expect, it } from "vitest";
import { bundleProblems } from "../../../src/bundle/manifest.js";
import { MICROK8S_IMAGE_MINORS, microk8sImageSets } from "../../../src/bundle/microk8s-addon-images.js";
import { HactlError } from "../../../src/core/errors.js";
import { importFailures } from "../../../src/distros/microk8s.js";
import type { AddonsSpec, ClusterSpec } from "../../../src/spec/schema.js";
import { microk8sBundleManifest } from "../../fakes/bundle.js";
import { specFrom, THREE_CP_ONE_WORKER } from "../../fakes/spec.js";

const DEFAULTS: AddonsSpec = { dns: true, haCluster: true, metricsServer: false, hostpathStorage: false };
const ALL: AddonsSpec = { dns: true, haCluster: true, metricsServer: true, hostpathStorage: true };

function withAddons(addons: AddonsSpec): ClusterSpec {
  const spec = specFrom(THREE_CP_ONE_WORKER);
  return { ...spec, spec: { ...spec.spec, addons } };
}

describe("the images of MicroK8s addons, per minor", () => {
  it("a default spec on 1.29: the sandbox image, CoreDNS and Calico, one tarball each", () => {
    expect(microk8sImageSets("1.29", DEFAULTS)).toEqual([
      { of: "sandbox", file: "sandbox-images.tar", images: ["registry.k8s.io/pause:3.7"] },
      { of: "dns", file: "dns-images.tar", images: ["docker.io/coredns/coredns:1.10.1"] },
      {
        of: "ha-cluster",
        file: "ha-cluster-images.tar",
        images: [
          "docker.io/calico/cni:v3.25.1",
          "docker.io/calico/kube-controllers:v3.25.1",
          "docker.io/calico/node:v3.25.1",
        ],
      },
    ]);
  });

  it("only the addons turned on, in enable order, with the images of the spec's minor", () => {
    const sets = microk8sImageSets("1.36", { ...ALL, dns: false });
    expect(sets.map((s) => s.of)).toEqual(["sandbox", "ha-cluster", "metrics-server", "hostpath-storage"]);
    expect(sets.flatMap((s) => s.images)).toEqual([
      "registry.k8s.io/pause:3.10",
      "docker.io/calico/cni:v3.29.3",
      "docker.io/calico/kube-controllers:v3.29.3",
      "docker.io/calico/node:v3.29.3",
      "registry.k8s.io/metrics-server/metrics-server:v0.8.1",
      "docker.io/cdkbot/hostpath-provisioner:1.6.0",
      "docker.io/library/busybox:1.28.4",
    ]);
    expect(MICROK8S_IMAGE_MINORS).toEqual(["1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36"]);
  });

  it("names the minor and the addons when the table has no row for that minor", () => {
    const error = (() => {
      try {
        microk8sImageSets("1.37", { ...DEFAULTS, metricsServer: true });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(HactlError);
    expect((error as HactlError).message).toBe(
      "hactl bundle does not know the container images of MicroK8s 1.37's addons (dns, ha-cluster, metrics-server)",
    );
    expect((error as HactlError).remedy).toContain("(1.29, 1.30, 1.31, 1.32, 1.33, 1.34, 1.35, 1.36)");
  });
});

describe("a MicroK8s bundle against the addons the spec turns on", () => {
  const x86 = new Map(specFrom(THREE_CP_ONE_WORKER).spec.nodes.map((n) => [n.name, { arch: "x86_64" }]));

  it("refuses a bundle without the images of an addon turned on (one made before it was turned on)", () => {
    expect(bundleProblems(microk8sBundleManifest(), withAddons(DEFAULTS), x86)).toEqual([]);
    expect(
      bundleProblems(microk8sBundleManifest(), withAddons({ ...DEFAULTS, hostpathStorage: true }), x86).map(
        (p) => p.message,
      ),
    ).toEqual(["the bundle has no images file of hostpath-storage"]);
    const noSandbox = microk8sBundleManifest();
    noSandbox.files = noSandbox.files.filter((f) => f.of !== "sandbox");
    expect(bundleProblems(noSandbox, withAddons(DEFAULTS), x86).map((p) => p.message)).toEqual([
      "the bundle has no images file of sandbox",
    ]);
  });

  it("reads the nodes that did not take a tarball from microk8s images import's output (it exits 0)", () => {
    expect(importFailures("Pushing OCI images to 10.0.0.11:25000\n")).toEqual([]);
    expect(
      importFailures(
        [
          "Pushing OCI images to 10.0.0.11:25000",
          "Failed to import images on 10.0.0.11:25000: ctr: unexpected EOF",
          "Pushing OCI images to 10.0.0.12:25000",
          "Failed to reach 10.0.0.12:25000: connection refused",
        ].join("\n"),
      ),
    ).toEqual([
      "Failed to import images on 10.0.0.11:25000: ctr: unexpected EOF",
      "Failed to reach 10.0.0.12:25000: connection refused",
    ]);
  });
});
