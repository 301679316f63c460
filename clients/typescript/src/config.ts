// The scale-up's cache configuration, from the environment variables the Terraform module's `cache_config`
// output holds (docs/table-contract.md, section 6).

/** How to read one cache table. */
export interface CacheConfig {
  /** RUNNER_COUNT_CACHE_TABLE_NAME. */
  tableName: string;
  /** RUNNER_COUNT_CACHE_INDEX_NAME, default `active`. */
  indexName: string;
  /** RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS, default 60000: the largest accepted `now - heartbeat_ms`. */
  staleThresholdMs: number;
  /** RECONCILE_INTERVAL_S * 1000, default 300000: the cache is stale when no reconcile finished within 3x. */
  reconcileIntervalMs: number;
}

export const DEFAULT_INDEX_NAME = 'active';
export const DEFAULT_STALE_THRESHOLD_MS = 60000;
export const DEFAULT_RECONCILE_INTERVAL_S = 300;

/** A configuration variable with a value that cannot be used; the message names the variable. */
export class CacheConfigError extends Error {
  override readonly name = 'CacheConfigError';
}

/** The variables of a CacheConfig, as the Terraform module's `cache_config` output names them. */
export const CACHE_VARIABLES = {
  tableName: 'RUNNER_COUNT_CACHE_TABLE_NAME',
  indexName: 'RUNNER_COUNT_CACHE_INDEX_NAME',
  staleThresholdMs: 'RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS',
  reconcileIntervalS: 'RECONCILE_INTERVAL_S',
} as const;

type Environment = Readonly<Record<string, string | undefined>>;

function integerVariable(env: Environment, name: string, fallback: number, minimum: 0 | 1): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < minimum) {
    const wanted = minimum === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new CacheConfigError(`${name}: expected ${wanted}, got "${text}"`);
  }
  return value;
}

/**
 * The cache configuration from `env` (default process.env), or undefined when RUNNER_COUNT_CACHE_TABLE_NAME
 * is unset or empty: the cache is off and the scale-up counts with EC2 as before. Unset or empty numeric
 * variables take their defaults. Throws CacheConfigError naming the variable when
 * RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS is not a non-negative integer or RECONCILE_INTERVAL_S not a
 * positive integer (decimal digits only, as the C++ reader accepts).
 */
export function cacheConfigFromEnv(env: Environment = process.env): CacheConfig | undefined {
  const tableName = env[CACHE_VARIABLES.tableName];
  if (tableName === undefined || tableName === '') return undefined;
  const indexName = env[CACHE_VARIABLES.indexName];
  return {
    tableName,
    indexName: indexName === undefined || indexName === '' ? DEFAULT_INDEX_NAME : indexName,
    staleThresholdMs: integerVariable(env, CACHE_VARIABLES.staleThresholdMs, DEFAULT_STALE_THRESHOLD_MS, 0),
    reconcileIntervalMs:
      integerVariable(env, CACHE_VARIABLES.reconcileIntervalS, DEFAULT_RECONCILE_INTERVAL_S, 1) * 1000,
  };
}
