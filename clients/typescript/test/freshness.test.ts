import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assessFreshness, MAX_CLOCK_SKEW_MS } from '../src/index.js';

const options = { staleThresholdMs: 60000, reconcileIntervalMs: 300000 };
const now = 1764260402000;

test('freshness: no meta item is meta_missing without an age', () => {
  assert.deepEqual(assessFreshness(undefined, now, options, 'prod'), {
    reason: 'meta_missing',
    ageMs: null,
    detail: 'no meta item: the counter never ran against this table',
  });
});

test('freshness: a heartbeat exactly at the threshold is fresh, one ms more is stale', () => {
  const fresh = assessFreshness({ environments: ['prod'], heartbeatMs: now - 60000, reconciledMs: now - 1000 }, now, options, 'prod');
  assert.equal(fresh.reason, 'none');
  assert.equal(fresh.ageMs, 60000);
  assert.equal(fresh.detail, 'heartbeat 60000 ms old, last reconcile 1000 ms ago');
  const stale = assessFreshness({ environments: ['prod'], heartbeatMs: now - 60001, reconciledMs: now - 1000 }, now, options, 'prod');
  assert.deepEqual(stale, {
    reason: 'heartbeat_stale',
    ageMs: 60001,
    detail: 'heartbeat 60001 ms old > stale threshold 60000 ms',
  });
});

test('freshness: a heartbeat in the future (clock skew) is fresh with a negative age', () => {
  const skewed = assessFreshness({ environments: ['prod'], heartbeatMs: now + 2500, reconciledMs: now }, now, options, 'prod');
  assert.equal(skewed.reason, 'none');
  assert.equal(skewed.ageMs, -2500);
});

// Regression: a heartbeat stamped by a clock running a day ahead counted as fresh, so the reader served the
// cache while the counter was dead, for as long as that clock was ahead.
test('freshness: a heartbeat beyond the clock skew bound is heartbeat_stale', () => {
  const atBound = assessFreshness({ environments: ['prod'], heartbeatMs: now + MAX_CLOCK_SKEW_MS, reconciledMs: now }, now, options, 'prod');
  assert.equal(atBound.reason, 'none');
  assert.deepEqual(assessFreshness({ environments: ['prod'], heartbeatMs: now + MAX_CLOCK_SKEW_MS + 1, reconciledMs: now }, now, options, 'prod'), {
    reason: 'heartbeat_stale',
    ageMs: -MAX_CLOCK_SKEW_MS - 1,
    detail: 'heartbeat 300001 ms in the future > clock skew bound 300000 ms',
  });
});

test('freshness: a reconcile stamp beyond the clock skew bound is reconcile_overdue', () => {
  assert.equal(assessFreshness({ environments: ['prod'], heartbeatMs: now, reconciledMs: now + MAX_CLOCK_SKEW_MS }, now, options, 'prod').reason, 'none');
  assert.deepEqual(assessFreshness({ environments: ['prod'], heartbeatMs: now, reconciledMs: now + 86400000 }, now, options, 'prod'), {
    reason: 'reconcile_overdue',
    ageMs: 0,
    detail: 'last reconcile 86400000 ms in the future > clock skew bound 300000 ms',
  });
});

test('freshness: a meta item without heartbeat is heartbeat_stale without an age', () => {
  assert.deepEqual(assessFreshness({ environments: ['prod'], reconciledMs: now }, now, options, 'prod'), {
    reason: 'heartbeat_stale',
    ageMs: null,
    detail: 'the meta item has no heartbeat',
  });
});

test('freshness: a reconcile exactly 3 intervals old is fresh, one ms more is overdue', () => {
  assert.equal(assessFreshness({ environments: ['prod'], heartbeatMs: now, reconciledMs: now - 900000 }, now, options, 'prod').reason, 'none');
  assert.deepEqual(assessFreshness({ environments: ['prod'], heartbeatMs: now - 5, reconciledMs: now - 900001 }, now, options, 'prod'), {
    reason: 'reconcile_overdue',
    ageMs: 5,
    detail: 'last reconcile 900001 ms ago > 3 x reconcile interval 900000 ms',
  });
  assert.deepEqual(assessFreshness({ environments: ['prod'], heartbeatMs: now }, now, options, 'prod'), {
    reason: 'reconcile_overdue',
    ageMs: 0,
    detail: 'no reconcile has finished yet',
  });
});

test('freshness: a stale heartbeat is reported before an overdue reconcile', () => {
  const both = assessFreshness({ environments: ['prod'], heartbeatMs: now - 70000, reconciledMs: now - 1000000 }, now, options, 'prod');
  assert.equal(both.reason, 'heartbeat_stale');
});

test('freshness: a threshold of 0 accepts only a heartbeat of this millisecond or later', () => {
  const zero = { staleThresholdMs: 0, reconcileIntervalMs: 300000 };
  assert.equal(assessFreshness({ environments: ['prod'], heartbeatMs: now, reconciledMs: now }, now, zero, 'prod').reason, 'none');
  assert.equal(assessFreshness({ environments: ['prod'], heartbeatMs: now - 1, reconciledMs: now }, now, zero, 'prod').reason, 'heartbeat_stale');
});

test('freshness: a table that does not count the environment is environment_mismatch, with the age', () => {
  assert.deepEqual(assessFreshness({ environments: ['prod'], heartbeatMs: now - 1843, reconciledMs: now }, now, options, 'staging'), {
    reason: 'environment_mismatch',
    ageMs: 1843,
    detail: 'the table counts prod, not staging',
  });
  const several = { environments: ['multi-b', 'multi-a'], heartbeatMs: now, reconciledMs: now };
  assert.equal(assessFreshness(several, now, options, 'multi-b').reason, 'none');
  assert.equal(assessFreshness(several, now, options, 'multi-c').detail, 'the table counts multi-a,multi-b, not multi-c');
  assert.equal(assessFreshness(several, now, options, 'Multi-a').reason, 'environment_mismatch');
});

test('freshness: a meta item without environments (an older counter) is environment_mismatch', () => {
  assert.deepEqual(assessFreshness({ heartbeatMs: now, reconciledMs: now }, now, options, 'prod'), {
    reason: 'environment_mismatch',
    ageMs: 0,
    detail: 'the meta item does not say which environments the table counts',
  });
});

test('freshness: the environment is checked before the heartbeat, after the meta item', () => {
  const old = { environments: ['prod'], heartbeatMs: now - 70000, reconciledMs: now - 1000000 };
  assert.equal(assessFreshness(old, now, options, 'staging').reason, 'environment_mismatch');
  assert.equal(assessFreshness({ environments: ['prod'] }, now, options, 'staging').ageMs, null);
});
