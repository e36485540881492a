import { HactlError } from "../core/errors.js";
import type { Command } from "../core/command.js";

/** One OpenSSH public key line: `TYPE BASE64 [comment]`. */
export interface PublicKey {
  readonly type: string;
  readonly blob: string;
  /** The line appended to authorized_keys (type, key and comment as in the file). */
  readonly line: string;
}

const KEY_TYPES =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** Pure: the public key in a `.pub` file, or an error naming the file and what is wrong. */
export function parsePublicKey(text: string, file: string): PublicKey {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const bad = (why: string): HactlError =>
    new HactlError("SPEC_INVALID", `spec.ssh.installKey: ${file} ${why}`, {
      remedy:
        "Point installKey at a public key file written by ssh-keygen (e.g. ~/.ssh/id_ed25519.pub), never at the private key.",
    });
  if (text.includes("PRIVATE KEY")) throw bad("holds a private key");
  if (lines.length !== 1) throw bad(`holds ${lines.length} keys; it must hold exactly one`);
  const [type = "", blob = "", ...comment] = (lines[0] as string).split(/\s+/);
  if (!KEY_TYPES.test(type))
    throw bad(`does not start with a key type such as ssh-ed25519 (found "${type.slice(0, 40)}")`);
  if (!/^[A-Za-z0-9+/]+={0,3}$/.test(blob)) throw bad("has no base64 key after its type");
  return { type, blob, line: [type, blob, ...comment].join(" ") };
}

/**
 * As the login user (no sudo: the files must belong to that user): ~/.ssh created 0700 when missing,
 * authorized_keys 0600, the key appended unless a line already holds the same type and key (options or
 * another comment in front do not matter). Prints `added` or `present`. The key comes on stdin.
 */
const SCRIPT = `set -eu
umask 077
key=$(cat)
type=\${key%% *}
rest=\${key#* }
blob=\${rest%% *}
dir="$HOME/.ssh"
file="$dir/authorized_keys"
[ -d "$dir" ] || mkdir -m 700 "$dir"
chmod 700 "$dir"
[ -e "$file" ] || : > "$file"
chmod 600 "$file"
if awk -v t="$type" -v b="$blob" '{ for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) found = 1 } END { exit !found }' "$file"; then echo present; exit 0; fi
if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then echo >> "$file"; fi
printf '%s\\n' "$key" >> "$file"
echo added`;

export function authorizeKeyCommand(key: PublicKey): Command {
  return { argv: ["sh", "-c", SCRIPT, "hactl-authorize-key"], stdin: `${key.line}\n` };
}
