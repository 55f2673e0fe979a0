// Tests of argument parsing (args.ts), config resolution (resolve.ts) and the CLI's error
// contract (main.ts): an unknown flag or a bad value is one line on stderr and exit code 1.
import { parseArgs, parseDuration } from './args';
import { parseCidr } from './cidr';
import { main } from './main';
import { nameservers, pickLocalIp, resolveConfig, type HostFacts } from './resolve';

const host: HostFacts = {
  lookupUid: (n) => (n === 'istio-proxy' ? '1337' : n === 'envoy' ? '101' : null),
  addresses: () => ['127.0.0.1', '192.0.2.10'],
  resolvConf: () => 'search svc.cluster.local\nnameserver 10.96.0.10\nnameserver 2001:db8::53\n',
};

async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { env, host, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('argument errors: one line on stderr, exit 1', () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['unknown long flag', ['--no-such-flag'], {}, /^meshproxy-iptables: unknown flag: --no-such-flag\n$/],
    ['unknown shorthand', ['-Z', '1'], {}, /unknown shorthand flag: 'Z'/],
    ['missing value', ['-p'], {}, /flag needs an argument: -p, --envoy-port/],
    ['port not a number', ['-p', 'abc'], {}, /invalid value "abc" for -p, --envoy-port/],
    ['port out of range', ['--inbound-capture-port=70000'], {}, /invalid value "70000" for -z, --inbound-capture-port/],
    ['bad interception mode', ['-m', 'tproxy'], {}, /must be REDIRECT or TPROXY/],
    ['bad inbound port list', ['-b', '80,http'], {}, /"http" is not a port/],
    ['bad exclude ports', ['-d', '15090,x'], {}, /for -d, --istio-local-exclude-ports/],
    ['bad CIDR', ['-i', '10.0.0.0/8,10.1.2.300/16'], {}, /for -i, --istio-service-cidr: netip.ParsePrefix/],
    ['CIDR without bits', ['-x', '10.0.0.1'], {}, /for -x, --istio-service-exclude-cidr: .*no '\/'/],
    ['wildcard exclude CIDR', ['-x', '*'], {}, /invalid value for OUTBOUND_IP_RANGES_EXCLUDE/],
    ['bad bool', ['--dry-run=maybe'], {}, /invalid value "maybe" for -n, --dry-run: must be true or false/],
    ['bad duration', ['--probe-timeout', 'soon'], {}, /must be a duration/],
    ['bad probe port', ['--iptables-probe-port', '-1'], {}, /--iptables-probe-port/],
    ['positional argument', ['extra'], {}, /unexpected argument "extra"/],
    ['bad env bool', [], { REDIRECT_DNS: 'yes please' }, /environment variable REDIRECT_DNS/],
    ['bad env port', [], { INBOUND_CAPTURE_PORT: 'x' }, /invalid value "x" for -z/],
    ['bad loopback CIDR env', [], { ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '10.0.0.1/8' }, /expected valid IPv4 loopback/],
    ['loopback CIDR mask', [], { ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '127.0.0.1/4' }, /mask in range \[8, 32\]/],
    ['forced binary', ['--force-iptables-binary', 'xtables'], {}, /FORCE_IPTABLES_BINARY/],
    ['interface name with space', ['-c', 'eth0,bad nic'], {}, /is not an interface name/],
    ['nftables backend', ['--native-nftables'], {}, /not supported/],
    ['TPROXY mark', ['-m', 'TPROXY', '-t', 'mark'], {}, /--istio-inbound-tproxy-mark/],
  ];
  for (const [name, argv, env, re] of cases) {
    it(name, async () => {
      const r = await cli(['--dry-run', ...argv], env);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2); // one line plus the final newline
      expect(r.stderr).toMatch(re);
    });
  }

  it('--help prints usage and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: meshproxy-iptables/);
    expect(r.stdout).toContain('-p, --envoy-port');
  });
});

describe('flag syntax', () => {
  const port = (argv: string[]) => {
    const r = parseArgs(argv, {});
    if (!r.ok) throw new Error(r.error);
    return r.args.config.proxyPort;
  };
  it('accepts every pflag spelling of a value flag', () => {
    for (const argv of [['-p', '1'], ['-p=1'], ['-p1'], ['--envoy-port', '1'], ['--envoy-port=1']]) expect(port(argv)).toBe('1');
  });
  it('takes the next word as the value even when empty or dash-led', () => {
    const r = parseArgs(['-x', '', '-b', '*', '-d', '-1'], {});
    expect(r.ok && r.args.config.outboundIpRangesExclude).toBe('');
    expect(r.ok && r.args.config.inboundPortsInclude).toBe('*');
    expect(r.ok && r.args.config.inboundPortsExclude).toBe('-1');
  });
  it('accepts the subcommand name, log flags and combined bool shorthands', () => {
    const r = parseArgs(['istio-iptables', '-nh', '--log_output_level=default:debug', '--log_as_json'], {});
    expect(r.ok).toBe(true);
    if (r.ok) expect([r.args.config.dryRun, r.args.help, r.args.logLevel, r.args.logAsJson]).toEqual([true, true, 'default:debug', true]);
  });
  it('env < extra env < argv', () => {
    const env = { REDIRECT_DNS: 'false', ISTIO_META_DNS_CAPTURE: 'true', PROXY_UID: '5' };
    const r = parseArgs(['--proxy-uid', '7'], env);
    expect(r.ok && r.args.config.redirectDns).toBe(true);
    expect(r.ok && r.args.config.proxyUid).toBe('7');
    expect(parseArgs(['--redirect-dns=false'], env)).toMatchObject({ ok: true, args: { config: { redirectDns: false } } });
  });
  it('parses Go durations', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1m30s')).toBe(90000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5')).toBeNull();
  });
});

describe('resolve', () => {
  const base = (argv: string[], env: Record<string, string> = {}) => {
    const p = parseArgs(argv, env);
    if (!p.ok) throw new Error(p.error);
    return p.args.config;
  };
  it('defaults uid to ENVOY_USER (istio-proxy) and gid to uid', () => {
    const r = resolveConfig(base([]), {}, host);
    expect(r.ok && [r.config.proxyUid, r.config.proxyGid]).toEqual(['1337', '1337']);
    const r2 = resolveConfig(base([]), { ENVOY_USER: 'envoy' }, host);
    expect(r2.ok && [r2.config.proxyUid, r2.config.proxyGid]).toEqual(['101', '101']);
    const r3 = resolveConfig(base([]), { ENVOY_USER: 'nobody-here' }, host);
    expect(r3.ok && r3.config.proxyUid).toBe('1337');
  });
  it('reads nameservers only for DNS capture without capture-all', () => {
    const r = resolveConfig(base(['--redirect-dns']), {}, host);
    expect(r.ok && [r.config.dnsServersV4, r.config.dnsServersV6]).toEqual([['10.96.0.10'], ['2001:db8::53']]);
    const all = resolveConfig(base(['--redirect-dns', '--capture-all-dns']), {}, host);
    expect(all.ok && all.config.dnsServersV4).toEqual([]);
    const noFile = resolveConfig(base(['--redirect-dns']), {}, { ...host, resolvConf: () => null });
    expect(noFile).toEqual({ ok: false, error: 'failed to load /etc/resolv.conf' });
  });
  it('picks the IP family like getLocalIP', () => {
    expect(pickLocalIp(['127.0.0.1', '::1', 'fe80::1', '2001:db8::1', '192.0.2.1'], false)).toEqual({ address: '2001:db8::1', ipv6: true });
    expect(pickLocalIp(['127.0.0.1', '192.0.2.1', '2001:db8::1'], false)).toEqual({ address: '192.0.2.1', ipv6: false });
    expect(pickLocalIp(['127.0.0.1', '192.0.2.1', '2001:db8::1'], true)).toEqual({ address: '192.0.2.1', ipv6: true });
    expect(pickLocalIp(['127.0.0.1', '169.254.1.1', '::1'], true)).toBeNull();
    expect(resolveConfig(base([]), {}, { ...host, addresses: () => ['127.0.0.1'] })).toEqual({ ok: false, error: 'no valid local IP address found' });
  });
  it('parses nameserver lines', () => {
    expect(nameservers('nameserver 1.2.3.4\n# nameserver 9.9.9.9\nnameserver   ::1 \nnameserver dns.example\n')).toEqual(['1.2.3.4', '::1']);
  });
});

describe('CIDR canonical form (as Go netip.Prefix.String)', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8', 4, false],
    ['10.1.2.3/8', '10.1.2.3/8', 4, false],
    ['127.1.2.3/32', '127.1.2.3/32', 4, true],
    ['2001:DB8:0:0::/32', '2001:db8::/32', 6, false],
    ['2001:db8:0:1:0:0:0:1/64', '2001:db8:0:1::1/64', 6, false],
    ['2001:db8:0:1:1:1:1:1/64', '2001:db8:0:1:1:1:1:1/64', 6, false],
    ['::1/128', '::1/128', 6, true],
    ['::/0', '::/0', 6, false],
    ['::ffff:127.0.0.1/128', '::ffff:127.0.0.1/128', 6, true],
  ])('%s', (input, text, family, loopback) => {
    expect(parseCidr(input)).toEqual({ text, family, loopback });
  });
  it.each(['10.0.0.0', '10.0.0.0/33', '1.2.3.04/8', '1::2::3/64', 'fe80::1%eth0/64', '10.0.0.0/08'])('rejects %s', (input) => {
    expect(typeof parseCidr(input)).toBe('string');
  });
});
