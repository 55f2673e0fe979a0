// Seam between upstream connects (engine/upstream) and TLS (engine/tls): wraps an established
// TCP connection to a host in TLS according to the cluster's transport socket config
// (UpstreamTlsContext): SNI, ALPN (Istio's istio-peer-exchange / istio / istio-http/1.1 / h2 ...),
// client certificate and trust bundle from inline data or SDS secrets (resolved against the
// runtime the request runs under, so rotation applies to the next connection), and the peer's
// SAN check (SPIFFE URIs, exact/prefix/regex). Envoy does not check the SNI against the server
// certificate; only the configured SAN matchers are applied, and without a validation context
// the server certificate is not verified at all.
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { awaitHandshake } from './handshake';
import type { TransportSocketConfig } from '../../config/model/listener';
import type { SecretConfig } from '../../config/model/secret';
import type { UpstreamTlsContextConfig } from '../../config/model/tls';
import type { ConnectionRuntime } from '../api/network-filter';
import { compileSanMatchers, parseSubjectAltNames, type SanCheck } from './san-matcher';
import { resolveMaterial, SecureContextCache } from './secure-context-cache';

export interface UpstreamTlsResult {
  /** The socket to use (a tls.TLSSocket when TLS was set up). */
  readonly socket: net.Socket;
  /** Negotiated ALPN, if any. */
  readonly alpn?: string;
}

/** Bound on an upstream handshake when the caller gives none. */
export const UPSTREAM_HANDSHAKE_TIMEOUT_MS = 10_000;

/** True when the transport socket config asks for something other than raw buffers. */
export function isTlsTransport(ts: TransportSocketConfig | undefined): boolean {
  return !!ts && !ts.name.endsWith('raw_buffer') && !ts.typeUrl.endsWith('RawBuffer');
}

/** Per-UpstreamTlsContext worker state: compiled SAN check and the last session for resumption. */
interface ClientState {
  readonly sanCheck: SanCheck | undefined;
  readonly sessions: Map<string, Buffer>;
}

// Keyed by the (frozen) config object, which lives as long as the cluster config does.
const states = new WeakMap<object, ClientState>();
const cache = new SecureContextCache();

function stateFor(cfg: UpstreamTlsContextConfig): ClientState {
  let s = states.get(cfg);
  if (!s) {
    s = { sanCheck: compileSanMatchers(cfg.common.validation?.sanMatchers ?? []), sessions: new Map() };
    states.set(cfg, s);
  }
  return s;
}

/** Number of client SecureContexts built so far on this worker (tests, admin). */
export function upstreamContextBuilds(): number {
  return cache.builds;
}

/**
 * Starts TLS on `socket` for a cluster whose transport socket is `ts`. Calls `done` once with
 * the TLS socket after the handshake, or with an error (handshake failure, SAN mismatch, missing
 * secret). `alpn` is the list the caller wants to offer instead of the context's alpn_protocols
 * (Istio's istio.alpn filter sets it per downstream protocol).
 */
export function wrapUpstreamTls(
  socket: net.Socket,
  ts: TransportSocketConfig,
  runtime: Pick<ConnectionRuntime, 'secrets'>,
  alpn: readonly string[] | undefined,
  done: (err: Error | null, result: UpstreamTlsResult | undefined) => void,
  timeoutMs: number = UPSTREAM_HANDSHAKE_TIMEOUT_MS,
): void {
  const cfg = ts.config as UpstreamTlsContextConfig | undefined;
  if (!cfg || cfg.kind !== 'upstream') {
    socket.destroy();
    return done(new Error(`transport socket '${ts.name}' has no UpstreamTlsContext`), undefined);
  }
  startClient(socket, cfg, runtime.secrets, alpn, done, timeoutMs);
}

function noHostnameCheck(): undefined {
  return undefined;
}

function startClient(
  socket: net.Socket,
  cfg: UpstreamTlsContextConfig,
  secrets: ReadonlyMap<string, SecretConfig>,
  alpn: readonly string[] | undefined,
  done: (err: Error | null, result: UpstreamTlsResult | undefined) => void,
  timeoutMs: number,
): void {
  const r = resolveMaterial(cfg.common, secrets);
  if (!r.ok) {
    socket.destroy();
    return done(new Error(r.reason), undefined);
  }
  let secureContext: tls.SecureContext;
  try {
    secureContext = cache.get(cfg, r.material, r.material.certificates.slice(0, 1));
  } catch (err) {
    socket.destroy();
    return done(err as Error, undefined);
  }
  const state = stateFor(cfg);
  const v = cfg.common.validation;
  const verifyChain = !!v && !v.acceptUntrusted && !!r.material.validation?.trustedCaPem;
  const protocols = alpn ?? cfg.common.alpnProtocols;
  const sessionKey = r.material.key;
  const session = cfg.maxSessionKeys > 0 ? state.sessions.get(sessionKey) : undefined;
  const sanCheck = state.sanCheck;
  const t = tls.connect({
    socket,
    secureContext,
    ...(cfg.sni ? { servername: cfg.sni } : {}),
    ...(protocols.length ? { ALPNProtocols: [...protocols] } : {}),
    rejectUnauthorized: verifyChain,
    ...(session ? { session } : {}),
    // Node would compare the SNI with the certificate; Envoy does not (SAN matchers only).
    checkServerIdentity: noHostnameCheck,
  });
  if (cfg.maxSessionKeys > 0) {
    t.on('session', (s: Buffer) => {
      state.sessions.set(sessionKey, s);
      if (state.sessions.size > 16) state.sessions.delete(state.sessions.keys().next().value as string);
    });
  }
  awaitHandshake(
    t,
    socket,
    {
      event: 'secureConnect',
      timeoutMs,
      timeoutMessage: 'upstream tls handshake timed out',
      closedMessage: 'upstream closed during tls handshake',
      check: () => {
        if (verifyChain && !t.authorized) return new Error(`upstream certificate verification failed: ${String(t.authorizationError)}`);
        // A resumed session was verified when it was first established under this same context.
        if (sanCheck && !t.isSessionReused() && !sanCheck(parseSubjectAltNames(t.getPeerCertificate().subjectaltname))) return new Error('upstream certificate SAN does not match');
        return null;
      },
    },
    (err) => (err ? done(err, undefined) : done(null, { socket: t, ...(t.alpnProtocol ? { alpn: t.alpnProtocol } : {}) })),
  );
}
