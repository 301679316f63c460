// Slots: a hard per-key maximum for concurrent scale-ups (docs/table-contract.md section 8, the C++
// include/rcc/slots.h and `rcc slots take|release`). Every decision for a key runs under the key's lease
// item `#lease#<key>`, taken and released with conditional UpdateItems, so decisions for one key happen one
// at a time, whichever language sends them:
//
//   1. takeSlots: take the lease (holder, expiry now + leaseMs); while another holder has it, wait and try
//      again until waitMs has passed (an expired lease is taken over);
//   2. under the lease, count the key with countActiveRunners (cache when fresh, else EC2) and add what
//      earlier decisions launched within their settle time (the lease's `recent` entries);
//   3. allowed = max(0, min(wanted, maximum - counted));
//   4. the caller launches at most `allowed` runners and registers them (registerLaunches);
//   5. releaseSlots: release the lease, adding {launched, now + settleMs} to `recent`.

import { randomBytes } from 'node:crypto';

import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';

import type { CacheConfig } from './config.js';
import { runnerKey, runnerKeyProblem, type RunnerKey } from './key.js';
import { type CountAnswer, countActiveRunners, InvalidRunnerKeyError, type ReaderDependencies } from './reader.js';

/** The C++ SlotOptions, with the same defaults. */
export interface SlotOptions {
  /** How long one decision may hold the key (launch and registration included). */
  leaseMs: number;
  /** How long a decision's launches are counted from the lease, until the count surely shows them. */
  settleMs: number;
  /** How long takeSlots keeps trying a busy lease; 0: one attempt. */
  waitMs: number;
  /** First pause between attempts; doubles up to 1000 ms, with full jitter. */
  retryMs: number;
  /** The lease item expires this long after its last use (TTL_SECONDS). */
  ttlSeconds: number;
}

export const DEFAULT_SLOT_OPTIONS: Readonly<SlotOptions> = {
  leaseMs: 30000,
  settleMs: 2000,
  waitMs: 10000,
  retryMs: 50,
  ttlSeconds: 86400,
};

const MAX_RETRY_MS = 1000;

/** Why `options` cannot be used, or undefined (the checks of the C++ validate_slot_options()). */
export function slotOptionsProblem(options: SlotOptions): string | undefined {
  const integer = (value: number): boolean => Number.isSafeInteger(value);
  if (!integer(options.leaseMs) || options.leaseMs <= 0) return 'leaseMs must be an integer > 0';
  if (!integer(options.settleMs) || options.settleMs < 0) return 'settleMs must be an integer >= 0';
  if (!integer(options.waitMs) || options.waitMs < 0) return 'waitMs must be an integer >= 0';
  if (!integer(options.retryMs) || options.retryMs <= 0) return 'retryMs must be an integer > 0';
  if (!integer(options.ttlSeconds) || options.ttlSeconds <= 0) return 'ttlSeconds must be an integer > 0';
  return undefined;
}

/** Launches an earlier decision made, counted on top of the count until `untilMs`. */
export interface RecentLaunch {
  count: number;
  untilMs: number;
}

/** The lease item: `holder` is '' and `expiresMs` 0 once released. */
export interface SlotLease {
  holder: string;
  expiresMs: number;
  recent: RecentLaunch[];
}

/** The lease item's pk for a key string. */
export function leasePk(key: string): string {
  return `#lease#${key}`;
}

/** A new random holder id: 16 hex digits. */
export function newHolderId(): string {
  return randomBytes(8).toString('hex');
}

/** Section 8.1: take the lease for `holder` until `expiresMs`, unless another holder has it unexpired at `nowMs`. */
export function takeLeaseRequest(
  config: Pick<CacheConfig, 'tableName'>,
  key: string,
  holder: string,
  nowMs: number,
  expiresMs: number,
  ttlS: number,
): UpdateItemCommandInput {
  return {
    ConditionExpression:
      'attribute_not_exists(#pk) OR attribute_not_exists(#holder) OR #expires <= :now OR #holder = :holder',
    ExpressionAttributeNames: { '#expires': 'expires_ms', '#holder': 'holder', '#pk': 'pk', '#ttl': 'ttl' },
    ExpressionAttributeValues: {
      ':expires': { N: String(expiresMs) },
      ':holder': { S: holder },
      ':now': { N: String(nowMs) },
      ':ttl': { N: String(ttlS) },
    },
    Key: { pk: { S: leasePk(key) } },
    ReturnValues: 'ALL_NEW',
    TableName: config.tableName,
    UpdateExpression: 'SET #holder = :holder, #expires = :expires, #ttl = :ttl',
  };
}

/** Section 8.4: release the lease if `holder` still has it, leaving `recent` for the next decisions. */
export function releaseLeaseRequest(
  config: Pick<CacheConfig, 'tableName'>,
  key: string,
  holder: string,
  recent: readonly RecentLaunch[],
  ttlS: number,
): UpdateItemCommandInput {
  return {
    ConditionExpression: '#holder = :holder',
    ExpressionAttributeNames: { '#expires': 'expires_ms', '#holder': 'holder', '#recent': 'recent', '#ttl': 'ttl' },
    ExpressionAttributeValues: {
      ':holder': { S: holder },
      ':recent': { L: recent.map((r) => ({ M: { count: { N: String(r.count) }, until_ms: { N: String(r.untilMs) } } })) },
      ':ttl': { N: String(ttlS) },
    },
    Key: { pk: { S: leasePk(key) } },
    TableName: config.tableName,
    UpdateExpression: 'SET #recent = :recent, #ttl = :ttl REMOVE #holder, #expires',
  };
}

/** Section 8.4: the consistent read of the lease item, for a release by holder id alone. */
export function leaseRequest(config: Pick<CacheConfig, 'tableName'>, key: string): GetItemCommandInput {
  return { ConsistentRead: true, Key: { pk: { S: leasePk(key) } }, TableName: config.tableName };
}

function integerOf(item: Record<string, AttributeValue>, name: string, where: string): number | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (value.N === undefined) throw new Error(`${where}: attribute ${name} is not N`);
  const n = Number(value.N);
  if (!Number.isSafeInteger(n)) throw new Error(`${where}: attribute ${name} is not an integer: ${value.N}`);
  return n;
}

/** A lease item as DynamoDB returns it; throws naming the attribute when it is malformed. */
export function parseLease(item: Record<string, AttributeValue>): SlotLease {
  const where = 'lease item';
  const holder = item['holder'];
  if (holder !== undefined && holder.S === undefined) throw new Error(`${where}: attribute holder is not S`);
  const lease: SlotLease = { holder: holder?.S ?? '', expiresMs: integerOf(item, 'expires_ms', where) ?? 0, recent: [] };
  const recent = item['recent'];
  if (recent === undefined) return lease;
  if (recent.L === undefined) throw new Error(`${where}: attribute recent is not L`);
  for (const entry of recent.L) {
    if (entry.M === undefined) throw new Error(`${where}: recent entry is not M`);
    const count = integerOf(entry.M, 'count', 'recent entry');
    const untilMs = integerOf(entry.M, 'until_ms', 'recent entry');
    if (count === undefined || untilMs === undefined) throw new Error(`${where}: recent entry without count or until_ms`);
    lease.recent.push({ count, untilMs });
  }
  return lease;
}

/** The lease item's TTL: ttlSeconds after the last time anything in it matters. */
function leaseTtlS(untilMs: number, recent: readonly RecentLaunch[], options: SlotOptions): number {
  let last = untilMs;
  for (const r of recent) last = Math.max(last, r.untilMs);
  return Math.floor(last / 1000) + options.ttlSeconds;
}

function runningAt(recent: readonly RecentLaunch[], nowMs: number): RecentLaunch[] {
  return recent.filter((r) => r.untilMs > nowMs);
}

function entriesAfter(recent: readonly RecentLaunch[], launched: number, options: SlotOptions, nowMs: number): RecentLaunch[] {
  const out = runningAt(recent, nowMs);
  if (launched > 0) out.push({ count: launched, untilMs: nowMs + options.settleMs });
  return out;
}

/** takeSlots gave up: another decision held the key's lease for the whole wait. */
export class SlotsBusyError extends Error {
  override readonly name = 'SlotsBusyError';
  constructor(
    message: string,
    readonly attempts: number,
    readonly waitedMs: number,
  ) {
    super(message);
  }
}

/** One decision's answer. `allowed` slots are the holder's until releaseSlots() or `expiresMs`. */
export interface SlotGrant {
  key: RunnerKey;
  holder: string;
  maximum: number;
  wanted: number;
  /** The reader's answer, read under the lease. */
  count: CountAnswer;
  /** Runners earlier decisions launched within their settle time. */
  inFlight: number;
  /** count.count + inFlight. */
  counted: number;
  /** max(0, min(wanted, maximum - counted)). */
  allowed: number;
  expiresMs: number;
  /** The lease's entries still running at the decision. */
  recent: RecentLaunch[];
  /** Lease writes made (1 when the lease was free at once). */
  attempts: number;
  waitedMs: number;
}

export type ReleaseOutcome = 'released' | 'lost';

/** What takeSlots needs besides the reader's dependencies: how to pause, and the jitter (for tests). */
export interface SlotDependencies extends ReaderDependencies {
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random?: () => number;
}

function fullOptions(options: Partial<SlotOptions> | undefined): SlotOptions {
  const full = { ...DEFAULT_SLOT_OPTIONS, ...options };
  const problem = slotOptionsProblem(full);
  if (problem !== undefined) throw new RangeError(problem);
  return full;
}

async function releaseWrite(
  dynamodb: DynamoDBClient,
  config: Pick<CacheConfig, 'tableName'>,
  key: string,
  holder: string,
  recent: readonly RecentLaunch[],
  options: SlotOptions,
  nowMs: number,
): Promise<ReleaseOutcome> {
  try {
    await dynamodb.send(new UpdateItemCommand(releaseLeaseRequest(config, key, holder, recent, leaseTtlS(nowMs, recent, options))));
    return 'released';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'lost';
    throw error;
  }
}

/**
 * Steps 1-3 for `request.key` with `request.maximum` runners at most, asking for `request.wanted` more
 * (default: the maximum), as the C++ take_slots(). Resolves with the grant, holding the lease, also when
 * allowed is 0 (release it all the same). Rejects with InvalidRunnerKeyError or RangeError (bad key,
 * numbers, holder or options; nothing sent); SlotsBusyError when the lease stayed busy for waitMs; the
 * DynamoDB error when a lease write failed; the reader's error when the count failed (the lease is
 * released first with its entries unchanged; when that release fails too, an Error naming both, whose
 * `cause` is the reader's error).
 */
export async function takeSlots(
  request: { key: RunnerKey; maximum: number; wanted?: number; holder?: string },
  config: CacheConfig,
  deps: SlotDependencies,
  slotOptions?: Partial<SlotOptions>,
): Promise<SlotGrant> {
  const problem = runnerKeyProblem(request.key);
  if (problem !== undefined) throw new InvalidRunnerKeyError(problem);
  const maximum = request.maximum;
  const wanted = request.wanted ?? maximum;
  if (!Number.isSafeInteger(maximum) || maximum < 0) throw new RangeError('maximum must be an integer >= 0');
  if (!Number.isSafeInteger(wanted) || wanted < 0) throw new RangeError('wanted must be an integer >= 0');
  const holder = request.holder ?? newHolderId();
  if (holder === '') throw new RangeError('empty holder id');
  const options = fullOptions(slotOptions);
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = deps.random ?? Math.random;
  const key = runnerKey(request.key);

  const startedMs = now();
  let pauseMs = options.retryMs;
  let attempts = 0;
  let lease: SlotLease | undefined;
  let expiresMs = 0;
  for (;;) {
    const nowMs = now();
    attempts += 1;
    expiresMs = nowMs + options.leaseMs;
    try {
      const answer = await deps.dynamodb.send(
        new UpdateItemCommand(takeLeaseRequest(config, key, holder, nowMs, expiresMs, leaseTtlS(expiresMs, [], options))),
      );
      if (answer.Attributes === undefined) throw new Error('UpdateItem ALL_NEW on a lease: no Attributes');
      lease = parseLease(answer.Attributes);
      break;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const waited = nowMs - startedMs;
    if (waited >= options.waitMs) {
      throw new SlotsBusyError(`the slot lease of ${key} stayed busy for ${waited} ms (${attempts} attempts)`, attempts, waited);
    }
    // Full jitter spreads the waiting deciders so they do not retry in lockstep.
    const pause = Math.max(1, Math.floor(pauseMs * random()));
    await sleep(Math.min(pause, options.waitMs - waited));
    pauseMs = Math.min(pauseMs * 2, MAX_RETRY_MS);
  }
  const waitedMs = now() - startedMs;

  let count: CountAnswer;
  try {
    count = await countActiveRunners(request.key, config, deps);
  } catch (error) {
    // Give the key back at once, with its entries as they were.
    const nowMs = now();
    try {
      await releaseWrite(deps.dynamodb, config, key, holder, runningAt(lease.recent, nowMs), options, nowMs);
    } catch (releaseError) {
      throw new Error(
        `counting ${key} under the slot lease failed: ${String(error)}; the lease stays taken until it expires ` +
          `(${String(releaseError)})`,
        { cause: error },
      );
    }
    throw error;
  }
  const recent = runningAt(lease.recent, now());
  const inFlight = recent.reduce((sum, r) => sum + r.count, 0);
  const counted = count.count + inFlight;
  const allowed = Math.max(0, Math.min(wanted, maximum - counted));
  return { key: request.key, holder, maximum, wanted, count, inFlight, counted, allowed, expiresMs, recent, attempts, waitedMs };
}

/**
 * Step 5 for a grant: releases the lease in one conditional write, with `recent` = the grant's entries still
 * running now plus {launched, now + settleMs} when launched > 0. `lost`: the lease expired and another
 * decision took it (or it was released already); its launches are not recorded (log it). Rejects with
 * RangeError for a bad `launched`, or the DynamoDB error (the lease then expires by itself).
 */
export async function releaseSlots(
  grant: Pick<SlotGrant, 'key' | 'holder' | 'recent'>,
  launched: number,
  config: Pick<CacheConfig, 'tableName'>,
  deps: { dynamodb: DynamoDBClient; now?: () => number },
  slotOptions?: Partial<SlotOptions>,
): Promise<ReleaseOutcome> {
  if (!Number.isSafeInteger(launched) || launched < 0) throw new RangeError('launched must be an integer >= 0');
  const options = fullOptions(slotOptions);
  const nowMs = (deps.now ?? Date.now)();
  const recent = entriesAfter(grant.recent, launched, options, nowMs);
  return await releaseWrite(deps.dynamodb, config, runnerKey(grant.key), grant.holder, recent, options, nowMs);
}

/**
 * Step 5 from a process that kept only the holder id (as `rcc slots release`): reads the lease
 * (consistent GetItem), then the same write; `lost` without a write when the lease is not `holder`'s.
 */
export async function releaseSlotsByHolder(
  key: RunnerKey,
  holder: string,
  launched: number,
  config: Pick<CacheConfig, 'tableName'>,
  deps: { dynamodb: DynamoDBClient; now?: () => number },
  slotOptions?: Partial<SlotOptions>,
): Promise<ReleaseOutcome> {
  if (holder === '') throw new RangeError('empty holder id');
  if (!Number.isSafeInteger(launched) || launched < 0) throw new RangeError('launched must be an integer >= 0');
  const problem = runnerKeyProblem(key);
  if (problem !== undefined) throw new InvalidRunnerKeyError(problem);
  const options = fullOptions(slotOptions);
  const keyText = runnerKey(key);
  const answer = await deps.dynamodb.send(new GetItemCommand(leaseRequest(config, keyText)));
  if (answer.Item === undefined) return 'lost';
  const lease = parseLease(answer.Item);
  if (lease.holder !== holder) return 'lost';
  const nowMs = (deps.now ?? Date.now)();
  return await releaseWrite(deps.dynamodb, config, keyText, holder, entriesAfter(lease.recent, launched, options, nowMs), options, nowMs);
}
