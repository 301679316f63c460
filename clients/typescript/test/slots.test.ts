// takeSlots / releaseSlots: the requests of docs/table-contract.md sections 7-8 (the bodies are read from
// the contract, which SlotsOnDynalite.SendsExactlyTheContractRequests pins for the C++ side), the waiting
// and the failure paths against a scripted client, and the lease shared with `rcc slots` on dynalite: a
// TypeScript decision blocks a C++ one and the other way round, each counts what the other launched, and
// mixed deciders never grant more than the maximum.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

import {
  type CacheConfig,
  countIndexEntries,
  CountUnavailableError,
  registerLaunches,
  releaseSlots,
  releaseSlotsByHolder,
  type SlotGrant,
  SlotsBusyError,
  takeSlots,
} from '../src/index.js';
import {
  Dynalite,
  Ec2Server,
  instanceId,
  putMeta,
  type RccRun,
  rccPrograms,
  rccRunner,
  scriptedClient,
  sourceDir,
  uniqueTableName,
} from './support.js';

/** The requests written out in docs/table-contract.md from `heading` on: target and parsed body, in order. */
function contractRequests(heading: string): { target: string; body: unknown }[] {
  const text = readFileSync(path.join(sourceDir, 'docs/table-contract.md'), 'utf8');
  const from = text.indexOf(heading);
  assert.ok(from >= 0, `docs/table-contract.md has no "${heading}"`);
  const out: { target: string; body: unknown }[] = [];
  for (const block of text.slice(from).matchAll(/```\nX-Amz-Target: (\S+)\n\n(\{.*\})\n```/g)) {
    out.push({ target: block[1] ?? '', body: JSON.parse(block[2] ?? '') });
  }
  return out;
}

const config: CacheConfig = {
  tableName: 'ghr-runner-count-cache',
  indexName: 'active',
  staleThresholdMs: 60000,
  reconcileIntervalMs: 300000,
};
const acme = { environment: 'prod', type: 'Org', owner: 'acme' };
const t0 = 1764260400000;
const conditionFailed = {
  status: 400,
  body: { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed' },
};
const freshMeta = {
  Item: { pk: { S: '#meta' }, heartbeat_ms: { N: String(t0 - 1843) }, environments: { SS: ['prod'] }, reconciled_ms: { N: String(t0 - 124001) } },
};
const noEc2 = async (): Promise<never> => {
  throw new Error('EC2 must not be called');
};

test('a decision sends exactly the contract requests: take, the two reads, registration, release, release by holder', async () => {
  let clock = t0;
  const leaseAnswer = (body: Record<string, unknown>) => {
    const values = body['ExpressionAttributeValues'] as Record<string, { N?: string; S?: string }>;
    return { Attributes: { pk: { S: '#lease#prod#Org#acme' }, holder: values[':holder'], expires_ms: values[':expires'], ttl: values[':ttl'] } };
  };
  const { client, sent } = scriptedClient((target, body) => {
    if (target.endsWith('Query')) return { status: 200, body: { Count: 7 } };
    if (target.endsWith('GetItem')) {
      const pk = (body['Key'] as { pk: { S: string } }).pk.S;
      return { status: 200, body: pk === '#meta' ? freshMeta : { Item: { pk: { S: pk }, holder: { S: '3f2a9c0d7e1b4a56' }, expires_ms: { N: String(t0 + 30000) } } } };
    }
    return { status: 200, body: (body['ReturnValues'] === 'ALL_NEW' ? leaseAnswer(body) : {}) };
  });
  const deps = { dynamodb: client, listEc2Runners: noEc2, now: () => clock };
  const grant = await takeSlots({ key: acme, maximum: 20, wanted: 2, holder: '3f2a9c0d7e1b4a56' }, config, deps);
  assert.deepEqual(
    { count: grant.count.count, source: grant.count.source, inFlight: grant.inFlight, counted: grant.counted, allowed: grant.allowed },
    { count: 7, source: 'cache', inFlight: 0, counted: 7, allowed: 2 },
  );
  assert.equal(grant.expiresMs, t0 + 30000);
  assert.equal(grant.attempts, 1);
  clock += 1500;
  const registered = await registerLaunches([{ instanceId: 'i-0a1b2c3d4e5f60718', key: acme, launchTimeS: 1764260399 }], config, deps);
  assert.equal(registered[0]?.outcome, 'registered');
  assert.equal(await releaseSlots(grant, 1, config, deps), 'released');
  assert.equal(await releaseSlotsByHolder(acme, '3f2a9c0d7e1b4a56', 0, config, deps), 'released');

  const contract = contractRequests('## 7. The scale-up');
  assert.equal(contract.length, 4, 'section 7 and 8 write out 4 requests');
  const [registration, take, release, leaseRead] = contract;
  assert.deepEqual(sent[0], { target: take?.target, contentType: 'application/x-amz-json-1.0', body: take?.body });
  assert.deepEqual(sent.slice(1, 3).map((r) => r.target).sort(), ['DynamoDB_20120810.GetItem', 'DynamoDB_20120810.Query']);
  assert.deepEqual({ target: sent[3]?.target, body: sent[3]?.body }, registration);
  assert.deepEqual({ target: sent[4]?.target, body: sent[4]?.body }, release);
  assert.deepEqual({ target: sent[5]?.target, body: sent[5]?.body }, leaseRead);
  assert.equal(sent[6]?.target, 'DynamoDB_20120810.UpdateItem');
  assert.equal(sent.length, 7);
});

test('a busy lease is asked again with growing, jittered pauses until waitMs, then SlotsBusyError', async () => {
  let clock = t0;
  const pauses: number[] = [];
  const { client, sent } = scriptedClient(() => conditionFailed);
  const deps = {
    dynamodb: client,
    listEc2Runners: noEc2,
    now: () => clock,
    sleep: async (ms: number) => {
      pauses.push(ms);
      clock += ms;
    },
    random: () => 0.999,
  };
  await assert.rejects(
    takeSlots({ key: acme, maximum: 5, holder: 'b' }, config, deps, { waitMs: 3000 }),
    (error: unknown) => error instanceof SlotsBusyError && error.waitedMs === 3000 && error.attempts === sent.length,
  );
  assert.deepEqual(pauses, [49, 99, 199, 399, 799, 999, 456]);
  assert.ok(sent.every((r) => r.target === 'DynamoDB_20120810.UpdateItem'));
  // Each attempt is the take of section 8.1 at its own time.
  const nows = sent.map((r) => ((r.body as { ExpressionAttributeValues: Record<string, { N: string }> }).ExpressionAttributeValues[':now']?.N));
  assert.equal(nows[0], String(t0));
  assert.equal(nows.at(-1), String(t0 + 3000));
});

test('waitMs 0 makes one attempt; bad arguments send nothing', async () => {
  const { client, sent } = scriptedClient(() => conditionFailed);
  const deps = { dynamodb: client, listEc2Runners: noEc2, now: () => t0 };
  await assert.rejects(takeSlots({ key: acme, maximum: 5 }, config, deps, { waitMs: 0 }), SlotsBusyError);
  assert.equal(sent.length, 1);
  await assert.rejects(takeSlots({ key: acme, maximum: -1 }, config, deps), RangeError);
  await assert.rejects(takeSlots({ key: acme, maximum: 5, wanted: 1.5 }, config, deps), RangeError);
  await assert.rejects(takeSlots({ key: acme, maximum: 5, holder: '' }, config, deps), RangeError);
  await assert.rejects(takeSlots({ key: acme, maximum: 5 }, config, deps, { leaseMs: 0 }), /leaseMs/);
  await assert.rejects(takeSlots({ key: { ...acme, type: 'Team' }, maximum: 5 }, config, deps), /type/);
  await assert.rejects(releaseSlots({ key: acme, holder: 'h', recent: [] }, -1, config, deps), RangeError);
  assert.equal(sent.length, 1);
});

test('a failed count gives the lease back at once with its running entries unchanged, then rejects', async () => {
  const recent = { L: [{ M: { count: { N: '2' }, until_ms: { N: String(t0 + 500) } } }, { M: { count: { N: '9' }, until_ms: { N: String(t0 - 1) } } }] };
  const { client, sent } = scriptedClient((target, body) => {
    if (target.endsWith('UpdateItem')) {
      return { status: 200, body: body['ReturnValues'] === 'ALL_NEW' ? { Attributes: { pk: { S: 'x' }, holder: { S: 'h' }, expires_ms: { N: '1' }, recent } } : {} };
    }
    return { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'no table' } };
  });
  const ec2Down = async (): Promise<never> => {
    throw new Error('RequestLimitExceeded');
  };
  await assert.rejects(
    takeSlots({ key: acme, maximum: 5, holder: 'h' }, config, { dynamodb: client, listEc2Runners: ec2Down, now: () => t0 }),
    CountUnavailableError,
  );
  const release = sent.at(-1)?.body as { ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> };
  assert.equal(release.ConditionExpression, '#holder = :holder');
  assert.deepEqual(release.ExpressionAttributeValues[':recent'], { L: [{ M: { count: { N: '2' }, until_ms: { N: String(t0 + 500) } } }] });
});

describe('one lease for both languages: rcc slots and this package on dynalite', { skip: rccPrograms().skip }, () => {
  const { rcc, ec2Binary } = rccPrograms();
  let dynalite: Dynalite;
  let ec2: Ec2Server;
  let dynamodb: DynamoDBClient;
  let rccRun: RccRun;
  const table = uniqueTableName('ts-slots');
  const tableConfig: CacheConfig = { ...config, tableName: table };
  const deps = () => ({ dynamodb, listEc2Runners: ec2.lister() });
  const keyFlags = ['--table', table, '--environment', 'prod', '--type', 'Org', '--owner', 'acme'];

  /** `rcc slots ...` (or any rcc command) whose exit status may be 1; stdout parsed as JSON. */
  async function rccJson(args: string[]): Promise<{ exit: number; out: Record<string, unknown> }> {
    try {
      return { exit: 0, out: JSON.parse((await rccRun(args)).stdout) as Record<string, unknown> };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      assert.equal(failed.code, 1, `rcc ${args.join(' ')}: ${failed.stderr ?? String(error)}`);
      return { exit: 1, out: JSON.parse(failed.stdout ?? '') as Record<string, unknown> };
    }
  }

  before(async () => {
    dynalite = await Dynalite.start();
    ec2 = await Ec2Server.start(ec2Binary);
    dynamodb = dynalite.client();
    rccRun = rccRunner(rcc, dynalite, ec2);
    await rccRun(['table', 'create', '--table', table, '--json']);
  });

  after(async () => {
    dynamodb?.destroy();
    await ec2?.stop();
    await dynalite?.stop();
  });

  // A counter alive now: every decision below counts from the cache.
  async function freshCache(): Promise<void> {
    await putMeta(dynamodb, table, { environments: ['prod'], heartbeatMs: Date.now(), reconciledMs: Date.now() });
  }

  test('a TypeScript take blocks rcc slots take, and rcc counts what TypeScript launched', async () => {
    await freshCache();
    const grant = await takeSlots({ key: acme, maximum: 5, wanted: 2 }, tableConfig, deps());
    assert.equal(grant.allowed, 2);
    const blocked = await rccJson(['slots', 'take', ...keyFlags, '--maximum', '5', '--wait-ms', '300', '--json']);
    assert.equal(blocked.exit, 1);
    assert.equal(blocked.out['code'], 'timeout', JSON.stringify(blocked.out));
    assert.equal(await releaseSlots(grant, 2, tableConfig, { dynamodb }, { settleMs: 120000 }), 'released');

    const taken = await rccJson(['slots', 'take', ...keyFlags, '--maximum', '5', '--wanted', '5', '--json']);
    assert.equal(taken.exit, 0);
    assert.deepEqual(
      { inFlight: taken.out['in_flight'], counted: taken.out['counted'], allowed: taken.out['allowed'], source: taken.out['source'] },
      { inFlight: 2, counted: 2, allowed: 3, source: 'cache' },
    );

    // rcc now holds the lease: a TypeScript take waits and gives up.
    const holder = String(taken.out['holder']);
    await assert.rejects(takeSlots({ key: acme, maximum: 5 }, tableConfig, deps(), { waitMs: 300 }), SlotsBusyError);
    const released = await rccJson(['slots', 'release', ...keyFlags, '--holder', holder, '--launched', '1', '--settle-ms', '120000', '--json']);
    assert.deepEqual(released.out, { release: 'released' });

    const after = await takeSlots({ key: acme, maximum: 5, wanted: 5 }, tableConfig, deps());
    assert.deepEqual({ inFlight: after.inFlight, counted: after.counted, allowed: after.allowed }, { inFlight: 3, counted: 3, allowed: 2 });
    assert.equal(await releaseSlots(after, 0, tableConfig, { dynamodb }), 'released');
  });

  test('a lease rcc took is released by holder id from TypeScript; rcc then finds it lost', async () => {
    await freshCache();
    const taken = await rccJson(['slots', 'take', ...keyFlags, '--maximum', '5', '--json']);
    const holder = String(taken.out['holder']);
    assert.equal(await releaseSlotsByHolder(acme, holder, 0, tableConfig, { dynamodb }), 'released');
    const lease = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: '#lease#prod#Org#acme' } }, ConsistentRead: true }));
    assert.equal(lease.Item?.['holder'], undefined);
    const again = await rccJson(['slots', 'release', ...keyFlags, '--holder', holder, '--launched', '0', '--json']);
    assert.deepEqual(again.out, { release: 'lost' });
  });

  test('TypeScript and rcc deciders at once never grant more than the maximum', async () => {
    const key = { environment: 'prod', type: 'Org', owner: 'mixed' };
    const mixedFlags = ['--table', table, '--environment', 'prod', '--type', 'Org', '--owner', 'mixed'];
    const maximum = 5;
    await freshCache();
    let next = 100;
    const launchTimeS = Math.floor(Date.now() / 1000) - 1;
    const tsDecider = async (): Promise<number> => {
      const grant: SlotGrant = await takeSlots({ key, maximum, wanted: 2 }, tableConfig, deps(), { waitMs: 30000 });
      const launches = Array.from({ length: grant.allowed }, () => ({ instanceId: instanceId((next += 1)), key, launchTimeS }));
      const results = await registerLaunches(launches, tableConfig, { dynamodb });
      assert.ok(results.every((r) => r.outcome === 'registered'));
      assert.equal(await releaseSlots(grant, grant.allowed, tableConfig, { dynamodb }), 'released');
      return grant.allowed;
    };
    const cppDecider = async (): Promise<number> => {
      const taken = await rccJson(['slots', 'take', ...mixedFlags, '--maximum', String(maximum), '--wanted', '2', '--wait-ms', '30000', '--json']);
      assert.equal(taken.exit, 0, JSON.stringify(taken.out));
      const allowed = Number(taken.out['allowed']);
      const holder = String(taken.out['holder']);
      if (allowed === 0) {
        await rccRun(['slots', 'release', ...mixedFlags, '--holder', holder, '--launched', '0']);
        return 0;
      }
      const instances = Array.from({ length: allowed }, () => ['--instance', instanceId((next += 1))]).flat();
      await rccRun(['register', ...mixedFlags, '--launch-time-s', String(launchTimeS), ...instances, '--release', holder]);
      return allowed;
    };
    const granted = await Promise.all([tsDecider(), cppDecider(), tsDecider(), cppDecider(), tsDecider(), cppDecider()]);
    const total = granted.reduce((a, b) => a + b, 0);
    assert.ok(total <= maximum, `granted ${granted.join('+')} = ${total} > ${maximum}`);
    assert.ok(total >= 2, `granted ${granted.join('+')}: the first decision alone may launch 2`);
    assert.equal(await countIndexEntries(dynamodb, tableConfig, 'prod#Org#mixed'), total);
  });
});
