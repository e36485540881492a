/**
 * The SSH layer's public API. Importing this module does not load ssh2; the first connect does.
 */
export { connectAll, connectEach, connectNode, preferredHostKeyAlgorithms } from "./connect.js";
export type { ConnectEachResult, ConnectOptions, SshTarget } from "./connect.js";
export { describeArgv, quote, quoteArg } from "./quote.js";
export {
  GLOBAL_KNOWN_HOSTS_FILE,
  KnownHosts,
  defaultKnownHostsFile,
  fingerprint,
  formatEntry,
  hashHostName,
  hostKeyName,
  keyTypeOf,
  parseKnownHosts,
} from "./known-hosts.js";
export type { HostKeyCheck, HostKeyVerdict, KnownHostEntry } from "./known-hosts.js";
export { loadSshConfig, parseProxyJump, parseSshConfig, resolveSshConfig } from "./ssh-config.js";
export type { SshConfigValues } from "./ssh-config.js";
export { MAX_CHANNELS } from "./ssh2-host.js";
