// Server-side TLS for a filter chain with a DownstreamTlsContext: wraps the accepted socket (after
// listener filters have put back what they read) in a tls.TLSSocket whose SecureContext is
// resolved from the runtime the connection was accepted under, verifies the client certificate
// and its SANs, and hands the TLS socket to the chain's filters once the handshake is done.
//
//   accepted socket --(unshifted ClientHello)--> TLSSocket(isServer) --secure--> filters
//
// Envoy behaviours matched: with a validation context the client certificate is requested and,
// when presented, verified; require_client_certificate makes it mandatory; ALPN is chosen by
// server preference and a client whose list has no overlap continues without ALPN (Node would
// send no_application_protocol, so we omit ALPN when the inspected list has no overlap).
import * as tls from 'node:tls';
import { awaitHandshake } from './handshake';
import type * as net from 'node:net';
import type { SecretConfig } from '../../config/model/secret';
import type { DownstreamTlsContextConfig } from '../../config/model/tls';
import type { Counter } from '../../stats/counter';
import type { StatsScope } from '../../stats/stats-store';
import { compileSanMatchers, parseSubjectAltNames, type SanCheck } from './san-matcher';
import { resolveMaterial, selectCertificates, SecureContextCache, type ResolvedCertificate, type ResolvedMaterial } from './secure-context-cache';

/** A bound on the handshake: Envoy has none by default, but a silent client must not hold a socket forever. */
export const DOWNSTREAM_HANDSHAKE_TIMEOUT_MS = 15_000;

/** Envoy's listener ssl.* stats (a subset). */
export interface SslStats {
  readonly handshake: Counter;
  readonly connectionError: Counter;
  readonly failVerifyNoCert: Counter;
  readonly failVerifyError: Counter;
  readonly failVerifySan: Counter;
  readonly noCertificate: Counter;
  readonly sessionReused: Counter;
}

export function sslStats(scope: StatsScope): SslStats {
  const s = scope.scope('ssl.');
  return {
    handshake: s.counter('handshake'),
    connectionError: s.counter('connection_error'),
    failVerifyNoCert: s.counter('fail_verify_no_cert'),
    failVerifyError: s.counter('fail_verify_error'),
    failVerifySan: s.counter('fail_verify_san'),
    noCertificate: s.counter('no_certificate'),
    sessionReused: s.counter('session_reused'),
  };
}

/** What the TLS inspector saw, used for certificate and ALPN choices. */
export interface ClientHelloInfo {
  readonly serverName?: string;
  readonly applicationProtocols?: readonly string[];
}

export type DownstreamTlsDone = (err: Error | null, socket: tls.TLSSocket | undefined) => void;

/**
 * The chain verification result OpenSSL recorded for the peer. A TLSSocket made outside a
 * tls.Server never sets `authorized` (tls.Server's connection listener does that by reading the
 * same handle method), so we read it the way Node's own server does. Fails closed if the handle
 * lacks it.
 */
function chainVerifyError(t: tls.TLSSocket): string | null {
  const h = (t as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (!h || typeof h.verifyError !== 'function') return 'verification result unavailable';
  const e = h.verifyError();
  return e ? (e.code ?? e.message) : null;
}

/** Made once per filter chain at listener build time; `start` runs per connection. */
export class DownstreamTlsProvider {
  private readonly cache = new SecureContextCache();
  private readonly sanCheck: SanCheck | undefined;
  private readonly alpn: readonly string[];
  private lastMaterial: ResolvedMaterial | undefined;
  private lastSecrets: ReadonlyMap<string, SecretConfig> | undefined;

  constructor(
    readonly config: DownstreamTlsContextConfig,
    private readonly stats: SslStats,
  ) {
    this.sanCheck = compileSanMatchers(config.common.validation?.sanMatchers ?? []);
    this.alpn = config.common.alpnProtocols;
  }

  /** Builds contexts for the current secrets now (at listener start), so the first handshake is not slowed. */
  prewarm(secrets: ReadonlyMap<string, SecretConfig>): void {
    const r = this.material(secrets);
    if (r) this.cache.get(this.config, r, selectCertificates(r.certificates, undefined));
  }

  private material(secrets: ReadonlyMap<string, SecretConfig>): ResolvedMaterial | undefined {
    // The secrets map is per runtime: resolve once per runtime, not per connection.
    if (secrets === this.lastSecrets && this.lastMaterial) return this.lastMaterial;
    const r = resolveMaterial(this.config.common, secrets);
    if (!r.ok) return undefined;
    this.lastSecrets = secrets;
    this.lastMaterial = r.material;
    return r.material;
  }

  /** Starts the server handshake on `socket`; `done` gets the TLS socket once verified, or an error. */
  start(socket: net.Socket, secrets: ReadonlyMap<string, SecretConfig>, hello: ClientHelloInfo, done: DownstreamTlsDone): void {
    const material = this.material(secrets);
    if (!material) {
      const r = resolveMaterial(this.config.common, secrets);
      this.stats.connectionError.inc();
      socket.destroy();
      return done(new Error(r.ok ? 'tls material unavailable' : r.reason), undefined);
    }
    if (this.config.requireSni && !hello.serverName) {
      this.stats.connectionError.inc();
      socket.destroy();
      return done(new Error('client sent no SNI and require_sni is set'), undefined);
    }
    let secureContext: tls.SecureContext;
    let all: readonly ResolvedCertificate[];
    try {
      all = material.certificates;
      secureContext = this.cache.get(this.config, material, selectCertificates(all, hello.serverName));
    } catch (err) {
      this.stats.connectionError.inc();
      socket.destroy();
      return done(err as Error, undefined);
    }
    const validation = material.validation;
    const verifying = !!this.config.common.validation;
    const acceptUntrusted = this.config.common.validation?.acceptUntrusted ?? false;
    const offered = hello.applicationProtocols;
    const alpnOk = this.alpn.length > 0 && (!offered || offered.some((p) => this.alpn.includes(p)));
    const opts: tls.TLSSocketOptions = {
      isServer: true,
      secureContext,
      requestCert: verifying,
      rejectUnauthorized: verifying && this.config.requireClientCertificate && !acceptUntrusted && !!validation?.trustedCaPem,
      ...(alpnOk ? { ALPNProtocols: [...this.alpn] } : {}),
    };
    if (all.length > 1 && !hello.serverName) {
      // No inspector ran: pick by the SNI OpenSSL sees.
      opts.SNICallback = (name, cb) => {
        try {
          cb(null, this.cache.get(this.config, material, selectCertificates(all, name)));
        } catch (err) {
          cb(err as Error, undefined);
        }
      };
    }
    const t = new tls.TLSSocket(socket, opts);
    awaitHandshake(
      t,
      socket,
      {
        event: 'secure',
        timeoutMs: DOWNSTREAM_HANDSHAKE_TIMEOUT_MS,
        timeoutMessage: 'tls handshake timed out',
        closedMessage: 'connection closed during tls handshake',
        check: () => {
          const err = this.verifyPeer(t, verifying, acceptUntrusted);
          if (!err) {
            this.stats.handshake.inc();
            if (t.isSessionReused()) this.stats.sessionReused.inc();
          }
          return err;
        },
      },
      (err) => {
        if (!err) return done(null, t);
        this.stats.connectionError.inc();
        done(err, undefined);
      },
    );
  }

  private verifyPeer(t: tls.TLSSocket, verifying: boolean, acceptUntrusted: boolean): Error | null {
    if (!verifying) return null;
    const peer = t.getPeerCertificate();
    const has = !!peer && Object.keys(peer).length > 0;
    if (!has) {
      if (this.config.requireClientCertificate) {
        this.stats.failVerifyNoCert.inc();
        return new Error('client certificate required');
      }
      this.stats.noCertificate.inc();
      return null;
    }
    if (!acceptUntrusted) {
      const verr = chainVerifyError(t);
      if (verr) {
        this.stats.failVerifyError.inc();
        return new Error(`client certificate verification failed: ${verr}`);
      }
    }
    if (this.sanCheck && !this.sanCheck(parseSubjectAltNames(peer.subjectaltname))) {
      this.stats.failVerifySan.inc();
      return new Error('client certificate SAN does not match');
    }
    return null;
  }
}
