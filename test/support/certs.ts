// Test certificates made with the openssl CLI: a mesh root CA and workload certificates with
// SPIFFE URI SANs (spiffe://cluster.local/ns/NS/sa/SA), as Istio's CA issues them. Files go
// to a temp dir; PEM text is returned too (for inline secrets). EC P-256 keys by default
// (fast); RSA on request for key-type selection tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Serial in upper-case hex, as Node's X509Certificate/getPeerCertificate report it. */
  readonly serial: string;
}

export interface MeshCa extends CertFiles {
  readonly dir: string;
  /** Issues a workload certificate for spiffe://<td>/ns/<ns>/sa/<sa> (plus optional DNS names). */
  issue(opts: { ns: string; sa: string; trustDomain?: string; dns?: string[]; keyType?: 'ec' | 'rsa'; serial?: number; name?: string; days?: number }): CertFiles;
  /** Writes a CRL revoking the given serials (hex) and returns its path and PEM. */
  crl(revokedSerialsHex: readonly string[]): { path: string; pem: string };
}

let counter = 0;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string, keyType: 'ec' | 'rsa'): string {
  const path = join(dir, `${name}.key`);
  if (keyType === 'ec') openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], dir);
  else openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path], dir);
  return path;
}

function serialOf(certPath: string, dir: string): string {
  const out = execFileSync('openssl', ['x509', '-in', certPath, '-noout', '-serial'], { cwd: dir }).toString().trim();
  return out.replace(/^serial=/, '').toUpperCase();
}

/** Creates a mesh CA in a new temp dir. */
export function createMeshCa(opts: { keyType?: 'ec' | 'rsa'; cn?: string } = {}): MeshCa {
  const dir = mkdtempSync(join(tmpdir(), 'meshproxy-certs-'));
  const keyPath = newKey(dir, 'ca', opts.keyType ?? 'ec');
  const certPath = join(dir, 'ca.pem');
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
  openssl(['req', '-x509', '-new', '-key', keyPath, '-out', certPath, '-days', '2', '-subj', `/O=cluster.local/CN=${opts.cn ?? 'mesh-root'}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const ca: MeshCa = {
    dir,
    certPath,
    keyPath,
    certPem: readFileSync(certPath, 'utf8'),
    keyPem: readFileSync(keyPath, 'utf8'),
    serial: serialOf(certPath, dir),
    issue(o) {
      const name = o.name ?? `w${++counter}`;
      const key = newKey(dir, name, o.keyType ?? 'ec');
      const csr = join(dir, `${name}.csr`);
      const crt = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      const uri = `spiffe://${o.trustDomain ?? 'cluster.local'}/ns/${o.ns}/sa/${o.sa}`;
      const sans = [`URI:${uri}`, ...(o.dns ?? []).map((d) => `DNS:${d}`)].join(',');
      writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=critical,${sans}\n`);
      openssl(['req', '-new', '-key', key, '-out', csr, '-subj', '/O=cluster.local'], dir);
      const serial = o.serial ?? Math.floor(Math.random() * 0x7fffffff) + 1;
      openssl(['x509', '-req', '-in', csr, '-CA', certPath, '-CAkey', keyPath, '-set_serial', String(serial), '-days', String(o.days ?? 1), '-out', crt, '-extfile', ext], dir);
      return { certPath: crt, keyPath: key, certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8'), serial: serialOf(crt, dir) };
    },
    crl(revoked) {
      // A minimal openssl ca database listing the revoked serials.
      const lines = revoked.map((s) => `R\t300101000000Z\t200101000000Z\t${s}\tunknown\t/O=cluster.local`);
      writeFileSync(join(dir, 'index.txt'), lines.join('\n') + (lines.length ? '\n' : ''));
      writeFileSync(
        join(dir, 'ca.cnf'),
        `[ca]\ndefault_ca=mesh\n[mesh]\ndatabase=${join(dir, 'index.txt')}\ncrlnumber=${join(dir, 'crlnumber')}\ndefault_md=sha256\ndefault_crl_days=1\n`,
      );
      const path = join(dir, `crl${++counter}.pem`);
      openssl(['ca', '-config', join(dir, 'ca.cnf'), '-gencrl', '-keyfile', keyPath, '-cert', certPath, '-out', path], dir);
      return { path, pem: readFileSync(path, 'utf8') };
    },
  };
  return ca;
}
