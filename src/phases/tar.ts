import { gunzipSync, gzipSync } from "node:zlib";

/**
 * A minimal tar reader and writer for hactl's backup archives and the datastore archives inside them
 * (GNU tar and Python's tarfile write ustar, GNU or PAX headers; all three are read). Regular files and
 * directories only; nothing is ever extracted to disk.
 */

export interface TarEntry {
  readonly name: string;
  readonly type: "file" | "directory";
  readonly data: Buffer;
}

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString("utf8");
}

function octal(header: Buffer, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`bad number "${text}" in a tar header`);
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] as number);
  return sum === octal(header, 148, 8);
}

/** The `path=` record of a PAX extended header, if any. */
function paxPath(data: Buffer): string | undefined {
  let rest = data.toString("utf8");
  while (rest.length > 0) {
    const space = rest.indexOf(" ");
    const length = Number(rest.slice(0, space));
    if (!Number.isInteger(length) || length <= 0) return undefined;
    const record = rest.slice(space + 1, length - 1);
    if (record.startsWith("path=")) return record.slice(5);
    rest = rest.slice(length);
  }
  return undefined;
}

/** Every entry of an uncompressed tar; throws on a truncated or corrupt archive. */
export function readTar(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let ended = false;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) {
      ended = true;
      break;
    }
    if (!checksumOk(header)) throw new Error(`tar header checksum mismatch at byte ${offset}`);
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] as number);
    const start = offset + BLOCK;
    if (start + size > tar.length) throw new Error(`tar entry at byte ${offset} is truncated`);
    const data = tar.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === "g") continue;
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type === "5") entries.push({ name: name.replace(/\/$/, ""), type: "directory", data: Buffer.alloc(0) });
    else if (type === "0" || type === "\0") entries.push({ name, type: "file", data: Buffer.from(data) });
    else throw new Error(`tar entry ${name} is neither a file nor a directory (type ${JSON.stringify(type)})`);
  }
  if (!ended) throw new Error("the tar archive ends without its end-of-archive blocks (truncated)");
  return entries;
}

/** gunzip + readTar, with one error message for both kinds of damage. */
export function readTarGz(archive: Buffer): TarEntry[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (err) {
    throw new Error(`not a complete gzip file (${(err as Error).message})`);
  }
  return readTar(tar);
}

function header(name: string, size: number, type: "0" | "5", mtime: number): Buffer {
  return tarHeader(name, size, type, mtime);
}

/** One ustar header block (mode 0600 for files, 0700 for directories, owner 0). */
export function tarHeader(name: string, size: number, type: "0" | "5", mtime: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, "utf8");
  h.write(`${(type === "5" ? 0o700 : 0o600).toString(8).padStart(7, "0")}\0`, 100, 8, "ascii");
  h.write("0000000\0", 108, 8, "ascii");
  h.write("0000000\0", 116, 8, "ascii");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, 12, "ascii");
  h.write(
    `${Math.floor(mtime / 1000)
      .toString(8)
      .padStart(11, "0")}\0`,
    136,
    12,
    "ascii",
  );
  h.write("        ", 148, 8, "ascii");
  h.write(type, 156, 1, "ascii");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return h;
}

/** Zero bytes that fill a member of `size` bytes up to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK, 0);
}

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2, 0);

/** A gzipped ustar archive of the given files (mode 0600, owner 0), in the given order. */
export function writeTarGz(files: readonly { name: string; data: Buffer }[], mtime = Date.now()): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(header(f.name, f.data.length, "0", mtime), f.data);
    const pad = (BLOCK - (f.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return gzipSync(Buffer.concat(parts));
}
