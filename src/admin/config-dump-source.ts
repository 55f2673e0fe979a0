// What /config_dump reads: the bootstrap and, per xDS kind, every resource with the exact bytes
// it arrived as (so the dump round-trips: istioctl proxy-status diffs it against istiod), its
// version, last update time, status and last error. Implemented by the resource store
// (store/); rendered by admin/. Static resources are encoded from the bootstrap message.
import type { Msg } from '../config/translate/proto-util';

export type XdsKind = 'lds' | 'rds' | 'cds' | 'eds' | 'sds';

export interface DumpedErrorState {
  /** Bytes of the rejected resource (Any value), when it was decodable. */
  readonly failedConfigurationRaw?: Uint8Array;
  readonly lastUpdateAttemptMs: number;
  readonly details: string;
  readonly versionInfo: string;
}

export interface DumpedResource {
  readonly name: string;
  /** Type URL of `raw` (e.g. type.googleapis.com/envoy.config.listener.v3.Listener). */
  readonly typeUrl: string;
  /** The Any value bytes as received over xDS (or encoded from the bootstrap for static ones). */
  readonly raw: Uint8Array;
  readonly versionInfo: string;
  readonly lastUpdatedMs: number;
  /** STATIC: from the bootstrap; ACTIVE: in use; WARMING: waiting for dependencies. */
  readonly state: 'STATIC' | 'ACTIVE' | 'WARMING';
  /** Last rejected update of this resource, if any (Envoy's error_state). */
  readonly errorState?: DumpedErrorState;
}

export interface ConfigDumpSource {
  /** The bootstrap as loaded (merged with --config-yaml) and when it was loaded. */
  bootstrap(): { readonly message: Msg; readonly loadedAtMs: number };
  /** Resources of one kind, static first, in name order. */
  resources(kind: XdsKind): readonly DumpedResource[];
  /** Current version_info of a kind (last accepted), '' when none. */
  versionInfo(kind: XdsKind): string;
  /**
   * Optional: resources whose only update was rejected (no accepted version to show). Envoy
   * lists them with just `error_state` (and the listener name). Those with an accepted version
   * carry their last rejection in DumpedResource.errorState instead.
   */
  rejected?(kind: XdsKind): readonly { readonly name: string; readonly errorState: DumpedErrorState }[];
}
