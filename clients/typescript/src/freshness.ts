// The freshness rule (docs/table-contract.md, section 3): when the cache may answer.

import type { CacheConfig } from './config.js';

/** Why an answer came from EC2 instead of the cache; `none` when it came from the cache. */
export type FallbackReason =
  | 'none'
  | 'meta_missing'
  | 'environment_mismatch'
  | 'heartbeat_stale'
  | 'reconcile_overdue'
  | 'cache_read_failed';

/** The attributes of the `#meta` item a reader needs; any may be absent. */
export interface MetaItem {
  heartbeatMs?: number;
  reconciledMs?: number;
  /** The `ghr:environment` values the deployment counts (the `environments` string set). */
  environments?: readonly string[];
}

/**
 * How far ahead of the reader's clock a meta stamp may be and still count (docs/table-contract.md,
 * section 3): the counter's bound on event times, 5 minutes.
 */
export const MAX_CLOCK_SKEW_MS = 300000;

/** The verdict of the freshness rule on one meta item. */
export interface Freshness {
  /** `none` when the cache may answer; never `cache_read_failed`. */
  reason: FallbackReason;
  /** `now - heartbeat_ms` when there is a heartbeat (negative for a heartbeat in the future), else null. */
  ageMs: number | null;
  /** The comparison that decided, worded as the C++ reader words it. */
  detail: string;
}

/**
 * The freshness rule on `meta` (undefined: there is no meta item) read at `nowMs` for a key of
 * `environment`, checked in this order: no meta item -> `meta_missing`; no `environments`, or `environment`
 * not among them (exact comparison of the raw value) -> `environment_mismatch`; heartbeat absent or older
 * than staleThresholdMs -> `heartbeat_stale`; reconciled_ms absent or older than 3 x reconcileIntervalMs ->
 * `reconcile_overdue`; else `none`. Ages exactly at a threshold are fresh; a heartbeat up to
 * MAX_CLOCK_SKEW_MS in the future (clock skew) is fresh. A heartbeat further ahead is `heartbeat_stale` and a
 * reconciled_ms further ahead `reconcile_overdue`: a clock running ahead stamped them, and they prove nothing
 * about now. The age is reported whenever there is a heartbeat, whatever the verdict.
 */
export function assessFreshness(
  meta: MetaItem | undefined,
  nowMs: number,
  config: Pick<CacheConfig, 'staleThresholdMs' | 'reconcileIntervalMs'>,
  environment: string,
): Freshness {
  if (meta === undefined) {
    return { reason: 'meta_missing', ageMs: null, detail: 'no meta item: the counter never ran against this table' };
  }
  const ageMs = meta.heartbeatMs === undefined ? null : nowMs - meta.heartbeatMs;
  if (meta.environments === undefined || meta.environments.length === 0) {
    return {
      reason: 'environment_mismatch',
      ageMs,
      detail: 'the meta item does not say which environments the table counts',
    };
  }
  if (!meta.environments.includes(environment)) {
    return {
      reason: 'environment_mismatch',
      ageMs,
      detail: `the table counts ${[...meta.environments].sort().join(',')}, not ${environment}`,
    };
  }
  if (ageMs === null) {
    return { reason: 'heartbeat_stale', ageMs: null, detail: 'the meta item has no heartbeat' };
  }
  if (ageMs < -MAX_CLOCK_SKEW_MS) {
    return {
      reason: 'heartbeat_stale',
      ageMs,
      detail: `heartbeat ${-ageMs} ms in the future > clock skew bound ${MAX_CLOCK_SKEW_MS} ms`,
    };
  }
  if (ageMs > config.staleThresholdMs) {
    return {
      reason: 'heartbeat_stale',
      ageMs,
      detail: `heartbeat ${ageMs} ms old > stale threshold ${config.staleThresholdMs} ms`,
    };
  }
  const overdueAfterMs = 3 * config.reconcileIntervalMs;
  if (meta.reconciledMs === undefined) {
    return { reason: 'reconcile_overdue', ageMs, detail: 'no reconcile has finished yet' };
  }
  const sinceReconcileMs = nowMs - meta.reconciledMs;
  if (sinceReconcileMs < -MAX_CLOCK_SKEW_MS) {
    return {
      reason: 'reconcile_overdue',
      ageMs,
      detail: `last reconcile ${-sinceReconcileMs} ms in the future > clock skew bound ${MAX_CLOCK_SKEW_MS} ms`,
    };
  }
  if (sinceReconcileMs > overdueAfterMs) {
    return {
      reason: 'reconcile_overdue',
      ageMs,
      detail: `last reconcile ${sinceReconcileMs} ms ago > 3 x reconcile interval ${overdueAfterMs} ms`,
    };
  }
  return {
    reason: 'none',
    ageMs,
    detail: `heartbeat ${ageMs} ms old, last reconcile ${sinceReconcileMs} ms ago`,
  };
}
