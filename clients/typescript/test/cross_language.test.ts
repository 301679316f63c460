// The C++ counter fills a table, and the C++ reader (`rcc count --json`) and this package's reader answer
// alike on every key and every staleness cause: same count, source and reason, the same age (give or take
// the time between the two reads) and the same detail (numbers aside).
//
// The counter runs as `rcc handle` (the Lambda function's code path) on EC2 state-change events, with the
// tags looked up in the EC2 test server, then a schedule tick stamps the heartbeat and reconciles. After
// that EC2 is changed behind the table's back, so a cache answer and an EC2 answer differ and each reader's
// source shows in its count.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

import {
  type CacheConfig,
  cacheConfigFromEnv,
  countActiveRunners,
  type CountAnswer,
  CountUnavailableError,
  type RunnerKey,
} from '../src/index.js';
import {
  Dynalite,
  Ec2Server,
  instanceId,
  putMeta,
  type RccRun,
  rccPrograms,
  rccRunner,
  runnerTags,
  scheduleTick,
  stateChange,
  uniqueTableName,
} from './support.js';

const { rcc, ec2Binary, skip } = rccPrograms();

const environmentKey: RunnerKey = { environment: 'staging', type: 'Org', owner: 'acme' };
const prodKeys: RunnerKey[] = [
  { environment: 'prod', type: 'Org', owner: 'acme' },
  { environment: 'prod', type: 'Repo', owner: 'acme/app' },
  { environment: 'prod', type: 'Org', owner: 'globex' },
  { environment: 'prod', type: 'Repo', owner: 'acme' },
  { environment: 'prod', type: 'Org', owner: 'nobody' },
];

interface Comparable {
  count: number;
  source: string;
  reason: string;
  ageMs: number | null;
  detail: string;
}

/** Numbers in a detail become N, and a read failure's detail keeps only its first clause. */
function normalizedDetail(reason: string, detail: string): string {
  const text = reason === 'cache_read_failed' ? (detail.split(':')[0] ?? '') : detail;
  return text.replace(/-?\d+/g, 'N');
}

describe('the C++ counter fills a table; the C++ and the TypeScript readers agree', { skip }, () => {
  let dynalite: Dynalite;
  let ec2: Ec2Server;
  let dynamodb: DynamoDBClient;
  const table = uniqueTableName('ts-cross');

  let rccRun: RccRun;

  async function handle(event: string): Promise<void> {
    await rccRun(['handle', '--table', table, '--environment', 'prod', '--event', '-'], event);
  }

  async function cppCount(key: RunnerKey, extraEnv: Record<string, string>, tableName = table): Promise<Comparable | { error: string; code: string }> {
    const args = ['count', '--table', tableName, '--environment', key.environment, '--type', key.type, '--owner', key.owner, '--json'];
    let stdout: string;
    try {
      stdout = (await rccRun(args, undefined, extraEnv)).stdout;
    } catch (error) {
      const failed = error as { code?: number; stdout?: string };
      assert.equal(failed.code, 1, `rcc count exit status: ${JSON.stringify(error)}`);
      return JSON.parse(failed.stdout ?? '') as { error: string; code: string };
    }
    const out = JSON.parse(stdout) as { count: number; source: string; reason: string; age_ms: number | null; detail: string };
    return { count: out.count, source: out.source, reason: out.reason, ageMs: out.age_ms, detail: out.detail };
  }

  async function tsCount(key: RunnerKey, extraEnv: Record<string, string>, tableName = table): Promise<Comparable | CountUnavailableError> {
    const config: CacheConfig | undefined = cacheConfigFromEnv({ RUNNER_COUNT_CACHE_TABLE_NAME: tableName, ...extraEnv });
    assert.ok(config);
    try {
      const answer: CountAnswer = await countActiveRunners(key, config, { dynamodb, listEc2Runners: ec2.lister() });
      return answer;
    } catch (error) {
      assert.ok(error instanceof CountUnavailableError, String(error));
      return error;
    }
  }

  /** Both readers on every key; returns the answers (C++'s) by key for the case's own checks. */
  async function compareAll(what: string, extraEnv: Record<string, string> = {}, tableName = table): Promise<Map<string, Comparable>> {
    const answers = new Map<string, Comparable>();
    for (const key of [...prodKeys, environmentKey]) {
      const label = `${what}: ${key.environment}#${key.type}#${key.owner}`;
      const cpp = await cppCount(key, extraEnv, tableName);
      const ts = await tsCount(key, extraEnv, tableName);
      assert.ok(!('error' in cpp), `${label}: rcc count failed: ${JSON.stringify(cpp)}`);
      assert.ok(!(ts instanceof CountUnavailableError), `${label}: TypeScript failed: ${String(ts)}`);
      assert.deepEqual(
        { count: ts.count, source: ts.source, reason: ts.reason, detail: normalizedDetail(ts.reason, ts.detail) },
        { count: cpp.count, source: cpp.source, reason: cpp.reason, detail: normalizedDetail(cpp.reason, cpp.detail) },
        label,
      );
      assert.equal(ts.ageMs === null, cpp.ageMs === null, `${label}: age ${ts.ageMs} vs ${cpp.ageMs}`);
      if (ts.ageMs !== null && cpp.ageMs !== null) {
        assert.ok(Math.abs(ts.ageMs - cpp.ageMs) < 15000, `${label}: age ${ts.ageMs} vs ${cpp.ageMs}`);
      }
      answers.set(`${key.environment}#${key.type}#${key.owner}`, cpp);
    }
    return answers;
  }

  async function setMeta(update: string, values?: Record<string, { N: string }>): Promise<void> {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: '#meta' } },
        UpdateExpression: update,
        ...(values === undefined ? {} : { ExpressionAttributeValues: values }),
      }),
    );
  }

  before(async () => {
    dynalite = await Dynalite.start();
    ec2 = await Ec2Server.start(ec2Binary);
    dynamodb = dynalite.client();
    rccRun = rccRunner(rcc, dynalite, ec2);
    await rccRun(['table', 'create', '--table', table, '--json']);
    const inventory = [
      { instance_id: instanceId(1), tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(2), tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(3), state: 'pending', tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(4), tags: runnerTags('prod', 'Repo', 'acme/app') },
      { instance_id: instanceId(5), tags: runnerTags('prod', 'Repo', 'acme/app') },
      { instance_id: instanceId(6), tags: runnerTags('prod', 'Org', 'globex') },
      { instance_id: instanceId(7), tags: runnerTags('staging', 'Org', 'acme') },
      { instance_id: instanceId(8), tags: { Name: 'not-a-runner' } },
    ];
    await ec2.setInventory(inventory);
    const start = Date.now() - 30000;
    for (const [n, instance] of inventory.entries()) {
      await handle(stateChange(instance.instance_id, 'pending', start + n * 1000));
      if (instance.state !== 'pending') await handle(stateChange(instance.instance_id, 'running', start + n * 1000 + 500));
    }
    await handle(scheduleTick(Date.now()));
    // EC2 moves on without the table: one more acme runner, and globex's runner stopped.
    await ec2.control('launch', { instances: [{ instance_id: instanceId(9), tags: runnerTags('prod', 'Org', 'acme') }] });
    await ec2.control('set_state', { instance_id: instanceId(6), state: 'stopped' });
  });

  after(async () => {
    dynamodb?.destroy();
    await ec2?.stop();
    await dynalite?.stop();
  });

  test('fresh: as the counter left the table, every key from the cache', async () => {
    const answers = await compareAll('fresh');
    assert.equal(answers.get('prod#Org#acme')?.source, 'cache');
    assert.equal(answers.get('prod#Org#acme')?.count, 3);
    assert.equal(answers.get('prod#Repo#acme/app')?.count, 2);
    assert.equal(answers.get('prod#Org#globex')?.count, 1);
    assert.equal(answers.get('prod#Org#nobody')?.count, 0);
  });

  test('a key of an environment the counter does not count: environment mismatch, from EC2', async () => {
    const answers = await compareAll('another environment');
    assert.equal(answers.get('staging#Org#acme')?.reason, 'environment_mismatch');
    assert.equal(answers.get('staging#Org#acme')?.count, 1);
    assert.equal(answers.get('prod#Org#acme')?.reason, 'none');
  });

  test('a heartbeat in the future (clock skew) is fresh', async () => {
    await setMeta('SET heartbeat_ms = :t', { ':t': { N: String(Date.now() + 60000) } });
    const answers = await compareAll('future heartbeat');
    assert.equal(answers.get('prod#Org#acme')?.reason, 'none');
  });

  test('a heartbeat a day in the future (a clock running ahead) is stale in both', async () => {
    await setMeta('SET heartbeat_ms = :t', { ':t': { N: String(Date.now() + 86400000) } });
    const answers = await compareAll('heartbeat a day ahead');
    assert.deepEqual([answers.get('prod#Org#acme')?.reason, answers.get('prod#Org#acme')?.count], ['heartbeat_stale', 4]);
  });

  test('heartbeat stale: from EC2, with the age', async () => {
    await setMeta('SET heartbeat_ms = :t', { ':t': { N: String(Date.now() - 200000) } });
    const answers = await compareAll('heartbeat stale');
    assert.deepEqual([answers.get('prod#Org#acme')?.reason, answers.get('prod#Org#acme')?.count], ['heartbeat_stale', 4]);
    assert.equal(answers.get('prod#Org#globex')?.count, 0);
  });

  test('heartbeat stale under RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS, fresh under a larger one', async () => {
    await setMeta('SET heartbeat_ms = :t', { ':t': { N: String(Date.now() - 30000) } });
    const stale = await compareAll('threshold 1000', { RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS: '1000' });
    assert.equal(stale.get('prod#Org#acme')?.reason, 'heartbeat_stale');
    const fresh = await compareAll('threshold 600000', { RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS: '600000' });
    assert.equal(fresh.get('prod#Org#acme')?.reason, 'none');
  });

  test('no heartbeat at all: heartbeat stale without an age', async () => {
    await setMeta('REMOVE heartbeat_ms');
    const answers = await compareAll('no heartbeat');
    assert.equal(answers.get('prod#Org#acme')?.reason, 'heartbeat_stale');
    assert.equal(answers.get('prod#Org#acme')?.ageMs, null);
  });

  test('reconcile overdue, by RECONCILE_INTERVAL_S and without any reconcile', async () => {
    const now = Date.now();
    await setMeta('SET heartbeat_ms = :h, reconciled_ms = :r', { ':h': { N: String(now) }, ':r': { N: String(now - 100000) } });
    const short = await compareAll('reconcile interval 30 s', { RECONCILE_INTERVAL_S: '30' });
    assert.equal(short.get('prod#Org#acme')?.reason, 'reconcile_overdue');
    const long = await compareAll('reconcile interval 300 s', { RECONCILE_INTERVAL_S: '300' });
    assert.equal(long.get('prod#Org#acme')?.reason, 'none');
    await setMeta('REMOVE reconciled_ms');
    const never = await compareAll('no reconcile');
    assert.equal(never.get('prod#Org#acme')?.reason, 'reconcile_overdue');
  });

  test('a table counting another environment: environment mismatch for every key', async () => {
    const now = Date.now();
    await putMeta(dynamodb, table, { environments: ['staging-only'], heartbeatMs: now, reconciledMs: now });
    const answers = await compareAll('other environment');
    for (const answer of answers.values()) assert.equal(answer.reason, 'environment_mismatch');
    assert.equal(answers.get('prod#Org#acme')?.count, 4);
  });

  test('meta missing', async () => {
    await putMeta(dynamodb, table, undefined);
    const answers = await compareAll('meta missing');
    assert.equal(answers.get('prod#Org#acme')?.reason, 'meta_missing');
  });

  test('cache read failed: a table that does not exist', async () => {
    const answers = await compareAll('no table', {}, 'no-such-table');
    assert.equal(answers.get('prod#Org#acme')?.reason, 'cache_read_failed');
  });

  test('neither can answer: both name the cache cause and EC2\'s throttling', async () => {
    await ec2.control('throttle', { count: 1000 });
    try {
      const key = prodKeys[0] as RunnerKey;
      const cpp = await cppCount(key, {}, 'no-such-table');
      const ts = await tsCount(key, {}, 'no-such-table');
      assert.ok('error' in cpp, JSON.stringify(cpp));
      assert.equal(cpp.code, 'throttled');
      assert.ok(ts instanceof CountUnavailableError);
      assert.equal(ts.reason, 'cache_read_failed');
      assert.equal((ts.cause as Error).name, 'RequestLimitExceeded');
      for (const message of [cpp.error, ts.message]) {
        assert.match(message, /cache_read_failed/);
        assert.match(message, /RequestLimitExceeded/);
      }
    } finally {
      await ec2.control('clear_faults');
    }
  });
});
