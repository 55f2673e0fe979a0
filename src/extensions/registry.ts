// Extension parse-half registry types. Each built-in extension declares its category, the names
// and typed_config type URLs it answers to, and a parse function from the decoded proto to its
// own plain config (control side only). Lookup is by type URL first, then by name, as Envoy's
// getFactoryByType/getFactory do; TypedStruct is unwrapped before lookup (proto-util).
import type { ErrorSink } from '../common/result';
import type { Msg } from '../config/translate/proto-util';

export type ExtensionCategory = 'network' | 'http' | 'listener' | 'transport_socket' | 'access_logger' | 'cluster' | 'upstream_network';

/** Services a parse half may use (e.g. to translate nested route configs). */
export interface ParseContext {
  /** Translate a nested extension (e.g. an HCM's http_filters, an access log). */
  parseNested(category: ExtensionCategory, name: string, typedConfig: Msg | null | undefined, isOptional: boolean, errors: ErrorSink, path: string): { name: string; typeUrl: string; config: unknown } | undefined;
}

export interface ExtensionParser {
  readonly category: ExtensionCategory;
  /** Canonical name first (e.g. envoy.filters.network.tcp_proxy), then legacy aliases. */
  readonly names: readonly string[];
  readonly typeUrls: readonly string[];
  /** Terminal network/HTTP filters must be last in their chain. */
  readonly terminal?: boolean;
  /** Parses the decoded typed_config (undefined when the extension was selected by name without config). */
  parse(msg: Msg | undefined, ctx: ParseContext, errors: ErrorSink): unknown;
}

export class ExtensionRegistry {
  private readonly byUrl = new Map<string, ExtensionParser>();
  private readonly byName = new Map<string, ExtensionParser>();

  register(p: ExtensionParser): void {
    for (const url of p.typeUrls) {
      const key = `${p.category}|${url}`;
      if (this.byUrl.has(key)) throw new Error(`extension type URL registered twice: ${url} (${p.category})`);
      this.byUrl.set(key, p);
    }
    for (const name of p.names) {
      const key = `${p.category}|${name}`;
      if (this.byName.has(key)) throw new Error(`extension name registered twice: ${name} (${p.category})`);
      this.byName.set(key, p);
    }
  }

  lookup(category: ExtensionCategory, typeUrl: string, name: string): ExtensionParser | undefined {
    return (typeUrl ? this.byUrl.get(`${category}|${typeUrl}`) : undefined) ?? this.byName.get(`${category}|${name}`);
  }

  all(): ExtensionParser[] {
    return [...new Set([...this.byUrl.values(), ...this.byName.values()])];
  }
}
