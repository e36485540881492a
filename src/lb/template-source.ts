/**
 * Where template text comes from: an operator's override directory first (`--templates DIR` or
 * `loadBalancer.templates`), then the templates/ directory shipped with hactl. An override directory
 * mirrors the built-in layout (e.g. DIR/haproxy/haproxy.cfg.tpl) and may hold only the files it changes.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { embeddedText, isSingleFile } from "../core/embedded.js";
import { HactlError } from "../core/errors.js";

/** Every template hactl renders, relative to a templates directory. */
export const TEMPLATE_NAMES = [
  "keepalived/keepalived.conf.tpl",
  "keepalived/check_haproxy.sh.tpl",
  "keepalived/check_nginx.sh.tpl",
  "haproxy/haproxy.cfg.tpl",
  "haproxy/haproxy-external.cfg.tpl",
  "nginx/nginx.conf.tpl",
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface LoadedTemplate {
  /** The template text. */
  text: string;
  /** The file it was read from (or another label for in-memory templates); used in error messages. */
  origin: string;
}

/** Returns the text of one template. Tests may pass an in-memory implementation. */
export type TemplateSource = (name: TemplateName) => LoadedTemplate;

/**
 * The templates/ directory of the hactl package. This file runs as src/lb/*.ts under vitest and as
 * dist/lb/*.js when built, so the package root is two levels up in both cases.
 */
export function builtinTemplatesDir(): string {
  const dir = fileURLToPath(new URL("../../templates/", import.meta.url));
  if (!existsSync(join(dir, TEMPLATE_NAMES[0]))) {
    throw new HactlError("INTERNAL", `hactl's built-in templates are missing (looked in ${dir})`, {
      remedy: "Reinstall hactl; the package must ship its templates/ directory.",
    });
  }
  return dir;
}

/** A built-in template: from the package's templates/ directory, or from inside the single-file hactl. */
function builtinTemplate(name: TemplateName, dir: string | undefined): LoadedTemplate {
  if (dir === undefined)
    return { text: embeddedText(`templates/${name}`) ?? "", origin: `(built into hactl) templates/${name}` };
  const path = join(dir, name);
  return { text: readFileSync(path, "utf8"), origin: path };
}

/** A source that reads `overrideDir` first (when given), then the built-in templates. */
export function templateSource(overrideDir?: string): TemplateSource {
  const builtin = isSingleFile() ? undefined : builtinTemplatesDir();
  const override = overrideDir === undefined ? undefined : resolve(overrideDir);
  if (override !== undefined && !(existsSync(override) && statSync(override).isDirectory())) {
    throw new HactlError("SPEC_INVALID", `templates directory ${override} does not exist`, {
      remedy:
        "Point --templates or loadBalancer.templates at a directory laid out like hactl's templates/ (only changed files are needed).",
    });
  }
  return (name) => {
    const candidate = override === undefined ? undefined : join(override, name);
    if (candidate !== undefined && existsSync(candidate))
      return { text: readFileSync(candidate, "utf8"), origin: candidate };
    return builtinTemplate(name, builtin);
  };
}
