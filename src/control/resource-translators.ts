// The translators the resource store runs on each xDS resource (STYLE 2 step 3), built from
// config/translate with the built-in extension parse halves. Lives on the control side so
// store/ never imports translate/ or the generated protos: the store only sees
// message -> Result<model value> functions.
import { ErrorSink, fail, ok, type Result } from '../common/result';
import { builtinParsers } from '../extensions/parsers';
import { translateCluster } from '../config/translate/cluster';
import { translateLoadAssignment } from '../config/translate/endpoint';
import { createExtensionTranslator } from '../config/translate/extension';
import { translateListener } from '../config/translate/listener';
import type { Msg } from '../config/translate/proto-util';
import { translateRouteConfiguration } from '../config/translate/route/route-config';
import { translateSecret } from '../config/translate/secret';
import type { StoreTranslators } from '../store/config-store';

function viaSink<T>(run: (sink: ErrorSink) => T | undefined): Result<T> {
  const sink = ErrorSink.create();
  const value = run(sink);
  if (sink.failed) return fail(sink.errors);
  if (value === undefined) return fail([{ path: '', reason: 'resource could not be translated' }]);
  return ok(value);
}

/** Optional extensions skipped while translating are reported through onSkipped (a warn log). */
export function xdsTranslators(onSkipped?: (names: readonly string[]) => void): StoreTranslators {
  const registry = builtinParsers();
  // One extension translator per resource, so skipped optional extensions are reported per resource.
  const ext = () => createExtensionTranslator(registry);
  const withExt = <T>(translate: (m: Msg, e: ReturnType<typeof ext>, sink: ErrorSink) => T | undefined) => (m: unknown) => {
    const e = ext();
    const r = viaSink((sink) => translate(m as Msg, e, sink));
    if (e.skipped.length > 0) onSkipped?.(e.skipped);
    return r;
  };
  return {
    lds: withExt(translateListener),
    cds: withExt(translateCluster),
    // EDS endpoints are addresses, never hostnames (Envoy resolves nothing for EDS hosts).
    eds: (m) => viaSink((sink) => translateLoadAssignment(m as Msg, sink, false)),
    rds: (m) => translateRouteConfiguration(m as Msg),
    sds: (m) => viaSink((sink) => translateSecret(m as Msg, sink)),
  };
}
