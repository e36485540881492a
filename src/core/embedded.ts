/**
 * Files built into the single-file hactl (`npm run build:single`): Node's single executable application
 * keeps them as assets under their path in the package (`templates/haproxy/haproxy.cfg.tpl`,
 * `package.json`). Run from a checkout or an npm install, hactl reads the files themselves instead.
 */
import * as sea from "node:sea";

/** True when this process is the single-file hactl. */
export function isSingleFile(): boolean {
  return sea.isSea();
}

/** The text of a file built into the single-file hactl, or undefined when this is not one. */
export function embeddedText(key: string): string | undefined {
  if (!sea.isSea()) return undefined;
  return sea.getAsset(key, "utf8");
}
