// countActiveRunners against dynalite and the in-repo EC2 test server: the cache answers while fresh without
// any EC2 request; every staleness cause falls back to the contract's DescribeInstances and counts
// client-side; a missing table is cache_read_failed; EC2 failing too is an error naming both.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { type CacheConfig, countActiveRunners, CountUnavailableError, runnerKey } from '../src/index.js';
import {
  builtProgram,
  createRunnerTable,
  Dynalite,
  Ec2Server,
  instanceId,
  putMeta,
  putRunnerItem,
  runnerTags,
  uniqueTableName,
} from './support.js';

const ec2Binary = builtProgram('RCC_EC2_TEST_SERVER', 'ec2-test-server');
const skip = ec2Binary === undefined ? 'build/ec2-test-server is not built (or set RCC_EC2_TEST_SERVER)' : false;

describe('countActiveRunners on dynalite and the EC2 test server', { skip }, () => {
  let dynalite: Dynalite;
  let ec2: Ec2Server;
  let dynamodb: DynamoDBClient;
  let config: CacheConfig;
  const acme = { environment: 'prod', type: 'Org', owner: 'acme' };

  before(async () => {
    dynalite = await Dynalite.start();
    ec2 = await Ec2Server.start(ec2Binary ?? '');
    dynamodb = dynalite.client();
    const table = uniqueTableName('ts-reader');
    await createRunnerTable(dynamodb, table);
    config = { tableName: table, indexName: 'active', staleThresholdMs: 60000, reconcileIntervalMs: 300000 };
    // The table: 3 active acme runners, 1 globex, 1 inactive acme item.
    for (let n = 0; n < 3; n += 1) await putRunnerItem(dynamodb, table, instanceId(n), runnerKey(acme));
    await putRunnerItem(dynamodb, table, instanceId(3), 'prod#Org#globex');
    await putRunnerItem(dynamodb, table, instanceId(4), undefined);
    // EC2: 2 acme runners (one pending), and what must not be counted for prod#Org#acme.
    await ec2.setInventory([
      { instance_id: instanceId(10), tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(11), state: 'pending', tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(12), state: 'stopped', tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(13), tags: runnerTags('prod', 'Org', 'globex') },
      { instance_id: instanceId(14), tags: runnerTags('prod', 'Repo', 'acme') },
      { instance_id: instanceId(15), tags: runnerTags('staging', 'Org', 'acme') },
      { instance_id: instanceId(16), tags: { ...runnerTags('prod', 'Org', 'acme'), 'ghr:Application': 'other' } },
    ]);
  });

  after(async () => {
    dynamodb?.destroy();
    await ec2?.stop();
    await dynalite?.stop();
  });

  test('a fresh cache answers from the index without any EC2 request', async () => {
    const now = Date.now();
    await putMeta(dynamodb, config.tableName, { environments: ['prod'], heartbeatMs: now - 5000, reconciledMs: now - 60000 });
    await ec2.control('reset_counters');
    const answer = await countActiveRunners(acme, config, { dynamodb, listEc2Runners: ec2.lister(), now: () => now });
    assert.deepEqual(answer, {
      count: 3,
      source: 'cache',
      ageMs: 5000,
      reason: 'none',
      detail: 'heartbeat 5000 ms old, last reconcile 60000 ms ago',
    });
    const globex = await countActiveRunners({ ...acme, owner: 'globex' }, config, { dynamodb, listEc2Runners: ec2.lister() });
    assert.equal(globex.count, 1);
    const nobody = await countActiveRunners({ ...acme, owner: 'nobody' }, config, { dynamodb, listEc2Runners: ec2.lister() });
    assert.equal(nobody.count, 0);
    assert.equal(nobody.source, 'cache');
    assert.equal(await ec2.requestCount(), 0);
  });

  test('each staleness cause falls back to the contract\'s DescribeInstances, counted client-side', async () => {
    const now = Date.now();
    const cases = [
      { meta: undefined, reason: 'meta_missing', ageMs: null },
      { meta: { heartbeatMs: now, reconciledMs: now }, reason: 'environment_mismatch', ageMs: 0 },
      { meta: { environments: ['staging'], heartbeatMs: now - 7, reconciledMs: now }, reason: 'environment_mismatch', ageMs: 7 },
      { meta: { environments: ['prod'], reconciledMs: now }, reason: 'heartbeat_stale', ageMs: null },
      { meta: { environments: ['prod'], heartbeatMs: now - 60001, reconciledMs: now }, reason: 'heartbeat_stale', ageMs: 60001 },
      { meta: { environments: ['prod'], heartbeatMs: now }, reason: 'reconcile_overdue', ageMs: 0 },
      { meta: { environments: ['prod'], heartbeatMs: now - 10, reconciledMs: now - 900001 }, reason: 'reconcile_overdue', ageMs: 10 },
    ] as const;
    for (const c of cases) {
      await putMeta(dynamodb, config.tableName, c.meta);
      await ec2.control('reset_counters');
      const answer = await countActiveRunners(acme, config, { dynamodb, listEc2Runners: ec2.lister(), now: () => now });
      assert.deepEqual(
        { count: answer.count, source: answer.source, reason: answer.reason, ageMs: answer.ageMs },
        { count: 2, source: 'ec2', reason: c.reason, ageMs: c.ageMs },
        JSON.stringify(c.meta),
      );
      const log = (await ec2.get('requests'))['requests'] as { params: [string, string][] }[];
      assert.equal(log.length, 1);
      const params = Object.fromEntries((log[0]?.params ?? []).filter(([k]) => !['Action', 'Version'].includes(k)));
      assert.deepEqual(params, {
        'Filter.1.Name': 'instance-state-name',
        'Filter.1.Value.1': 'pending',
        'Filter.1.Value.2': 'running',
        'Filter.2.Name': 'tag:ghr:environment',
        'Filter.2.Value.1': 'prod',
        MaxResults: '1000',
      });
    }
  });

  test('the EC2 listing follows NextToken', async () => {
    const many = Array.from({ length: 1203 }, (_, n) => ({ instance_id: instanceId(0x1000 + n), tags: runnerTags('big', 'Org', 'acme') }));
    await ec2.control('launch', { instances: many });
    await ec2.control('reset_counters');
    const runners = await ec2.lister()({ environment: 'big' });
    assert.equal(runners.length, 1203);
    assert.equal(await ec2.requestCount(), 2);
  });

  test('a missing table is cache_read_failed and EC2 answers', async () => {
    const missing = { ...config, tableName: 'no-such-table' };
    const answer = await countActiveRunners(acme, missing, { dynamodb, listEc2Runners: ec2.lister() });
    assert.equal(answer.reason, 'cache_read_failed');
    assert.equal(answer.source, 'ec2');
    assert.equal(answer.count, 2);
    assert.equal(answer.ageMs, null);
    assert.match(answer.detail, /ResourceNotFoundException/);
  });

  test('when EC2 is throttled too, the error names both causes', async () => {
    await ec2.control('throttle', { count: 1000 });
    try {
      await assert.rejects(
        countActiveRunners(acme, { ...config, tableName: 'no-such-table' }, { dynamodb, listEc2Runners: ec2.lister() }),
        (error: unknown) => {
          assert.ok(error instanceof CountUnavailableError);
          assert.equal(error.reason, 'cache_read_failed');
          assert.match(error.message, /^cache cache_read_failed: reading the meta item failed: ResourceNotFoundException/);
          assert.match(error.message, /EC2 fallback failed: RequestLimitExceeded/);
          assert.equal((error.cause as Error).name, 'RequestLimitExceeded');
          return true;
        },
      );
    } finally {
      await ec2.control('clear_faults');
    }
  });
});
