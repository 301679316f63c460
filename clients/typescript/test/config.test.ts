import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CacheConfigError, cacheConfigFromEnv } from '../src/index.js';

test('cacheConfigFromEnv: no table name means the cache is off', () => {
  assert.equal(cacheConfigFromEnv({}), undefined);
  assert.equal(cacheConfigFromEnv({ RUNNER_COUNT_CACHE_TABLE_NAME: '', RECONCILE_INTERVAL_S: 'x' }), undefined);
});

test('cacheConfigFromEnv: defaults are the contract\'s', () => {
  assert.deepEqual(cacheConfigFromEnv({ RUNNER_COUNT_CACHE_TABLE_NAME: 't' }), {
    tableName: 't',
    indexName: 'active',
    staleThresholdMs: 60000,
    reconcileIntervalMs: 300000,
  });
  assert.deepEqual(
    cacheConfigFromEnv({
      RUNNER_COUNT_CACHE_TABLE_NAME: 't',
      RUNNER_COUNT_CACHE_INDEX_NAME: '',
      RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS: '',
      RECONCILE_INTERVAL_S: '',
    }),
    { tableName: 't', indexName: 'active', staleThresholdMs: 60000, reconcileIntervalMs: 300000 },
  );
});

test('cacheConfigFromEnv reads the module\'s cache_config map', () => {
  assert.deepEqual(
    cacheConfigFromEnv({
      RUNNER_COUNT_CACHE_TABLE_NAME: 'ghr-runner-count-cache',
      RUNNER_COUNT_CACHE_INDEX_NAME: 'active',
      RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS: '150000',
      RECONCILE_INTERVAL_S: '60',
    }),
    { tableName: 'ghr-runner-count-cache', indexName: 'active', staleThresholdMs: 150000, reconcileIntervalMs: 60000 },
  );
  assert.equal(
    cacheConfigFromEnv({ RUNNER_COUNT_CACHE_TABLE_NAME: 't', RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS: '0' })?.staleThresholdMs,
    0,
  );
});

test('cacheConfigFromEnv rejects bad numbers naming the variable', () => {
  const cases: [string, string, string][] = [
    ['RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS', '-5', 'a non-negative integer'],
    ['RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS', '60s', 'a non-negative integer'],
    ['RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS', '1e3', 'a non-negative integer'],
    ['RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS', '99999999999999999999', 'a non-negative integer'],
    ['RECONCILE_INTERVAL_S', '0', 'a positive integer'],
    ['RECONCILE_INTERVAL_S', ' 300', 'a positive integer'],
  ];
  for (const [name, value, wanted] of cases) {
    assert.throws(
      () => cacheConfigFromEnv({ RUNNER_COUNT_CACHE_TABLE_NAME: 't', [name]: value }),
      (error: unknown) =>
        error instanceof CacheConfigError && error.message === `${name}: expected ${wanted}, got "${value}"`,
      `${name}=${value}`,
    );
  }
});
