import type { Command } from "../core/command.js";

/**
 * The certificates that keep a cluster up, where each distribution keeps them, and parsers of the real
 * tools' output about them: `openssl x509 -enddate -noout` (every file, with its exact date; `microk8s
 * refresh-certs --check` only prints whole days for three of them) and `kubeadm certs check-expiration`.
 */

export type CertKind = "ca" | "apiserver" | "front-proxy" | "datastore" | "kubelet" | "client";

export interface CertFile {
  /** The name the distribution's own tools use: `server.crt`, `apiserver`, `etcd-server`, `admin.conf`. */
  readonly name: string;
  readonly kind: CertKind;
  /** Where it lives on the node (kubeconfig files embed their client certificate). */
  readonly path: string;
}

/** A certificate as seen on one node. */
export interface CertObservation extends CertFile {
  readonly notAfter: Date;
}

const SNAP_DATA = "/var/snap/microk8s/current";

/** MicroK8s: the certificates in $SNAP_DATA/certs plus the datastore's (dqlite) and the kubelet's serving one. */
export const MICROK8S_CERTS: readonly CertFile[] = [
  { name: "ca.crt", kind: "ca", path: `${SNAP_DATA}/certs/ca.crt` },
  { name: "server.crt", kind: "apiserver", path: `${SNAP_DATA}/certs/server.crt` },
  { name: "front-proxy-ca.crt", kind: "ca", path: `${SNAP_DATA}/certs/front-proxy-ca.crt` },
  { name: "front-proxy-client.crt", kind: "front-proxy", path: `${SNAP_DATA}/certs/front-proxy-client.crt` },
  { name: "cluster.crt", kind: "datastore", path: `${SNAP_DATA}/var/kubernetes/backend/cluster.crt` },
  { name: "kubelet.crt", kind: "kubelet", path: `${SNAP_DATA}/certs/kubelet.crt` },
];

/** The server-side certificates a renewal replaces: never a CA (that is --ca, a separate decision). */
export const RENEWABLE_KINDS: readonly CertKind[] = ["apiserver", "front-proxy", "datastore", "client"];

/** The certificates `microk8s refresh-certs --cert` can renew without touching the CA. */
export const MICROK8S_RENEWABLE = ["server.crt", "front-proxy-client.crt"] as const;

/** kubeadm: the kubelet's serving certificate, which `kubeadm certs` does not manage. */
export const KUBEADM_KUBELET_CERT: CertFile = {
  name: "kubelet.crt",
  kind: "kubelet",
  path: "/var/lib/kubelet/pki/kubelet.crt",
};

/**
 * Prints `PATH notAfter=...` for every readable certificate among the arguments; missing files are
 * skipped (a worker has no CA key, an older release no front-proxy certificate).
 */
const ENDDATE_SCRIPT = `for f in "$@"; do
  [ -e "$f" ] || continue
  if e=$(openssl x509 -enddate -noout -in "$f" 2>/dev/null); then printf '%s %s\\n' "$f" "$e"; fi
done`;

export function enddatesCommand(paths: readonly string[]): Command {
  return { argv: ["sh", "-c", ENDDATE_SCRIPT, "hactl-cert-enddates", ...paths], sudo: true };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** openssl's `Mar  5 01:59:00 2026 GMT`. */
export function parseOpensslDate(text: string): Date | undefined {
  const m = /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s+GMT$/.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1] as string);
  if (month < 0) return undefined;
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

/** kubeadm's `Mar 15, 2026 01:59 UTC` (Go layout "Jan 02, 2006 15:04 MST"). */
export function parseKubeadmDate(text: string): Date | undefined {
  const m = /^([A-Z][a-z]{2})\s+(\d{1,2}),\s+(\d{4})\s+(\d{2}):(\d{2})\s+UTC$/.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1] as string);
  if (month < 0) return undefined;
  return new Date(Date.UTC(Number(m[3]), month, Number(m[2]), Number(m[4]), Number(m[5])));
}

/** The output of enddatesCommand for the given catalogue: one observation per certificate found. */
export function parseEnddates(text: string, catalogue: readonly CertFile[]): CertObservation[] {
  const found: CertObservation[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\S+) notAfter=(.+)$/.exec(line.trim());
    if (!m) continue;
    const file = catalogue.find((c) => c.path === m[1]);
    const notAfter = parseOpensslDate(m[2] as string);
    if (file && notAfter) found.push({ ...file, notAfter });
  }
  return found;
}

const KUBEADM_KIND: Record<string, CertKind> = {
  apiserver: "apiserver",
  "apiserver-etcd-client": "datastore",
  "apiserver-kubelet-client": "client",
  "etcd-healthcheck-client": "datastore",
  "etcd-peer": "datastore",
  "etcd-server": "datastore",
  "front-proxy-client": "front-proxy",
};

const KUBEADM_PATH: Record<string, string> = {
  apiserver: "/etc/kubernetes/pki/apiserver.crt",
  "apiserver-etcd-client": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
  "apiserver-kubelet-client": "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
  "etcd-healthcheck-client": "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
  "etcd-peer": "/etc/kubernetes/pki/etcd/peer.crt",
  "etcd-server": "/etc/kubernetes/pki/etcd/server.crt",
  "front-proxy-client": "/etc/kubernetes/pki/front-proxy-client.crt",
  ca: "/etc/kubernetes/pki/ca.crt",
  "etcd-ca": "/etc/kubernetes/pki/etcd/ca.crt",
  "front-proxy-ca": "/etc/kubernetes/pki/front-proxy-ca.crt",
};

/**
 * `kubeadm certs check-expiration`: the certificate table (CERTIFICATE, EXPIRES, RESIDUAL TIME,
 * CERTIFICATE AUTHORITY, EXTERNALLY MANAGED) and the authority table (CERTIFICATE AUTHORITY, EXPIRES,
 * RESIDUAL TIME, EXTERNALLY MANAGED). kubeconfig files (admin.conf, ...) count as client certificates.
 */
export function parseCheckExpiration(text: string): CertObservation[] {
  const found: CertObservation[] = [];
  let table: "certs" | "cas" | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (/^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME/.test(line)) {
      table = "certs";
      continue;
    }
    if (/^CERTIFICATE AUTHORITY\s+EXPIRES\s+RESIDUAL TIME/.test(line)) {
      table = "cas";
      continue;
    }
    if (!table || line.trim() === "") continue;
    const m = /^(\S+)\s+([A-Z][a-z]{2} \d{1,2}, \d{4} \d{2}:\d{2} UTC)\s+/.exec(line);
    if (!m) continue;
    const name = m[1] as string;
    const notAfter = parseKubeadmDate(m[2] as string);
    if (!notAfter) continue;
    const kind: CertKind =
      table === "cas" ? "ca" : name.endsWith(".conf") ? "client" : (KUBEADM_KIND[name] ?? "client");
    found.push({ name, kind, path: KUBEADM_PATH[name] ?? `/etc/kubernetes/${name}`, notAfter });
  }
  return found;
}

/** Whole days from `now` until `notAfter`, rounded down (negative once expired), as the real tools count. */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
}
