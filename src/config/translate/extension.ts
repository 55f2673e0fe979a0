// Translates one configured extension (name + typed_config Any) through the parse-half registry.
// An unknown extension fails the resource unless it is marked is_optional, in which case it is
// dropped with a warning (Envoy's semantics for optional filters).
import type { ErrorSink } from '../../common/result';
import type { ExtensionCategory, ExtensionRegistry, ParseContext } from '../../extensions/registry';
import type { ExtensionInstanceConfig } from '../model/listener';
import { unpackAny, type Msg } from './proto-util';

export interface ExtensionTranslator extends ParseContext {
  readonly registry: ExtensionRegistry;
  /** Names of optional extensions skipped because unknown (for a warning log). */
  readonly skipped: string[];
}

export function createExtensionTranslator(registry: ExtensionRegistry): ExtensionTranslator {
  const t: ExtensionTranslator = {
    registry,
    skipped: [],
    parseNested(category: ExtensionCategory, name: string, typedConfig: Msg | null | undefined, isOptional: boolean, errors: ErrorSink, path: string): ExtensionInstanceConfig | undefined {
      let typeUrl = '';
      let message: Msg | undefined;
      if (typedConfig) {
        const u = unpackAny(typedConfig, errors, `${path}.typed_config`);
        if (!u) return undefined;
        typeUrl = u.typeUrl;
        message = u.message;
      }
      const parser = registry.lookup(category, typeUrl, name);
      if (!parser) {
        if (isOptional) {
          t.skipped.push(name || typeUrl);
          return undefined;
        }
        errors.add(typedConfig ? `${path}.typed_config` : `${path}.name`, `unknown ${category} extension '${name}'${typeUrl ? ` (type ${typeUrl})` : ''}`);
        return undefined;
      }
      if (typeUrl && !message) {
        errors.add(`${path}.typed_config`, `type ${typeUrl} is not in this proxy's proto set`);
        return undefined;
      }
      const config = parser.parse(message, t, errors.at(`${path}.typed_config`));
      return { name: name || parser.names[0]!, typeUrl, config };
    },
  };
  return t;
}
