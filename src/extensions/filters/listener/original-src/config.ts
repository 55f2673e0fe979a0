// Parse half of envoy.filters.listener.original_src (OriginalSrc proto). istiod adds it to
// virtualInbound in TPROXY mode with mark 1337: the upstream connection made for a downstream
// connection leaves from the downstream's own IP address, so the app sees the real client, and
// carries SO_MARK so policy routing (fwmark 1337 -> table 133) brings the replies back to the
// proxy. The worker side is small: the listener puts {address, mark} on the DownstreamConnection
// (engine/listener/active-listener.ts) and ClusterRuntime.connect binds through the platform's
// connectFromSource. As in Envoy, a non-IP downstream (a pipe) gets no source binding.
import type { ErrorSink } from '../../../../common/result';
import { num, type Msg } from '../../../../config/translate/proto-util';
import type { ExtensionParser } from '../../../registry';

export const ORIGINAL_SRC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.original_src.v3.OriginalSrc';

export interface OriginalSrcConfig {
  readonly kind: 'original_src';
  /** SO_MARK for the upstream socket; 0 sets none (Envoy skips the option for 0). */
  readonly mark: number;
  /**
   * bind_port: Envoy documents it as not implemented (the upstream always binds port 0, since
   * reusing the client's port would clash with the downstream 4-tuple); kept for config_dump only.
   */
  readonly bindPort: boolean;
}

export const originalSrcParser: ExtensionParser = {
  category: 'listener',
  names: ['envoy.filters.listener.original_src', 'envoy.listener.original_src'],
  typeUrls: [ORIGINAL_SRC_TYPE_URL],
  parse(msg: Msg | undefined, _ctx, errors: ErrorSink): OriginalSrcConfig {
    const mark = num(msg?.mark);
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) errors.add('mark', 'must be a 32-bit unsigned integer');
    return { kind: 'original_src', mark, bindPort: msg?.bindPort === true };
  },
};

/** The original_src settings among a listener's filters, if it has that filter. */
export function findOriginalSrc(filters: readonly { readonly config?: unknown }[]): OriginalSrcConfig | undefined {
  for (const f of filters) {
    const c = f.config as { kind?: string } | undefined;
    if (c?.kind === 'original_src') return c as OriginalSrcConfig;
  }
  return undefined;
}
