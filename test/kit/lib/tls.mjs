// Certificates for the kit's TLS endpoints, made with the openssl CLI (EC P-256, fast).
import { X509Certificate, createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fail, run } from "./util.mjs";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function openssl(/** @type {string[]} */ args) {
  const r = await run("openssl", args);
  if (r.code !== 0) fail(1, `openssl ${args[0]} failed: ${r.stderr.trim()}`);
}

/** A self-signed CA at DIR/NAME.crt and DIR/NAME.key. */
export async function makeCa(/** @type {string} */ dir, /** @type {string} */ name, /** @type {string} */ cn) {
  fs.mkdirSync(dir, { recursive: true });
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-days",
    "3650",
    "-keyout",
    path.join(dir, `${name}.key`),
    "-out",
    path.join(dir, `${name}.crt`),
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  fs.chmodSync(path.join(dir, `${name}.key`), 0o600);
}

/**
 * A server+client certificate signed by the CA, with SANs for the given IPs and DNS names, valid for
 * `days` (default 3650; the real tools give leaf certificates 365).
 * @param {{caCrt: string, caKey: string, crt: string, key: string, cn: string, ips: string[], dns: string[], days?: number}} o
 */
export async function makeCert(o) {
  fs.mkdirSync(path.dirname(o.crt), { recursive: true });
  const san = [...new Set(o.ips)]
    .map((i) => `IP:${i}`)
    .concat([...new Set(o.dns)].map((d) => `DNS:${d}`))
    .join(",");
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-days",
    String(o.days ?? 3650),
    "-keyout",
    o.key,
    "-out",
    o.crt,
    "-subj",
    `/CN=${o.cn}`,
    "-CA",
    o.caCrt,
    "-CAkey",
    o.caKey,
    "-addext",
    `subjectAltName=${san}`,
    "-addext",
    "extendedKeyUsage=serverAuth,clientAuth",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
  ]);
  fs.chmodSync(o.key, 0o600);
}

/**
 * A client certificate (key and certificate PEM) signed by the CA, for a kubeconfig user: CN is the user
 * name, O its group, as the API server's x509 authenticator reads them.
 * @param {{caCrt: string, caKey: string, cn: string, org?: string, days?: number}} o
 */
export async function makeClientCert(o) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kit-client-"));
  try {
    const crt = path.join(dir, "c.crt");
    const key = path.join(dir, "c.key");
    await openssl([
      "req",
      "-x509",
      ...EC,
      "-days",
      String(o.days ?? 365),
      "-keyout",
      key,
      "-out",
      crt,
      "-subj",
      `${o.org ? `/O=${o.org}` : ""}/CN=${o.cn}`,
      "-CA",
      o.caCrt,
      "-CAkey",
      o.caKey,
      "-addext",
      "extendedKeyUsage=clientAuth",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ]);
    return { crt: fs.readFileSync(crt, "utf8"), key: fs.readFileSync(key, "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** microk8s' join check: first 12 hex chars of the sha256 of the certificate in DER form. */
export function fingerprint12(/** @type {string} */ pem) {
  return createHash("sha256").update(new X509Certificate(pem).raw).digest("hex").slice(0, 12);
}

/** kubeadm's discovery hash: "sha256:" + sha256 of the CA's SubjectPublicKeyInfo (DER). */
export function caCertHash(/** @type {string} */ pem) {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

/** A self-signed serving certificate (as a kubelet makes for itself when it has none), valid for `days`. */
export async function makeSelfSigned(
  /** @type {string} */ crt,
  /** @type {string} */ key,
  /** @type {string} */ cn,
  /** @type {number} */ days,
) {
  fs.mkdirSync(path.dirname(crt), { recursive: true });
  await openssl(["req", "-x509", ...EC, "-days", String(days), "-keyout", key, "-out", crt, "-subj", `/CN=${cn}`]);
  fs.chmodSync(key, 0o600);
}

/** Days until the certificate at FILE expires, rounded down (as `microk8s refresh-certs --check` counts). */
export function daysUntilExpiry(/** @type {string} */ file) {
  const notAfter = Date.parse(new X509Certificate(fs.readFileSync(file)).validTo);
  return Math.floor((notAfter - Date.now()) / 86_400_000);
}
