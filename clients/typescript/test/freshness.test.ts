import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assessFreshness } from '../src/index.js';

const options = { staleThresholdMs: 60000, reconcileIntervalMs: 300000 };
const now = 1764260402000;

test('freshness: no meta item is meta_missing without an age', () => {
  assert.deepEqual(assessFreshness(undefined, now, options), {
    reason: 'meta_missing',
    ageMs: null,
    detail: 'no meta item: the counter never ran against this table',
  });
});

test('freshness: a heartbeat exactly at the threshold is fresh, one ms more is stale', () => {
  const fresh = assessFreshness({ heartbeatMs: now - 60000, reconciledMs: now - 1000 }, now, options);
  assert.equal(fresh.reason, 'none');
  assert.equal(fresh.ageMs, 60000);
  assert.equal(fresh.detail, 'heartbeat 60000 ms old, last reconcile 1000 ms ago');
  const stale = assessFreshness({ heartbeatMs: now - 60001, reconciledMs: now - 1000 }, now, options);
  assert.deepEqual(stale, {
    reason: 'heartbeat_stale',
    ageMs: 60001,
    detail: 'heartbeat 60001 ms old > stale threshold 60000 ms',
  });
});

test('freshness: a heartbeat in the future (clock skew) is fresh with a negative age', () => {
  const skewed = assessFreshness({ heartbeatMs: now + 2500, reconciledMs: now }, now, options);
  assert.equal(skewed.reason, 'none');
  assert.equal(skewed.ageMs, -2500);
});

test('freshness: a meta item without heartbeat is heartbeat_stale without an age', () => {
  assert.deepEqual(assessFreshness({ reconciledMs: now }, now, options), {
    reason: 'heartbeat_stale',
    ageMs: null,
    detail: 'the meta item has no heartbeat',
  });
});

test('freshness: a reconcile exactly 3 intervals old is fresh, one ms more is overdue', () => {
  assert.equal(assessFreshness({ heartbeatMs: now, reconciledMs: now - 900000 }, now, options).reason, 'none');
  assert.deepEqual(assessFreshness({ heartbeatMs: now - 5, reconciledMs: now - 900001 }, now, options), {
    reason: 'reconcile_overdue',
    ageMs: 5,
    detail: 'last reconcile 900001 ms ago > 3 x reconcile interval 900000 ms',
  });
  assert.deepEqual(assessFreshness({ heartbeatMs: now }, now, options), {
    reason: 'reconcile_overdue',
    ageMs: 0,
    detail: 'no reconcile has finished yet',
  });
});

test('freshness: a stale heartbeat is reported before an overdue reconcile', () => {
  const both = assessFreshness({ heartbeatMs: now - 70000, reconciledMs: now - 1000000 }, now, options);
  assert.equal(both.reason, 'heartbeat_stale');
});

test('freshness: a threshold of 0 accepts only a heartbeat of this millisecond or later', () => {
  const zero = { staleThresholdMs: 0, reconcileIntervalMs: 300000 };
  assert.equal(assessFreshness({ heartbeatMs: now, reconciledMs: now }, now, zero).reason, 'none');
  assert.equal(assessFreshness({ heartbeatMs: now - 1, reconciledMs: now }, now, zero).reason, 'heartbeat_stale');
});
