// Unit tests for SotW per-type state: wire names, ACK/NACK version and nonce, deletion by absence.
import { SotwTypeState } from './sotw-state';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from './type-urls';

describe('SotwTypeState', () => {
  test('wildcard type sends an empty list; mixing names makes the wildcard explicit', () => {
    const s = new SotwTypeState(CLUSTER_TYPE_URL);
    s.watch('*');
    expect(s.needsRequest()).toBe(true);
    expect(s.buildRequest().resourceNames).toEqual([]);
    expect(s.needsRequest()).toBe(false);
    s.watch(['b', 'a']);
    expect(s.buildRequest().resourceNames).toEqual(['*', 'a', 'b']);
  });

  test('ACK moves the version, NACK keeps it; the nonce follows the stream', () => {
    const s = new SotwTypeState(ENDPOINT_TYPE_URL);
    s.watch(['x']);
    s.buildRequest();
    s.settle('n1', 'v1', [], true);
    expect(s.buildRequest()).toEqual({ typeUrl: ENDPOINT_TYPE_URL, versionInfo: 'v1', responseNonce: 'n1', resourceNames: ['x'] });
    s.settle('n2', 'v2', [{ name: 'x', reason: 'bad' }], true);
    const nack = s.buildRequest({ code: 13, message: 'x: bad' });
    expect(nack.versionInfo).toBe('v1');
    expect(nack.responseNonce).toBe('n2');
    expect(nack.errorDetail).toEqual({ code: 13, message: 'x: bad' });
    // A late verdict from a dead stream may move the version but not the nonce.
    s.resetStream();
    s.settle('old', 'v3', [], false);
    expect(s.buildRequest()).toMatchObject({ versionInfo: 'v3', responseNonce: '' });
  });

  test('unsubscribing every name of a named type is a request with an empty list', () => {
    const s = new SotwTypeState(ENDPOINT_TYPE_URL);
    s.watch(['a']);
    s.buildRequest();
    s.unwatch(['a']);
    expect(s.needsRequest()).toBe(true);
    expect(s.buildRequest().resourceNames).toEqual([]);
  });

  test('absence deletes only for full-state wildcard types', () => {
    const cds = new SotwTypeState(CLUSTER_TYPE_URL);
    cds.watch('*');
    expect(cds.removedBy(new Set(['a', 'b']))).toEqual([]);
    expect(cds.removedBy(new Set(['b']))).toEqual(['a']);
    const eds = new SotwTypeState(ENDPOINT_TYPE_URL);
    eds.watch(['a', 'b']);
    eds.removedBy(new Set(['a', 'b']));
    expect(eds.removedBy(new Set(['b']))).toEqual([]);
  });
});
