export {
  renderKeepalivedHaproxy,
  renderExternalLb,
  type LbNode,
  type KeepalivedHaproxyInput,
  type ExternalLbInput,
  type ExternalPort,
  type RenderedConfig,
} from "./render.js";
export {
  templateSource,
  builtinTemplatesDir,
  TEMPLATE_NAMES,
  type TemplateSource,
  type TemplateName,
  type LoadedTemplate,
} from "./template-source.js";
export { renderTemplate, type TemplateContext, type TemplateValue } from "./template.js";
