// Factory for the built-in load balancers (worker side, cluster runtime materialize): maps
// LbOptions.policy to an implementation and primes it with the first PrioritySet. Later host
// changes go through lb.refresh(newPrioritySet). `env` carries the clock (slow start), the
// local cluster and zone routing counters (zone-aware routing; not used by RING_HASH / MAGLEV,
// as in Envoy).

import { LeastRequestLoadBalancer } from './least-request-lb';
import type { LbEnvironment, LbOptions, LoadBalancer, RandomGenerator } from './lb-types';
import { createMaglevLoadBalancer } from './maglev-lb';
import type { PrioritySet } from './priority-set';
import { MathRandomGenerator } from './random-generator';
import { RandomLoadBalancer } from './random-lb';
import { createRingHashLoadBalancer } from './ring-hash-lb';
import { RoundRobinLoadBalancer } from './round-robin-lb';

export function createLoadBalancer(
  options: LbOptions,
  prioritySet: PrioritySet,
  random: RandomGenerator = new MathRandomGenerator(),
  env: LbEnvironment = {},
): LoadBalancer {
  let lb: LoadBalancer;
  switch (options.policy) {
    case 'ROUND_ROBIN':
      lb = new RoundRobinLoadBalancer(options, random, env);
      break;
    case 'LEAST_REQUEST':
      lb = new LeastRequestLoadBalancer(options, random, env);
      break;
    case 'RANDOM':
      lb = new RandomLoadBalancer(options, random, env);
      break;
    case 'RING_HASH':
      lb = createRingHashLoadBalancer(options, random);
      break;
    case 'MAGLEV':
      lb = createMaglevLoadBalancer(options, random);
      break;
  }
  lb.refresh(prioritySet);
  return lb;
}
