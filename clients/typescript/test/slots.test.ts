// takeSlots / releaseSlots: the requests of docs/table-contract.md sections 7-8 (the bodies are read from
// the contract, which SlotsOnDynalite.SendsExactlyTheContractRequests pins for the C++ side), conflicts and
// the failure paths against a scripted client, and the lease shared with `rcc slots` on dynalite: each
// language counts the other's grants and launches without waiting, and mixed deciders never grant more
// than the maximum.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

import {
  type CacheConfig,
  countIndexEntries,
  CountUnavailableError,
  MAX_GRANT_COUNT,
  parseLease,
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

test('a decision sends exactly the contract requests: reads, lease read, grants, registration, releases', async () => {
  let clock = t0;
  let leaseItem: Record<string, unknown> | undefined;
  const { client, sent } = scriptedClient((target, body) => {
    if (target.endsWith('Query')) return { status: 200, body: { Count: 7 } };
    if (target.endsWith('GetItem')) {
      const pk = (body['Key'] as { pk: { S: string } }).pk.S;
      return { status: 200, body: pk === '#meta' ? freshMeta : leaseItem === undefined ? {} : { Item: leaseItem } };
    }
    return { status: 200, body: {} };
  });
  const deps = { dynamodb: client, listEc2Runners: noEc2, now: () => clock };
  const grant = await takeSlots({ key: acme, maximum: 20, wanted: 2, holder: '3f2a9c0d7e1b4a56' }, config, deps);
  assert.deepEqual(
    { count: grant.count.count, source: grant.count.source, inFlight: grant.inFlight, counted: grant.counted, allowed: grant.allowed },
    { count: 7, source: 'cache', inFlight: 0, counted: 7, allowed: 2 },
  );
  assert.deepEqual({ expiresMs: grant.expiresMs, version: grant.version, attempts: grant.attempts, conflicts: grant.conflicts }, {
    expiresMs: t0 + 30000,
    version: 1,
    attempts: 1,
    conflicts: 0,
  });
  clock += 1500;
  const registered = await registerLaunches([{ instanceId: 'i-0a1b2c3d4e5f60718', key: acme, launchTimeS: 1764260399 }], config, deps);
  assert.equal(registered[0]?.outcome, 'registered');
  assert.equal(await releaseSlots(grant, 1, config, deps), 'released');
  // A later decision, once the first entry has run out for leaseMs: its grant removes it.
  clock = t0 + 40000;
  leaseItem = {
    pk: { S: '#lease#prod#Org#acme' },
    version: { N: '1' },
    grants: { M: { '3f2a9c0d7e1b4a56': { M: { count: { N: '1' }, until_ms: { N: String(t0 + 3500) } } } } },
  };
  const later = await takeSlots({ key: acme, maximum: 20, wanted: 2, holder: '77c01d5e9a3b2f80' }, config, deps);
  assert.deepEqual({ inFlight: later.inFlight, allowed: later.allowed, version: later.version }, { inFlight: 0, allowed: 2, version: 2 });
  assert.equal(await releaseSlotsByHolder(acme, '77c01d5e9a3b2f80', 0, config, deps), 'released');

  const contract = contractRequests('## 7. The scale-up');
  assert.equal(contract.length, 6, 'sections 7 and 8 write out 6 requests');
  const [registration, leaseRead, firstGrant, laterGrant, release, releaseNothing] = contract;
  const request = (i: number) => ({ target: sent[i]?.target, body: sent[i]?.body });
  assert.deepEqual(sent.slice(0, 2).map((r) => r.target).sort(), ['DynamoDB_20120810.GetItem', 'DynamoDB_20120810.Query']);
  assert.deepEqual(request(2), leaseRead);
  assert.deepEqual(sent[3], { target: firstGrant?.target, contentType: 'application/x-amz-json-1.0', body: firstGrant?.body });
  assert.deepEqual(request(4), registration);
  assert.deepEqual(request(5), release);
  assert.deepEqual(request(8), leaseRead);
  assert.deepEqual(request(9), laterGrant);
  assert.deepEqual(request(10), releaseNothing);
  assert.equal(sent.length, 11);
});

/** A lease item at `version` with `grants` (holder -> [count, untilMs]). */
function leaseAt(version: number, grants: Record<string, [number, number]>) {
  const map: Record<string, unknown> = {};
  for (const [holder, [count, untilMs]] of Object.entries(grants)) {
    map[holder] = { M: { count: { N: String(count) }, until_ms: { N: String(untilMs) } } };
  }
  return { Item: { pk: { S: '#lease#prod#Org#acme' }, version: { N: String(version) }, grants: { M: map } } };
}

test('a conflicting grant is decided again at once on the lease as it is now', async () => {
  let leaseReads = 0;
  let grantWrites = 0;
  const { client, sent } = scriptedClient((target, body) => {
    if (target.endsWith('Query')) return { status: 200, body: { Count: 0 } };
    if (target.endsWith('GetItem')) {
      if ((body['Key'] as { pk: { S: string } }).pk.S === '#meta') return { status: 200, body: freshMeta };
      leaseReads += 1;
      // Between b's first read and its write, a granted 3 of 5.
      return { status: 200, body: leaseReads === 1 ? leaseAt(4, {}) : leaseAt(5, { a: [3, t0 + 30000] }) };
    }
    grantWrites += 1;
    return grantWrites === 1 ? conditionFailed : { status: 200, body: {} };
  });
  const grant = await takeSlots({ key: acme, maximum: 5, wanted: 4, holder: 'b' }, config, { dynamodb: client, listEc2Runners: noEc2, now: () => t0 });
  assert.deepEqual(
    { conflicts: grant.conflicts, attempts: grant.attempts, counts: grant.counts, inFlight: grant.inFlight, allowed: grant.allowed, version: grant.version },
    { conflicts: 1, attempts: 2, counts: 1, inFlight: 3, allowed: 2, version: 6 },
  );
  const grants = sent.filter((r) => r.target.endsWith('UpdateItem')).map((r) => r.body as { ExpressionAttributeValues: Record<string, { N?: string }> });
  assert.deepEqual(
    grants.map((g) => g.ExpressionAttributeValues[':version']?.N),
    ['4', '5'],
  );
  assert.equal(sent.filter((r) => r.target.endsWith('Query')).length, 1, 'the count was young enough to decide again on');
});

test('grants that keep conflicting are retried without pauses until waitMs, then SlotsBusyError', async () => {
  let clock = t0;
  const { client, sent } = scriptedClient((target, body) => {
    if (target.endsWith('Query')) return { status: 200, body: { Count: 0 } };
    if (target.endsWith('GetItem')) {
      return { status: 200, body: (body['Key'] as { pk: { S: string } }).pk.S === '#meta' ? freshMeta : leaseAt(3, {}) };
    }
    clock += 100;
    return conditionFailed;
  });
  const deps = { dynamodb: client, listEc2Runners: noEc2, now: () => clock };
  await assert.rejects(
    takeSlots({ key: acme, maximum: 5, holder: 'b' }, config, deps, { waitMs: 500 }),
    (error: unknown) => error instanceof SlotsBusyError && error.conflicts === 5 && error.elapsedMs === 500,
  );
  assert.equal(sent.filter((r) => r.target.endsWith('UpdateItem')).length, 5);
  assert.equal(sent.filter((r) => r.target.endsWith('Query')).length, 1);
});

test('waitMs 0 makes one attempt; bad arguments send nothing', async () => {
  const { client, sent } = scriptedClient((target, body) => {
    if (target.endsWith('Query')) return { status: 200, body: { Count: 0 } };
    if (target.endsWith('GetItem')) {
      return { status: 200, body: (body['Key'] as { pk: { S: string } }).pk.S === '#meta' ? freshMeta : {} };
    }
    return conditionFailed;
  });
  const deps = { dynamodb: client, listEc2Runners: noEc2, now: () => t0 };
  await assert.rejects(takeSlots({ key: acme, maximum: 5 }, config, deps, { waitMs: 0 }), SlotsBusyError);
  assert.equal(sent.length, 4);
  await assert.rejects(takeSlots({ key: acme, maximum: -1 }, config, deps), RangeError);
  await assert.rejects(takeSlots({ key: acme, maximum: MAX_GRANT_COUNT + 1 }, config, deps), RangeError);
  await assert.rejects(takeSlots({ key: acme, maximum: 5, wanted: 1.5 }, config, deps), RangeError);
  await assert.rejects(takeSlots({ key: acme, maximum: 5, holder: '' }, config, deps), RangeError);
  await assert.rejects(takeSlots({ key: acme, maximum: 5 }, config, deps, { leaseMs: 0 }), /leaseMs/);
  await assert.rejects(takeSlots({ key: { ...acme, type: 'Team' }, maximum: 5 }, config, deps), /type/);
  await assert.rejects(releaseSlots({ key: acme, holder: 'h', allowed: 2, expiresMs: t0 }, -1, config, deps), RangeError);
  await assert.rejects(releaseSlots({ key: acme, holder: 'h', allowed: 2, expiresMs: t0 }, 3, config, deps), RangeError);
  await assert.rejects(releaseSlotsByHolder(acme, '', 0, config, deps), RangeError);
  assert.equal(sent.length, 4);
});

test('no free slot writes nothing, and its release sends nothing', async () => {
  const { client, sent } = scriptedClient((target, body) => {
    if (target.endsWith('Query')) return { status: 200, body: { Count: 3 } };
    return { status: 200, body: (body['Key'] as { pk: { S: string } }).pk.S === '#meta' ? freshMeta : leaseAt(2, { a: [2, t0 + 1] }) };
  });
  const deps = { dynamodb: client, listEc2Runners: noEc2, now: () => t0 };
  const grant = await takeSlots({ key: acme, maximum: 5, holder: 'b' }, config, deps);
  assert.deepEqual({ counted: grant.counted, allowed: grant.allowed, expiresMs: grant.expiresMs, version: grant.version }, {
    counted: 5,
    allowed: 0,
    expiresMs: 0,
    version: 2,
  });
  assert.equal(await releaseSlots(grant, 0, config, deps), 'released');
  assert.deepEqual(sent.map((r) => r.target).filter((t) => t.endsWith('UpdateItem')), []);
  assert.equal(sent.length, 3);
});

test('a failed count writes nothing, then rejects', async () => {
  const { client, sent } = scriptedClient(() => ({
    status: 400,
    body: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'no table' },
  }));
  const ec2Down = async (): Promise<never> => {
    throw new Error('RequestLimitExceeded');
  };
  await assert.rejects(
    takeSlots({ key: acme, maximum: 5, holder: 'h' }, config, { dynamodb: client, listEc2Runners: ec2Down, now: () => t0 }),
    CountUnavailableError,
  );
  assert.ok(sent.every((r) => !r.target.endsWith('UpdateItem')));
  assert.ok(sent.every((r) => (r.body as { Key?: { pk: { S: string } } }).Key?.pk.S !== '#lease#prod#Org#acme'));
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

  test('a TypeScript grant is counted by rcc slots take without waiting, and the other way round', async () => {
    await freshCache();
    const grant = await takeSlots({ key: acme, maximum: 5, wanted: 2 }, tableConfig, deps());
    assert.equal(grant.allowed, 2);
    const taken = await rccJson(['slots', 'take', ...keyFlags, '--maximum', '5', '--wanted', '5', '--wait-ms', '0', '--json']);
    assert.equal(taken.exit, 0, JSON.stringify(taken.out));
    assert.deepEqual(
      { inFlight: taken.out['in_flight'], counted: taken.out['counted'], allowed: taken.out['allowed'], source: taken.out['source'], version: taken.out['version'] },
      { inFlight: 2, counted: 2, allowed: 3, source: 'cache', version: grant.version + 1 },
    );
    // Both grants reserve the whole key: a TypeScript decision finds no free slot.
    const full = await takeSlots({ key: acme, maximum: 5 }, tableConfig, deps());
    assert.deepEqual({ inFlight: full.inFlight, allowed: full.allowed, expiresMs: full.expiresMs }, { inFlight: 5, allowed: 0, expiresMs: 0 });

    assert.equal(await releaseSlots(grant, 2, tableConfig, { dynamodb }, { settleMs: 120000 }), 'released');
    const holder = String(taken.out['holder']);
    const released = await rccJson(['slots', 'release', ...keyFlags, '--holder', holder, '--launched', '1', '--settle-ms', '120000', '--json']);
    assert.deepEqual(released.out, { release: 'released' });

    const after = await takeSlots({ key: acme, maximum: 5, wanted: 5 }, tableConfig, deps());
    assert.deepEqual({ inFlight: after.inFlight, counted: after.counted, allowed: after.allowed }, { inFlight: 3, counted: 3, allowed: 2 });
    assert.equal(await releaseSlots(after, 0, tableConfig, { dynamodb }), 'released');
  });

  test('a grant rcc wrote is released by holder id from TypeScript; rcc then finds it lost', async () => {
    await freshCache();
    const taken = await rccJson(['slots', 'take', ...keyFlags, '--maximum', '50', '--wanted', '1', '--json']);
    const holder = String(taken.out['holder']);
    assert.equal(taken.out['allowed'], 1, JSON.stringify(taken.out));
    assert.equal(await releaseSlotsByHolder(acme, holder, 0, tableConfig, { dynamodb }), 'released');
    const lease = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: '#lease#prod#Org#acme' } }, ConsistentRead: true }));
    assert.equal(lease.Item?.['grants']?.M?.[holder], undefined);
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
      if (allowed === 0) return 0; // nothing granted, nothing to release
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

test('a lease with a negative version, or a count outside 0..MAX_GRANT_COUNT, is refused, not trusted', () => {
  const entry = (count: string) => ({ M: { h: { M: { count: { N: count }, until_ms: { N: '5' } } } } });
  assert.deepEqual(parseLease({ version: { N: '2' }, grants: entry('3') }), { version: 2, grants: { h: { count: 3, untilMs: 5 } } });
  assert.throws(() => parseLease({ version: { N: '-1' } }), /version is negative/);
  // A negative count would hand out slots that do not exist.
  assert.throws(() => parseLease({ version: { N: '2' }, grants: entry('-4') }), /grant h has count -4, outside 0\.\.1000000/);
  assert.throws(() => parseLease({ version: { N: '2' }, grants: entry(String(MAX_GRANT_COUNT + 1)) }), /outside/);
});
