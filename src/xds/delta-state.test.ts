// Unit tests for delta per-type state: initial subscribe vs diffs, ACK-only requests, version tracking.
import { DeltaTypeState } from './delta-state';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from './type-urls';

describe('DeltaTypeState', () => {
  test('initial request subscribes everything; later changes are diffs; ACKs carry only the nonce', () => {
    const s = new DeltaTypeState(ENDPOINT_TYPE_URL);
    s.watch(['b', 'a']);
    expect(s.buildSubscriptionRequest()).toEqual({ typeUrl: ENDPOINT_TYPE_URL, resourceNamesSubscribe: ['a', 'b'] });
    expect(s.needsSubscriptionRequest()).toBe(false);
    s.watch(['c']);
    s.unwatch(['a']);
    s.watch(['a']); // re-watch cancels the pending unsubscribe
    s.unwatch(['b']);
    expect(s.buildSubscriptionRequest()).toEqual({ typeUrl: ENDPOINT_TYPE_URL, resourceNamesSubscribe: ['c'], resourceNamesUnsubscribe: ['b'] });
    expect(s.buildAck('n1')).toEqual({ typeUrl: ENDPOINT_TYPE_URL, responseNonce: 'n1' });
  });

  test('versions: accepted ones move, rejected ones stay, removed ones go; reconnect lists them', () => {
    const s = new DeltaTypeState(CLUSTER_TYPE_URL);
    s.watch('*');
    s.buildSubscriptionRequest();
    s.settle('s1', [{ name: 'a', version: '1' }, { name: 'b', version: '1' }, { name: 'c' }], [], []);
    s.settle('s2', [{ name: 'a', version: '2' }, { name: 'b', version: '2' }], ['c'], [{ name: 'b', reason: 'bad' }]);
    expect(Object.fromEntries(s.versions)).toEqual({ a: '2', b: '1' });
    expect(s.systemVersion).toBe('s1');
    s.resetStream();
    expect(s.needsSubscriptionRequest()).toBe(true);
    expect(s.buildSubscriptionRequest()).toEqual({ typeUrl: CLUSTER_TYPE_URL, resourceNamesSubscribe: ['*'], initialResourceVersions: { a: '2', b: '1' } });
  });

  test('unwatching a named resource forgets its version', () => {
    const s = new DeltaTypeState(ENDPOINT_TYPE_URL);
    s.watch(['a', 'b']);
    s.buildSubscriptionRequest();
    s.settle('s1', [{ name: 'a', version: '1' }, { name: 'b', version: '1' }], [], []);
    s.unwatch(['a']);
    expect([...s.versions.keys()]).toEqual(['b']);
    expect(s.buildSubscriptionRequest()).toEqual({ typeUrl: ENDPOINT_TYPE_URL, resourceNamesUnsubscribe: ['a'] });
  });
});
