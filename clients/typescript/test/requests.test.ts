// The reader's requests and decisions against a DynamoDB client whose HTTP handler answers from a script:
// the exact request bodies of the contract, both reads in flight together, Query pages added up, and the
// deciding order of section 4.3 when one read fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  type CacheConfig,
  countActiveRunners,
  CountUnavailableError,
  type Ec2Runner,
  InvalidRunnerKeyError,
  type ListEc2Runners,
} from '../src/index.js';
import { scriptedClient } from './support.js';

const config: CacheConfig = {
  tableName: 'ghr-runner-count-cache',
  indexName: 'active',
  staleThresholdMs: 60000,
  reconcileIntervalMs: 300000,
};
const key = { environment: 'prod', type: 'Org', owner: 'acme' };
const now = 1764260402000;
const freshMeta = {
  Item: {
    pk: { S: '#meta' },
    heartbeat_ms: { N: String(now - 1843) },
    environments: { SS: ['prod'] },
    reconciled_ms: { N: String(now - 124001) },
  },
};

function lister(runners: Ec2Runner[], calls: { environment: string }[] = []): ListEc2Runners {
  return async (filter) => {
    calls.push(filter);
    return runners;
  };
}

const noEc2: ListEc2Runners = async () => {
  throw new Error('EC2 must not be called');
};

test('sends exactly the contract requests (section 4) and answers from a fresh cache', async () => {
  const { client, sent } = scriptedClient((target) =>
    target.endsWith('GetItem') ? { status: 200, body: freshMeta } : { status: 200, body: { Count: 37, ScannedCount: 37 } },
  );
  const answer = await countActiveRunners(key, config, { dynamodb: client, listEc2Runners: noEc2, now: () => now });
  assert.deepEqual(answer, {
    count: 37,
    source: 'cache',
    ageMs: 1843,
    reason: 'none',
    detail: 'heartbeat 1843 ms old, last reconcile 124001 ms ago',
  });
  const byTarget = new Map(sent.map((r) => [r.target, r]));
  assert.equal(sent.length, 2);
  assert.deepEqual(byTarget.get('DynamoDB_20120810.GetItem')?.body, {
    ConsistentRead: true,
    Key: { pk: { S: '#meta' } },
    TableName: 'ghr-runner-count-cache',
  });
  assert.deepEqual(byTarget.get('DynamoDB_20120810.Query')?.body, {
    ExpressionAttributeNames: { '#active': 'active_key' },
    ExpressionAttributeValues: { ':key': { S: 'prod#Org#acme' } },
    IndexName: 'active',
    KeyConditionExpression: '#active = :key',
    Select: 'COUNT',
    TableName: 'ghr-runner-count-cache',
  });
  for (const request of sent) assert.equal(request.contentType, 'application/x-amz-json-1.0');
});

test('both reads are in flight together', async () => {
  const { client, sent, release, waiting } = scriptedClient(
    (target) => (target.endsWith('GetItem') ? { status: 200, body: freshMeta } : { status: 200, body: { Count: 2 } }),
    true,
  );
  const pending = countActiveRunners(key, config, { dynamodb: client, listEc2Runners: noEc2, now: () => now });
  for (let i = 0; i < 200 && waiting.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(waiting.length, 2, 'the second request was not sent before the first was answered');
  assert.deepEqual(sent.map((r) => r.target).sort(), ['DynamoDB_20120810.GetItem', 'DynamoDB_20120810.Query']);
  release();
  assert.equal((await pending).count, 2);
});

test('Query pages are added up, each sent again with the previous LastEvaluatedKey', async () => {
  const last = (n: number) => ({ active_key: { S: 'prod#Org#acme' }, pk: { S: `i-${n}` } });
  const pages = [
    { Count: 15873, ScannedCount: 15873, LastEvaluatedKey: last(1) },
    { Count: 15873, ScannedCount: 15873, LastEvaluatedKey: last(2) },
    { Count: 11, ScannedCount: 11 },
  ];
  let page = 0;
  const { client, sent } = scriptedClient((target) =>
    target.endsWith('GetItem') ? { status: 200, body: freshMeta } : { status: 200, body: pages[page++] },
  );
  const answer = await countActiveRunners(key, config, { dynamodb: client, listEc2Runners: noEc2, now: () => now });
  assert.equal(answer.count, 15873 * 2 + 11);
  const queries = sent.filter((r) => r.target.endsWith('Query')).map((r) => r.body as Record<string, unknown>);
  assert.equal(queries.length, 3);
  assert.equal(queries[0]?.['ExclusiveStartKey'], undefined);
  assert.deepEqual(queries[1]?.['ExclusiveStartKey'], last(1));
  assert.deepEqual(queries[2]?.['ExclusiveStartKey'], last(2));
});

const failure = { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' } };

test('a failed GetItem falls back with cache_read_failed and no age', async () => {
  const { client } = scriptedClient((target) => (target.endsWith('GetItem') ? failure : { status: 200, body: { Count: 9 } }));
  const calls: { environment: string }[] = [];
  const answer = await countActiveRunners(key, config, {
    dynamodb: client,
    listEc2Runners: lister([{ type: 'Org', owner: 'acme' }, { type: 'Org', owner: 'globex' }, { type: 'Repo', owner: 'acme' }], calls),
    now: () => now,
  });
  assert.equal(answer.count, 1);
  assert.equal(answer.source, 'ec2');
  assert.equal(answer.reason, 'cache_read_failed');
  assert.equal(answer.ageMs, null);
  assert.match(answer.detail, /^reading the meta item failed: ResourceNotFoundException: Requested resource not found/);
  assert.deepEqual(calls, [{ environment: 'prod' }]);
});

test('a failed Query on a fresh table falls back with cache_read_failed and the age', async () => {
  const { client } = scriptedClient((target) => (target.endsWith('GetItem') ? { status: 200, body: freshMeta } : failure));
  const answer = await countActiveRunners(key, config, {
    dynamodb: client,
    listEc2Runners: lister([{ type: 'Org', owner: 'acme' }]),
    now: () => now,
  });
  assert.deepEqual(
    { count: answer.count, source: answer.source, reason: answer.reason, ageMs: answer.ageMs },
    { count: 1, source: 'ec2', reason: 'cache_read_failed', ageMs: 1843 },
  );
  assert.match(answer.detail, /^counting the active index failed: ResourceNotFoundException/);
});

test('a failed Query on a stale table reports the staleness cause', async () => {
  const stale = {
    Item: { pk: { S: '#meta' }, heartbeat_ms: { N: String(now - 61200) }, environments: { SS: ['prod'] }, reconciled_ms: { N: String(now) } },
  };
  const { client } = scriptedClient((target) => (target.endsWith('GetItem') ? { status: 200, body: stale } : failure));
  const answer = await countActiveRunners(key, config, { dynamodb: client, listEc2Runners: lister([]), now: () => now });
  assert.deepEqual(answer, {
    count: 0,
    source: 'ec2',
    ageMs: 61200,
    reason: 'heartbeat_stale',
    detail: 'heartbeat 61200 ms old > stale threshold 60000 ms',
  });
});

test('a malformed meta attribute is a failed meta read', async () => {
  const bad = { Item: { pk: { S: '#meta' }, heartbeat_ms: { S: 'soon' } } };
  const { client } = scriptedClient((target) => (target.endsWith('GetItem') ? { status: 200, body: bad } : { status: 200, body: { Count: 1 } }));
  const answer = await countActiveRunners(key, config, { dynamodb: client, listEc2Runners: lister([]), now: () => now });
  assert.equal(answer.reason, 'cache_read_failed');
  assert.match(answer.detail, /attribute heartbeat_ms is not N/);
});

test('when EC2 fails too, the error names both causes and keeps EC2\'s error as cause', async () => {
  const { client } = scriptedClient(() => ({ status: 200, body: {} }));
  const throttled = Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });
  await assert.rejects(
    countActiveRunners(key, config, {
      dynamodb: client,
      listEc2Runners: async () => {
        throw throttled;
      },
      now: () => now,
    }),
    (error: unknown) => {
      assert.ok(error instanceof CountUnavailableError);
      assert.equal(error.reason, 'meta_missing');
      assert.equal(error.cause, throttled);
      assert.equal(
        error.message,
        'cache meta_missing: no meta item: the counter never ran against this table; ' +
          'EC2 fallback failed: RequestLimitExceeded: Request limit exceeded.',
      );
      return true;
    },
  );
});

test('an invalid key is refused without any request', async () => {
  const { client, sent } = scriptedClient(() => ({ status: 200, body: {} }));
  await assert.rejects(
    countActiveRunners({ environment: 'prod', type: 'Team', owner: 'acme' }, config, { dynamodb: client, listEc2Runners: noEc2 }),
    (error: unknown) => error instanceof InvalidRunnerKeyError && error.message === 'type: want Org or Repo, got "Team"',
  );
  assert.equal(sent.length, 0);
});

test('a table counting another environment falls back with environment_mismatch, never "fresh, 0"', async () => {
  const { client } = scriptedClient((target) =>
    target.endsWith('GetItem') ? { status: 200, body: freshMeta } : { status: 200, body: { Count: 0 } },
  );
  const calls: { environment: string }[] = [];
  const answer = await countActiveRunners({ ...key, environment: 'staging' }, config, {
    dynamodb: client,
    listEc2Runners: lister([{ type: 'Org', owner: 'acme' }], calls),
    now: () => now,
  });
  assert.deepEqual(answer, {
    count: 1,
    source: 'ec2',
    ageMs: 1843,
    reason: 'environment_mismatch',
    detail: 'the table counts prod, not staging',
  });
  assert.deepEqual(calls, [{ environment: 'staging' }]);
});
