// registerLaunches: the request of the C++ register_launches(), and what the C++ counter makes of it. A
// registered runner is counted at once; the counter's events for it need no tag lookup; a registration never
// overrides what the counter wrote first (a running or a terminated instance).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

import { countActiveRunners, registerLaunches, registrationRequest } from '../src/index.js';
import {
  createRunnerTable,
  Dynalite,
  Ec2Server,
  instanceId,
  putMeta,
  type RccRun,
  rccPrograms,
  rccRunner,
  runnerTags,
  stateChange,
  uniqueTableName,
} from './support.js';

const { rcc, ec2Binary, skip } = rccPrograms();

const acme = { environment: 'prod', type: 'Org', owner: 'acme' };

test('registrationRequest: create-only (or claims an active unresolved item), pending at launch_time_s * 8, active under its key, no ttl', () => {
  const request = registrationRequest(
    { tableName: 't' },
    { instanceId: 'i-0123456789abcdef0', key: { environment: 'prod', type: 'Repo', owner: 'acme/app' }, launchTimeS: 1764260400 },
    1764260401234,
  );
  assert.equal(
    request.ConditionExpression,
    'attribute_not_exists(#pk) OR (#unresolved = :true AND #state IN (:pending, :running))',
  );
  assert.equal(
    request.UpdateExpression,
    'SET #state = if_not_exists(#state, :state), #order = if_not_exists(#order, :order), #updated = :updated, ' +
      '#runner = :runner, #env = :env, #type = :type, #owner = :owner, #rkey = :rkey, #active = :rkey ' +
      'REMOVE #unresolved, #ttl',
  );
  assert.deepEqual(request.ExpressionAttributeValues, {
    ':env': { S: 'prod' },
    ':order': { N: String(1764260400 * 8) },
    ':owner': { S: 'acme/app' },
    ':pending': { S: 'pending' },
    ':rkey': { S: 'prod#Repo#acme/app' },
    ':runner': { BOOL: true },
    ':running': { S: 'running' },
    ':state': { S: 'pending' },
    ':true': { BOOL: true },
    ':type': { S: 'Repo' },
    ':updated': { N: '1764260401234' },
  });
  assert.deepEqual(request.Key, { pk: { S: 'i-0123456789abcdef0' } });
});

describe('registerLaunches with the C++ counter on dynalite', { skip }, () => {
  let dynalite: Dynalite;
  let ec2: Ec2Server;
  let dynamodb: DynamoDBClient;
  let rccRun: RccRun;
  const table = uniqueTableName('ts-register');
  const config = { tableName: table, indexName: 'active', staleThresholdMs: 600000, reconcileIntervalMs: 300000 };

  before(async () => {
    dynalite = await Dynalite.start();
    ec2 = await Ec2Server.start(ec2Binary);
    dynamodb = dynalite.client();
    rccRun = rccRunner(rcc, dynalite, ec2);
    await createRunnerTable(dynamodb, table);
    await ec2.setInventory([
      { instance_id: instanceId(1), tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(2), tags: runnerTags('prod', 'Org', 'acme') },
      { instance_id: instanceId(3), tags: runnerTags('prod', 'Org', 'acme') },
    ]);
  });

  after(async () => {
    dynamodb?.destroy();
    await ec2?.stop();
    await dynalite?.stop();
  });

  async function handle(event: string): Promise<Record<string, unknown>> {
    const { stdout } = await rccRun(['handle', '--table', table, '--environment', 'prod', '--event', '-'], event);
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  async function item(n: number): Promise<Record<string, unknown> | undefined> {
    const answer = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: instanceId(n) } }, ConsistentRead: true }));
    return answer.Item;
  }

  test('a registered runner is counted at once, and its events cost the counter no tag lookup', async () => {
    const launchTimeS = Math.floor(Date.now() / 1000) - 5;
    const results = await registerLaunches([{ instanceId: instanceId(1), key: acme, launchTimeS }], config, { dynamodb });
    assert.deepEqual(results, [{ instanceId: instanceId(1), outcome: 'registered' }]);
    const now = Date.now();
    await putMeta(dynamodb, table, { environments: ['prod'], heartbeatMs: now, reconciledMs: now });
    const counted = await countActiveRunners(acme, config, { dynamodb, listEc2Runners: ec2.lister() });
    assert.deepEqual([counted.source, counted.count], ['cache', 1]);

    await ec2.control('reset_counters');
    const running = await handle(stateChange(instanceId(1), 'running', launchTimeS * 1000 + 2000));
    assert.equal(running['outcome'], 'applied');
    assert.equal(await ec2.requestCount(), 0, 'the counter looked the registered runner up in EC2');
    assert.deepEqual((await item(1))?.['state'], { S: 'running' });

    // The same event for a runner nobody registered costs one DescribeInstances.
    const unregistered = await handle(stateChange(instanceId(2), 'running', launchTimeS * 1000 + 2000));
    assert.equal(unregistered['outcome'], 'applied');
    assert.equal(await ec2.requestCount(), 1);
    const both = await countActiveRunners(acme, config, { dynamodb, listEc2Runners: ec2.lister() });
    assert.equal(both.count, 2);
  });

  test('a registration after the counter\'s events changes nothing: running and terminated items stay', async () => {
    const launchTimeS = Math.floor(Date.now() / 1000) - 60;
    await handle(stateChange(instanceId(3), 'terminated', Date.now() - 1000));
    const before2 = await item(2);
    const results = await registerLaunches(
      [
        { instanceId: instanceId(2), key: acme, launchTimeS },
        { instanceId: instanceId(3), key: acme, launchTimeS },
        { instanceId: instanceId(4), key: { ...acme, type: 'Team' }, launchTimeS },
      ],
      config,
      { dynamodb },
    );
    assert.deepEqual(
      results.map((r) => r.outcome),
      ['already_known', 'already_known', 'failed'],
    );
    const failed = results[2];
    assert.ok(failed?.outcome === 'failed');
    assert.equal(failed.error.message, `instance ${instanceId(4)}: type: want Org or Repo, got "Team"`);
    assert.deepEqual(await item(2), before2);
    assert.deepEqual((await item(3))?.['state'], { S: 'terminated' });
    assert.equal((await item(3))?.['active_key'], undefined);
    assert.equal(await item(4), undefined);
  });
});
