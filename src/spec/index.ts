/** The cluster.yaml module: schema and types, parsing and validation, secrets, JSON Schema, edits. */
export * from "./schema.js";
export { parseSpec, loadSpecFile, MAX_SPEC_BYTES, type ParseResult, type LoadedSpec } from "./parse.js";
export {
  formatProblems,
  summarizeProblems,
  hasErrors,
  formatPath,
  type Problem,
  type Severity,
  type PathSegment,
} from "./problems.js";
export {
  resolveSecret,
  describeSecretRef,
  collectSecretRefs,
  expandHome,
  type ResolveSecretOptions,
  type SecretRefAt,
} from "./secrets.js";
export { clusterJsonSchema, SCHEMA_ID } from "./json-schema.js";
export { addNode, removeNode, setPath, writeSpec } from "./edit.js";
