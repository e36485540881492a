import { need } from "../core/host.js";
import { readFile } from "node:fs/promises";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { forEachNode } from "../core/parallel.js";
import { authorizeKeyCommand, parsePublicKey, type PublicKey } from "../phases/authorized-key.js";
import { effectiveSsh, type ClusterSpec } from "../spec/schema.js";
import { expandHome } from "../spec/secrets.js";
import { machinesOf, type Session } from "./session.js";

/**
 * `ssh.installKey`: on every machine whose ssh settings name a public key, that key goes into the login
 * user's authorized_keys (install and add-node), so that later runs log in with the key even where the
 * first one needed `ssh.password`. A dry run only says where it would.
 */
export async function authorizeInstallKeys(
  spec: ClusterSpec,
  session: Session,
  opts: { dryRun: boolean },
  ctx: RunContext,
): Promise<void> {
  const wanted = machinesOf(spec).flatMap((m) => {
    const file = effectiveSsh(spec, m).installKey;
    return file && session.hosts.has(m.name)
      ? [{ name: m.name, file: expandHome(file), user: effectiveSsh(spec, m).user }]
      : [];
  });
  if (wanted.length === 0) return;
  const keys = new Map<string, PublicKey>();
  for (const file of new Set(wanted.map((w) => w.file))) keys.set(file, parsePublicKey(await readKeyFile(file), file));
  ctx.reporter.phase("Authorize the operator's SSH key");
  await forEachNode("Authorize SSH key", wanted, async (w) => {
    const key = keys.get(w.file) as PublicKey;
    if (opts.dryRun) {
      ctx.reporter.step(
        w.name,
        `would append ${key.type} key from ${w.file} to ~${w.user}/.ssh/authorized_keys unless present`,
        "done",
      );
      return;
    }
    const res = await need(session.hosts, w.name).run(authorizeKeyCommand(key));
    const added = res.stdout.trim().endsWith("added");
    ctx.reporter.step(
      w.name,
      `${key.type} key from ${w.file} ${added ? "added to" : "already in"} ~${w.user}/.ssh/authorized_keys`,
      added ? "done" : "unchanged",
    );
  });
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new HactlError(
      "SPEC_INVALID",
      `spec.ssh.installKey: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      {
        remedy: `Create the key pair with ssh-keygen -t ed25519 -f ${file.replace(/\.pub$/, "")}, or point installKey at an existing .pub file.`,
      },
    );
  }
}
