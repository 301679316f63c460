// The reader (docs/table-contract.md, sections 3-5): how many active runners a key has, from the cache
// when it can vouch for itself, else from EC2.

import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';

import type { CacheConfig } from './config.js';
import { countMatchingRunners, type ListEc2Runners } from './ec2.js';
import { assessFreshness, type FallbackReason, type MetaItem } from './freshness.js';
import { runnerKey, runnerKeyProblem, type RunnerKey } from './key.js';

/** The `pk` of the meta item. */
export const META_PK = '#meta';

/** A count and where it came from; the fields of `rcc count --json`, in camelCase. */
export interface CountAnswer {
  count: number;
  source: 'cache' | 'ec2';
  /** `now - heartbeat_ms` whenever the meta item was read and has a heartbeat (on a fallback too). */
  ageMs: number | null;
  reason: FallbackReason;
  /** Human-readable: the ages compared, or the cache error. */
  detail: string;
}

/** What a count needs besides the key and the configuration. */
export interface ReaderDependencies {
  /** The DynamoDB client (region, credentials, endpoint are its own). */
  dynamodb: DynamoDBClient;
  /** The EC2 fallback: upstream's `listEC2Runners`, or describeInstancesLister(). */
  listEc2Runners: ListEc2Runners;
  /** The wall clock in ms since the epoch; default Date.now. */
  now?: () => number;
}

/** The key cannot be counted (see runnerKeyProblem()); no request was sent. */
export class InvalidRunnerKeyError extends Error {
  override readonly name = 'InvalidRunnerKeyError';
}

/** Neither the cache nor EC2 could answer. `cause` is EC2's error (so throttling can be told apart). */
export class CountUnavailableError extends Error {
  override readonly name = 'CountUnavailableError';
  constructor(
    readonly reason: FallbackReason,
    readonly detail: string,
    ec2Error: unknown,
  ) {
    super(`cache ${reason}: ${detail}; EC2 fallback failed: ${describeError(ec2Error)}`, { cause: ec2Error });
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The GetItem of section 4.1: the meta item, strongly consistent. */
export function metaRequest(config: Pick<CacheConfig, 'tableName'>): GetItemCommandInput {
  return { ConsistentRead: true, Key: { pk: { S: META_PK } }, TableName: config.tableName };
}

/** The Query of section 4.2: the count of `key` on the active index, from `startKey` when given. */
export function countRequest(
  config: Pick<CacheConfig, 'tableName' | 'indexName'>,
  key: string,
  startKey?: Record<string, AttributeValue>,
): QueryCommandInput {
  const request: QueryCommandInput = {
    ExpressionAttributeNames: { '#active': 'active_key' },
    ExpressionAttributeValues: { ':key': { S: key } },
    IndexName: config.indexName,
    KeyConditionExpression: '#active = :key',
    Select: 'COUNT',
    TableName: config.tableName,
  };
  if (startKey !== undefined) request.ExclusiveStartKey = startKey;
  return request;
}

function integerAttribute(item: Record<string, AttributeValue>, name: string): number | undefined {
  const value = item[name];
  if (value === undefined) return undefined;
  if (value.N === undefined) throw new Error(`attribute ${name} is not N`);
  const n = /^-?[0-9]+$/.test(value.N) ? Number(value.N) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`attribute ${name} is not an integer: ${value.N}`);
  return n;
}

/** The meta item, or undefined when there is none. Rejects when the read fails or an attribute is malformed. */
export async function readMetaItem(dynamodb: DynamoDBClient, config: Pick<CacheConfig, 'tableName'>): Promise<MetaItem | undefined> {
  const answer = await dynamodb.send(new GetItemCommand(metaRequest(config)));
  if (answer.Item === undefined) return undefined;
  const meta: MetaItem = {};
  const heartbeatMs = integerAttribute(answer.Item, 'heartbeat_ms');
  const reconciledMs = integerAttribute(answer.Item, 'reconciled_ms');
  const environments = answer.Item['environments'];
  if (environments !== undefined) {
    if (environments.SS === undefined) throw new Error('attribute environments is not SS');
    meta.environments = environments.SS;
  }
  if (heartbeatMs !== undefined) meta.heartbeatMs = heartbeatMs;
  if (reconciledMs !== undefined) meta.reconciledMs = reconciledMs;
  return meta;
}

const MAX_QUERY_PAGES = 10000;

/** The number of index entries of `key`, adding up every page's Count. Rejects when a page fails. */
export async function countIndexEntries(
  dynamodb: DynamoDBClient,
  config: Pick<CacheConfig, 'tableName' | 'indexName'>,
  key: string,
): Promise<number> {
  let total = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  for (let page = 0; page < MAX_QUERY_PAGES; page += 1) {
    const answer = await dynamodb.send(new QueryCommand(countRequest(config, key, startKey)));
    if (answer.Count === undefined) throw new Error('Query: no Count');
    total += answer.Count;
    startKey = answer.LastEvaluatedKey;
    if (startKey === undefined) return total;
  }
  throw new Error(`Query: more than ${MAX_QUERY_PAGES} pages`);
}

/**
 * The count of `key`, following docs/table-contract.md section 4.3 at one instant `now` (read once):
 *  1. runnerKeyProblem(key); InvalidRunnerKeyError without any request when there is one.
 *  2. The meta item (GetItem) and the key's index count (Query pages) are read concurrently.
 *  3. The meta read failed -> fall back with `cache_read_failed` and no age. Else assessFreshness() for the
 *     key's environment (a table that does not count it is `environment_mismatch`):
 *     stale -> fall back with that reason and age (whether or not the Query failed); fresh but the Query
 *     failed -> fall back with `cache_read_failed` and the age; else the answer is the index count,
 *     source `cache`, reason `none`.
 *  4. A fallback counts `deps.listEc2Runners({ environment })` client-side by type and owner; the count is
 *     never written back. When EC2 fails too, rejects with CountUnavailableError naming both causes.
 * Sends nothing but the two reads and the EC2 listing; never writes.
 */
export async function countActiveRunners(
  key: RunnerKey,
  config: CacheConfig,
  deps: ReaderDependencies,
): Promise<CountAnswer> {
  const problem = runnerKeyProblem(key);
  if (problem !== undefined) throw new InvalidRunnerKeyError(problem);
  const nowMs = (deps.now ?? Date.now)();
  const [meta, count] = await Promise.allSettled([
    readMetaItem(deps.dynamodb, config),
    countIndexEntries(deps.dynamodb, config, runnerKey(key)),
  ]);

  let answer: CountAnswer;
  if (meta.status === 'rejected') {
    answer = {
      count: 0,
      source: 'ec2',
      ageMs: null,
      reason: 'cache_read_failed',
      detail: `reading the meta item failed: ${describeError(meta.reason)}`,
    };
  } else {
    const freshness = assessFreshness(meta.value, nowMs, config, key.environment);
    answer = { count: 0, source: 'ec2', ageMs: freshness.ageMs, reason: freshness.reason, detail: freshness.detail };
    if (freshness.reason === 'none') {
      if (count.status === 'fulfilled') return { ...answer, count: count.value, source: 'cache' };
      answer.reason = 'cache_read_failed';
      answer.detail = `counting the active index failed: ${describeError(count.reason)}`;
    }
  }

  let runners;
  try {
    runners = await deps.listEc2Runners({ environment: key.environment });
  } catch (error) {
    throw new CountUnavailableError(answer.reason, answer.detail, error);
  }
  answer.count = countMatchingRunners(runners, key);
  return answer;
}
