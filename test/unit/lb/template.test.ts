import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { renderTemplate } from "../../../src/lb/template.js";

function errorOf(fn: () => unknown): HactlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HactlError) return err;
    throw err;
  }
  throw new Error("expected a HactlError");
}

describe("renderTemplate", () => {
  it("substitutes names and dotted paths verbatim", () => {
    expect(
      renderTemplate("bind {{vip}}:{{port}} {{stats.user}} {{on}}", {
        vip: "10.0.0.1",
        port: 7443,
        stats: { user: "a&b<c>" },
        on: true,
      }),
    ).toBe("bind 10.0.0.1:7443 a&b<c> true");
  });

  it("repeats an each block per item, items shadowing outer names", () => {
    const text = "{{#each servers}}server {{name}} {{address}}:{{port}}\n{{/each}}";
    expect(
      renderTemplate(text, {
        port: 16443,
        name: "outer",
        servers: [
          { name: "n1", address: "10.0.0.1" },
          { name: "n2", address: "10.0.0.2" },
        ],
      }),
    ).toBe("server n1 10.0.0.1:16443\nserver n2 10.0.0.2:16443\n");
  });

  it("nests each blocks and renders nothing for an empty list", () => {
    const text = "{{#each ups}}[{{name}}:{{#each servers}} {{ep}}{{/each}}]{{/each}}";
    expect(
      renderTemplate(text, {
        ups: [
          { name: "a", servers: [{ ep: "x" }, { ep: "y" }] },
          { name: "b", servers: [] },
        ],
      }),
    ).toBe("[a: x y][b:]");
    expect(renderTemplate("<{{#each xs}}{{v}}{{/each}}>", { xs: [] })).toBe("<>");
  });

  it("renders if bodies for truthy values and else bodies otherwise", () => {
    const text = "{{#if flag}}yes{{else}}no{{/if}}";
    for (const v of [true, "x", 1, [1]]) expect(renderTemplate(text, { flag: v })).toBe("yes");
    for (const v of [false, "", 0, [], null, undefined]) expect(renderTemplate(text, { flag: v })).toBe("no");
  });

  it("drops the lines of standalone block tags and comments but keeps inline ones", () => {
    const text = [
      "{{! a comment for template readers }}",
      "a",
      "  {{#if on}}",
      "  b {{#if on}}inline{{/if}}",
      "  {{/if}}",
      "c",
      "{{#if off}}",
      "hidden",
      "{{/if}}",
      "",
    ].join("\n");
    expect(renderTemplate(text, { on: true, off: false })).toBe("a\n  b inline\nc\n");
  });

  it("keeps blank lines inside blocks", () => {
    expect(renderTemplate("x\n{{#if on}}\n\ny\n{{/if}}\nz\n", { on: true })).toBe("x\n\ny\nz\n");
  });

  it("refuses unknown variables and names the template and line", () => {
    const err = errorOf(() => renderTemplate("ok\nbind {{vipp}}\n", { vip: "1.2.3.4" }, "haproxy.cfg.tpl"));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toBe('haproxy.cfg.tpl:2: unknown variable "vipp"');
    expect(errorOf(() => renderTemplate("{{#if missing}}x{{/if}}", {})).message).toMatch(/unknown variable "missing"/);
    expect(errorOf(() => renderTemplate("{{#each xs}}{{nope}}{{/each}}", { xs: [{ a: 1 }] })).message).toMatch(
      /unknown variable "nope"/,
    );
    expect(errorOf(() => renderTemplate("{{stats.port}}", { stats: false })).message).toMatch(
      /unknown variable "stats.port"/,
    );
  });

  it("refuses values holding a newline, carriage return or NUL", () => {
    for (const bad of ["eth0\n    script_user nobody", "eth0\r", "eth\0"]) {
      const err = errorOf(() => renderTemplate("interface {{iface}}", { iface: bad }, "keepalived.conf.tpl"));
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.message).toBe('keepalived.conf.tpl:1: refusing the value of "iface": it contains a newline or NUL');
    }
  });

  it("refuses to print lists, objects and absent values", () => {
    expect(errorOf(() => renderTemplate("{{xs}}", { xs: [] })).message).toMatch(/"xs" has no printable value/);
    expect(errorOf(() => renderTemplate("{{o}}", { o: { a: "b" } })).message).toMatch(/no printable value/);
    expect(errorOf(() => renderTemplate("{{u}}", { u: undefined })).message).toMatch(/no printable value/);
    expect(errorOf(() => renderTemplate("{{#each s}}{{/each}}", { s: "abc" })).message).toMatch(/"s" is not a list/);
  });

  it("reports malformed templates", () => {
    expect(errorOf(() => renderTemplate("{{#if a}}x", { a: 1 }, "t")).message).toBe("t:1: {{#if a}} is never closed");
    expect(errorOf(() => renderTemplate("{{#if a}}x{{/each}}", { a: 1 })).message).toMatch(
      /does not close an open block/,
    );
    expect(errorOf(() => renderTemplate("x{{/if}}", {})).message).toMatch(/does not close an open block/);
    expect(errorOf(() => renderTemplate("{{else}}", {})).message).toMatch(/outside an \{\{#if\}\} block/);
    expect(errorOf(() => renderTemplate("{{#if a}}{{else}}{{else}}{{/if}}", { a: 1 })).message).toMatch(/outside/);
    expect(errorOf(() => renderTemplate("{{ bad name }}", {})).message).toMatch(/malformed tag/);
    expect(errorOf(() => renderTemplate("a\n{{vip", { vip: "x" })).message).toMatch(/:2: unclosed '\{\{'/);
  });
});
