import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { describeArgv, quote, quoteArg } from "../../../src/ssh/quote.js";

const hostile = [
  "",
  " ",
  "two words",
  "it's",
  "'",
  "''",
  "'\\''",
  '"double"',
  "$(touch /tmp/hactl-pwned)",
  "`id`",
  "${HOME}",
  "$HOME",
  "a\nb",
  "line\r\nend",
  "tab\there",
  "*",
  "/etc/*.conf",
  "?",
  "[a-z]",
  "{a,b}",
  "~",
  "~root",
  "-n",
  "--",
  "-e",
  "a;b",
  "a|b",
  "a&&b",
  "a>b",
  "<in",
  "#comment",
  "x=1",
  "!",
  "\\",
  "back\\slash\\",
  "ünïcødé ✓ 日本",
  "emoji 🚀",
  "%s%n",
];

/** Let a real POSIX shell parse the quoted line and print each word NUL-terminated. */
function roundTrip(shell: string, argv: readonly string[]): string[] {
  const out = execFileSync(shell, ["-c", `printf '%s\\0' ${quote(argv)}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("quote", () => {
  it("leaves plain words readable", () => {
    expect(quote(["kubectl", "get", "nodes", "-o", "json", "--kubeconfig=/etc/kubernetes/admin.conf"])).toBe(
      "kubectl get nodes -o json --kubeconfig=/etc/kubernetes/admin.conf",
    );
  });

  it("single-quotes anything else, writing ' as '\\''", () => {
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg("")).toBe("''");
    expect(quoteArg("$(id)")).toBe("'$(id)'");
    expect(quoteArg("a b")).toBe("'a b'");
  });

  it("quotes an assignment-looking first word so it stays a command name", () => {
    expect(quote(["A=b", "c=d"])).toBe("'A=b' c=d");
    expect(roundTrip("sh", ["printf", "%s", "x=1"])).toEqual(["printf", "%s", "x=1"]);
  });

  it("rejects NUL bytes", () => {
    expect(() => quote(["echo", "a\0b"])).toThrow(HactlError);
    expect(() => quoteArg("\0")).toThrow(/NUL byte/);
  });

  for (const shell of ["sh", "bash"]) {
    it(`round-trips every hostile string exactly through ${shell}`, () => {
      expect(roundTrip(shell, hostile)).toEqual(hostile);
    });

    it(`round-trips each hostile string alone through ${shell}`, () => {
      for (const word of hostile) expect(roundTrip(shell, [word])).toEqual([word]);
    });
  }

  it("never runs command substitutions from arguments", () => {
    const out = execFileSync("sh", ["-c", quote(["echo", "$(echo injected)", "`echo injected`"])], {
      encoding: "utf8",
    });
    expect(out).toBe("$(echo injected) `echo injected`\n");
  });

  it("describes long commands by their first words", () => {
    expect(describeArgv(["microk8s", "join", "10.0.0.1:25000/token", "--worker"], 2)).toBe("microk8s join …");
    expect(describeArgv(["true"])).toBe("true");
  });
});
