/**
 * Secret values (passwords, join tokens, certificate keys, connection strings) are registered here the
 * moment they are resolved or captured. Every path that writes text for humans or machines (terminal,
 * log file, JSON events, error messages) passes it through redact(), so a secret cannot leak even when
 * a remote command echoes it back.
 */

const MASK = "«redacted»";
const secrets = new Set<string>();

/** Remember a secret value; values shorter than 4 characters are ignored (they would mask everything). */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4) return;
  secrets.add(value);
  for (const part of derivedForms(value)) secrets.add(part);
}

/** Forms a secret commonly takes in output: URL-encoded, and the password part of a URL's userinfo. */
function derivedForms(value: string): string[] {
  const forms: string[] = [];
  const encoded = encodeURIComponent(value);
  if (encoded !== value) forms.push(encoded);
  try {
    const url = new URL(value);
    if (url.password.length >= 4) forms.push(url.password, decodeURIComponent(url.password));
  } catch {
    // not a URL: nothing more to derive
  }
  return forms;
}

export function redact(text: string): string {
  if (secrets.size === 0 || text.length === 0) return text;
  let out = text;
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  for (const s of ordered) {
    if (out.includes(s)) out = out.split(s).join(MASK);
  }
  return out;
}

/** For tests only: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
}
