// Slots: a hard per-key maximum for concurrent scale-ups (docs/table-contract.md section 8, the C++
// include/rcc/slots.h and `rcc slots take|release`). Each key has a lease item `#lease#<key>` holding a
// version and one grant entry per decision; a decision writes its grant with a conditional UpdateItem on
// the version it read, so grants for one key are made one after the other, each on all earlier ones,
// whichever language sends them. Nobody waits for a lock:
//
//   1. takeSlots: count the key with countActiveRunners (cache when fresh, else EC2), read the lease
//      (version and grants), allowed = max(0, min(wanted, maximum - count - the entries valid when the
//      count was read));
//   2. when allowed > 0, grant {allowed, now + leaseMs} on condition that the version is unchanged; when
//      another decision granted first, read the lease again and decide again at once (counting again
//      when the count is older than settleMs / 2), for up to waitMs;
//   3. the caller launches at most `allowed` runners and registers them (registerLaunches);
//   4. releaseSlots: the entry becomes {launched, now + settleMs}, or goes when nothing was launched.

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
  /** How long a grant reserves its slots (launch and registration included). */
  leaseMs: number;
  /** How long released launches are counted from their entry, until the count surely shows them. */
  settleMs: number;
  /** How long takeSlots keeps deciding again after conflicts; 0: one attempt. */
  waitMs: number;
  /** The lease item expires this long after its last grant (TTL_SECONDS). */
  ttlSeconds: number;
}

export const DEFAULT_SLOT_OPTIONS: Readonly<SlotOptions> = {
  leaseMs: 30000,
  settleMs: 2000,
  waitMs: 10000,
  ttlSeconds: 86400,
};

/** A grant removes at most this many run-out entries (DynamoDB limits an expression to 4 KB); later grants remove the rest. */
const MAX_REMOVALS_PER_GRANT = 100;

/** Why `options` cannot be used, or undefined (the checks of the C++ validate_slot_options()). */
export function slotOptionsProblem(options: SlotOptions): string | undefined {
  const integer = (value: number): boolean => Number.isSafeInteger(value);
  if (!integer(options.leaseMs) || options.leaseMs <= 0) return 'leaseMs must be an integer > 0';
  if (!integer(options.settleMs) || options.settleMs < 0) return 'settleMs must be an integer >= 0';
  if (!integer(options.waitMs) || options.waitMs < 0) return 'waitMs must be an integer >= 0';
  if (!integer(options.ttlSeconds) || options.ttlSeconds <= 0) return 'ttlSeconds must be an integer > 0';
  return undefined;
}

/** One decision's entry: `count` runners reserved or launched, counted while untilMs > now. */
export interface GrantEntry {
  count: number;
  untilMs: number;
}

/** The lease item: version 0 and no grants when it was never granted. */
export interface SlotLease {
  version: number;
  /** Holder id -> entry, the expired ones included. */
  grants: Record<string, GrantEntry>;
}

/** The lease item's pk for a key string. */
export function leasePk(key: string): string {
  return `#lease#${key}`;
}

/** A new random holder id: 16 hex digits. */
export function newHolderId(): string {
  return randomBytes(8).toString('hex');
}

function entryValue(entry: GrantEntry): AttributeValue {
  return { M: { count: { N: String(entry.count) }, until_ms: { N: String(entry.untilMs) } } };
}

/** Section 8.2: the consistent read of the lease item. */
export function leaseRequest(config: Pick<CacheConfig, 'tableName'>, key: string): GetItemCommandInput {
  return { ConsistentRead: true, Key: { pk: { S: leasePk(key) } }, TableName: config.tableName };
}

/**
 * Section 8.3: grant `entry` to `holder` if the lease is still at `expectedVersion`, removing the entries
 * of `removals`. For version 0 the whole map is written (there is none to set a path in yet).
 */
export function grantRequest(
  config: Pick<CacheConfig, 'tableName'>,
  key: string,
  expectedVersion: number,
  holder: string,
  entry: GrantEntry,
  removals: readonly string[],
  ttlS: number,
): UpdateItemCommandInput {
  const common = { Key: { pk: { S: leasePk(key) } }, TableName: config.tableName };
  if (expectedVersion === 0) {
    return {
      ...common,
      ConditionExpression: 'attribute_not_exists(#version)',
      ExpressionAttributeNames: { '#grants': 'grants', '#ttl': 'ttl', '#version': 'version' },
      ExpressionAttributeValues: {
        ':grants': { M: { [holder]: entryValue(entry) } },
        ':next': { N: '1' },
        ':ttl': { N: String(ttlS) },
      },
      UpdateExpression: 'SET #version = :next, #grants = :grants, #ttl = :ttl',
    };
  }
  const names: Record<string, string> = { '#grants': 'grants', '#holder': holder, '#ttl': 'ttl', '#version': 'version' };
  removals.forEach((removal, i) => {
    names[`#r${i}`] = removal;
  });
  const remove = removals.length === 0 ? '' : ` REMOVE ${removals.map((_, i) => `#grants.#r${i}`).join(', ')}`;
  return {
    ...common,
    ConditionExpression: '#version = :version',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: {
      ':entry': entryValue(entry),
      ':next': { N: String(expectedVersion + 1) },
      ':ttl': { N: String(ttlS) },
      ':version': { N: String(expectedVersion) },
    },
    UpdateExpression: `SET #version = :next, #grants.#holder = :entry, #ttl = :ttl${remove}`,
  };
}

/** Section 8.5: replace `holder`'s entry by `entry`, or remove it when undefined, if the entry exists. */
export function settleRequest(
  config: Pick<CacheConfig, 'tableName'>,
  key: string,
  holder: string,
  entry: GrantEntry | undefined,
): UpdateItemCommandInput {
  const common = {
    ConditionExpression: 'attribute_exists(#grants.#holder)',
    ExpressionAttributeNames: { '#grants': 'grants', '#holder': holder },
    Key: { pk: { S: leasePk(key) } },
    TableName: config.tableName,
  };
  if (entry === undefined) return { ...common, UpdateExpression: 'REMOVE #grants.#holder' };
  return { ...common, ExpressionAttributeValues: { ':entry': entryValue(entry) }, UpdateExpression: 'SET #grants.#holder = :entry' };
}

function integerOf(item: Record<string, AttributeValue>, name: string, where: string): number | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (value.N === undefined) throw new Error(`${where}: attribute ${name} is not N`);
  const n = Number(value.N);
  if (!Number.isSafeInteger(n)) throw new Error(`${where}: attribute ${name} is not an integer: ${value.N}`);
  return n;
}

/** The largest count a lease entry may hold, as GrantEntry::kMaxCount in C++: a lease with a count outside 0..this is refused. */
export const MAX_GRANT_COUNT = 1_000_000;

/** A lease item as DynamoDB returns it (undefined: no item); throws naming the attribute when it is malformed. */
export function parseLease(item: Record<string, AttributeValue> | undefined): SlotLease {
  const lease: SlotLease = { version: 0, grants: {} };
  if (item === undefined) return lease;
  const where = 'lease item';
  lease.version = integerOf(item, 'version', where) ?? 0;
  if (lease.version < 0) throw new Error(`${where}: version is negative: ${lease.version}`);
  const grants = item['grants'];
  if (grants === undefined) return lease;
  if (grants.M === undefined) throw new Error(`${where}: attribute grants is not M`);
  for (const [holder, entry] of Object.entries(grants.M)) {
    if (entry.M === undefined) throw new Error(`${where}: grant ${holder} is not M`);
    const count = integerOf(entry.M, 'count', `grant ${holder}`);
    const untilMs = integerOf(entry.M, 'until_ms', `grant ${holder}`);
    if (count === undefined || untilMs === undefined) throw new Error(`${where}: grant ${holder} without count or until_ms`);
    // A negative count would hand out slots that do not exist (docs/table-contract.md 8.2).
    if (count < 0 || count > MAX_GRANT_COUNT) {
      throw new Error(`${where}: grant ${holder} has count ${count}, outside 0..${MAX_GRANT_COUNT}`);
    }
    lease.grants[holder] = { count, untilMs };
  }
  return lease;
}

/** takeSlots gave up: other decisions kept granting first for waitMs. */
export class SlotsBusyError extends Error {
  override readonly name = 'SlotsBusyError';
  constructor(
    message: string,
    readonly conflicts: number,
    readonly elapsedMs: number,
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
  /** The reader's answer the decision used. */
  count: CountAnswer;
  /** The other decisions' entries still valid at the decision. */
  inFlight: number;
  /** count.count + inFlight. */
  counted: number;
  /** max(0, min(wanted, maximum - counted)). */
  allowed: number;
  /** The grant reserves `allowed` until then; 0 when nothing was written (allowed 0: nothing to release). */
  expiresMs: number;
  /** The lease's version after the grant (as read when nothing was written). */
  version: number;
  /** Lease reads (1 when no other decision came between). */
  attempts: number;
  /** Grant writes that failed because another decision granted first. */
  conflicts: number;
  /** Count reads (1 unless a retry found the count older than settleMs / 2). */
  counts: number;
  elapsedMs: number;
}

export type ReleaseOutcome = 'released' | 'lost';

/** What takeSlots needs: the reader's dependencies (a clock among them, for tests). */
export type SlotDependencies = ReaderDependencies;

function fullOptions(options: Partial<SlotOptions> | undefined): SlotOptions {
  const full = { ...DEFAULT_SLOT_OPTIONS, ...options };
  const problem = slotOptionsProblem(full);
  if (problem !== undefined) throw new RangeError(problem);
  return full;
}

async function settle(
  dynamodb: DynamoDBClient,
  config: Pick<CacheConfig, 'tableName'>,
  key: string,
  holder: string,
  launched: number,
  options: SlotOptions,
  nowMs: number,
): Promise<ReleaseOutcome> {
  const entry = launched > 0 ? { count: launched, untilMs: nowMs + options.settleMs } : undefined;
  try {
    await dynamodb.send(new UpdateItemCommand(settleRequest(config, key, holder, entry)));
    return 'released';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'lost';
    throw error;
  }
}

/**
 * Steps 1-2 for `request.key` with `request.maximum` runners at most, asking for `request.wanted` more
 * (default: the maximum), as the C++ take_slots(). Resolves with the grant; when allowed is 0 nothing was
 * written (expiresMs 0, nothing to release). Rejects with InvalidRunnerKeyError or RangeError (bad key,
 * numbers, holder or options; nothing sent); SlotsBusyError when other decisions kept granting first for
 * waitMs; the reader's or DynamoDB's error when a read or the write failed (nothing is then granted).
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
  if (!Number.isSafeInteger(maximum) || maximum < 0 || maximum > MAX_GRANT_COUNT) {
    throw new RangeError(`maximum must be an integer within 0..${MAX_GRANT_COUNT}`);
  }
  if (!Number.isSafeInteger(wanted) || wanted < 0) throw new RangeError('wanted must be an integer >= 0');
  const holder = request.holder ?? newHolderId();
  if (holder === '') throw new RangeError('empty holder id');
  const options = fullOptions(slotOptions);
  const now = deps.now ?? Date.now;
  const key = runnerKey(request.key);

  const startedMs = now();
  let count: CountAnswer | undefined;
  let countedAtMs = 0;
  let attempts = 0;
  let conflicts = 0;
  let counts = 0;
  for (;;) {
    // Every launch is in the count or in an entry valid when the count was read (docs/counting.md): an
    // entry is judged at countedAtMs, not at the lease read, so a release that settled and ran out between
    // the two still counts. A retry counts again once its count is older than settleMs / 2.
    if (count === undefined || now() - countedAtMs > Math.floor(options.settleMs / 2)) {
      countedAtMs = now();
      counts += 1;
      count = await countActiveRunners(request.key, config, deps);
    }
    attempts += 1;
    const answer = await deps.dynamodb.send(new GetItemCommand(leaseRequest(config, key)));
    const lease = parseLease(answer.Item);
    const nowMs = now();
    let inFlight = 0;
    let own: GrantEntry | undefined;
    let lastUntilMs = nowMs + options.leaseMs;
    const removals: string[] = [];
    for (const [h, entry] of Object.entries(lease.grants)) {
      if (entry.untilMs > countedAtMs) {
        inFlight += entry.count;
        lastUntilMs = Math.max(lastUntilMs, entry.untilMs);
        if (h === holder) own = entry;
      } else if (entry.untilMs <= nowMs - options.leaseMs && h !== holder && removals.length < MAX_REMOVALS_PER_GRANT) {
        removals.push(h);
      }
    }
    const counted = count.count + inFlight;
    const allowed = Math.max(0, Math.min(wanted, maximum - counted));
    const base = { key: request.key, holder, maximum, wanted, count, inFlight, counted, allowed, attempts, counts };
    if (allowed === 0) {
      return { ...base, expiresMs: 0, version: lease.version, conflicts, elapsedMs: now() - startedMs };
    }
    let entry: GrantEntry = { count: allowed, untilMs: nowMs + options.leaseMs };
    if (own !== undefined) entry = { count: own.count + allowed, untilMs: Math.max(own.untilMs, entry.untilMs) };
    const ttlS = Math.floor(lastUntilMs / 1000) + options.ttlSeconds;
    try {
      await deps.dynamodb.send(new UpdateItemCommand(grantRequest(config, key, lease.version, holder, entry, removals, ttlS)));
      return { ...base, expiresMs: entry.untilMs, version: lease.version + 1, conflicts, elapsedMs: now() - startedMs };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Another decision granted first: decide again on the lease as it is now, at once.
    conflicts += 1;
    const elapsed = now() - startedMs;
    if (elapsed >= options.waitMs) {
      throw new SlotsBusyError(
        `other decisions kept granting the slots of ${key} first for ${elapsed} ms (${conflicts} conflicts)`,
        conflicts,
        elapsed,
      );
    }
  }
}

/**
 * Step 4 for a grant: one conditional write replacing the holder's entry by {launched, now + settleMs},
 * or removing it when launched is 0. A grant of 0 slots (expiresMs 0) has no entry: nothing is sent,
 * 'released'. `lost`: the entry was gone (it ran out and a later grant removed it, or it was released
 * with nothing already); a decision may have counted without these launches (log it). Rejects with
 * RangeError for a bad `launched` (or more than the grant allowed), or the DynamoDB error (the grant then
 * runs out by itself at expiresMs).
 */
export async function releaseSlots(
  grant: Pick<SlotGrant, 'key' | 'holder' | 'allowed' | 'expiresMs'>,
  launched: number,
  config: Pick<CacheConfig, 'tableName'>,
  deps: { dynamodb: DynamoDBClient; now?: () => number },
  slotOptions?: Partial<SlotOptions>,
): Promise<ReleaseOutcome> {
  if (!Number.isSafeInteger(launched) || launched < 0) throw new RangeError('launched must be an integer >= 0');
  if (launched > grant.allowed) throw new RangeError('launched more than the grant allowed');
  const options = fullOptions(slotOptions);
  if (grant.expiresMs === 0) return 'released';
  const nowMs = (deps.now ?? Date.now)();
  return await settle(deps.dynamodb, config, runnerKey(grant.key), grant.holder, launched, options, nowMs);
}

/**
 * Step 4 from a process that kept only the holder id (as `rcc slots release`): the same single write.
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
  const nowMs = (deps.now ?? Date.now)();
  return await settle(deps.dynamodb, config, runnerKey(key), holder, launched, options, nowMs);
}
