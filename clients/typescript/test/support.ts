// Test support: dynalite and the in-repo EC2 test server as child processes on free loopback ports, SDK
// clients for them, and the repository's paths. Every process started here is stopped by stop().

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';

import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  DeleteItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';

import { describeInstancesLister, type ListEc2Runners } from '../src/index.js';

/** The repository root: $RCC_SOURCE_DIR, else four levels above dist/test. */
export const sourceDir = process.env['RCC_SOURCE_DIR'] ?? path.resolve(__dirname, '../../../..');

const credentials = { accessKeyId: 'fake', secretAccessKey: 'fake' };

/**
 * The path of a built program: the variable `variable` when set (then it must exist, else the test fails),
 * else `<source>/build/<name>`; undefined when neither exists, so that a plain `npm test` outside CTest
 * can skip what needs it (the CTest test always sets the variable).
 */
export function builtProgram(variable: string, name: string): string | undefined {
  const given = process.env[variable];
  if (given !== undefined && given !== '') {
    if (!existsSync(given)) throw new Error(`${variable}=${given} does not exist`);
    return given;
  }
  const fallback = path.join(sourceDir, 'build', name);
  return existsSync(fallback) ? fallback : undefined;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves with the child's output once `ready(output)` holds; rejects when it exits first or after 20 s. */
async function waitForOutput(child: ChildProcess, what: string, ready: (output: string) => boolean): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not ready within 20 s; output: ${output}`)), 20000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (ready(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: exited with ${code}; output: ${output}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${error.message}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** dynalite (scripts/node) on a free loopback port. */
export class Dynalite {
  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<Dynalite> {
    const cli = path.join(sourceDir, 'scripts/node/node_modules/dynalite/cli.js');
    if (!existsSync(cli)) throw new Error(`dynalite is not installed: ${cli} is missing (run scripts/setup.sh)`);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [cli, '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0', '--deleteTableMs', '0', '--updateTableMs', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await waitForOutput(child, 'dynalite', (output) => output.includes('listening'));
    } catch (error) {
      await stopChild(child);
      throw error;
    }
    return new Dynalite(child, `http://127.0.0.1:${port}`);
  }

  client(): DynamoDBClient {
    return new DynamoDBClient({ region: 'us-east-1', endpoint: this.endpoint, credentials, maxAttempts: 2 });
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}

/** One instance of the EC2 test server's inventory format. */
export interface Ec2Instance {
  instance_id: string;
  state?: string;
  tags?: Record<string, string>;
}

/** The in-repo EC2 test server (build/ec2-test-server) on a free loopback port, throttling off. */
export class Ec2Server {
  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
  ) {}

  static async start(binary: string): Promise<Ec2Server> {
    const work = mkdtempSync(path.join(tmpdir(), 'rcc-ts-ec2-'));
    const portFile = path.join(work, 'port');
    const child = spawn(binary, ['--port', '0', '--port-file', portFile, '--burst', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForOutput(child, 'ec2-test-server', (output) => output.includes('listening'));
      const port = Number(readFileSync(portFile, 'utf8').trim());
      return new Ec2Server(child, `http://127.0.0.1:${port}`);
    } catch (error) {
      await stopChild(child);
      throw error;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /** POSTs `body` to /_control/<what>; rejects unless the server answers 200. */
  async control(what: string, body: unknown = {}): Promise<unknown> {
    const response = await fetch(`${this.endpoint}/_control/${what}`, { method: 'POST', body: JSON.stringify(body) });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`/_control/${what}: ${response.status} ${text}`);
    return JSON.parse(text);
  }

  async get(what: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.endpoint}/_control/${what}`);
    return (await response.json()) as Record<string, unknown>;
  }

  /** Replaces the whole inventory. */
  async setInventory(instances: Ec2Instance[]): Promise<void> {
    await this.control('inventory', { instances });
  }

  /** DescribeInstances requests answered or failed since the last reset. */
  async requestCount(): Promise<number> {
    return (await this.get('stats'))['requests'] as number;
  }

  client(): EC2Client {
    return new EC2Client({ region: 'us-east-1', endpoint: this.endpoint, credentials, maxAttempts: 2 });
  }

  /** The contract's fallback request through the SDK's EC2 client. */
  lister(): ListEc2Runners {
    const ec2 = this.client();
    return describeInstancesLister((input) => ec2.send(new DescribeInstancesCommand(input)));
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}

let tables = 0;

/** A table name unique within this run. */
export function uniqueTableName(prefix: string): string {
  tables += 1;
  return `${prefix}-${process.pid}-${tables}`;
}

/** Creates the runner table of the contract (hash key pk, sparse GSI `active` on active_key, KEYS_ONLY). */
export async function createRunnerTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'active_key', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'active',
          KeySchema: [{ AttributeName: 'active_key', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  );
  for (let i = 0; i < 100; i += 1) {
    const table_ = await client.send(new DescribeTableCommand({ TableName: table }));
    if (table_.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`table ${table} not ACTIVE`);
}

/** Writes the meta item with exactly the given attributes (absent ones left out); undefined deletes it. */
export async function putMeta(
  client: DynamoDBClient,
  table: string,
  meta: { heartbeatMs?: number; reconciledMs?: number; environments?: readonly string[] } | undefined,
): Promise<void> {
  if (meta === undefined) {
    await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: '#meta' } } }));
    return;
  }
  const item: Record<string, AttributeValue> = { pk: { S: '#meta' } };
  if (meta.heartbeatMs !== undefined) item['heartbeat_ms'] = { N: String(meta.heartbeatMs) };
  if (meta.reconciledMs !== undefined) item['reconciled_ms'] = { N: String(meta.reconciledMs) };
  if (meta.environments !== undefined) item['environments'] = { SS: [...meta.environments] };
  await client.send(new PutItemCommand({ TableName: table, Item: item }));
}

/** Writes an instance item as the counter does for an active runner (or an inactive one). */
export async function putRunnerItem(
  client: DynamoDBClient,
  table: string,
  instanceId: string,
  key: string | undefined,
): Promise<void> {
  const item: Record<string, AttributeValue> = {
    pk: { S: instanceId },
    state: { S: key === undefined ? 'terminated' : 'running' },
    order: { N: '8' },
    runner: { BOOL: true },
    updated_ms: { N: String(Date.now()) },
  };
  if (key !== undefined) item['active_key'] = { S: key };
  await client.send(new PutItemCommand({ TableName: table, Item: item }));
}

/** Runner tags as upstream's scale-up sets them. */
export function runnerTags(environment: string, type: string, owner: string): Record<string, string> {
  return {
    'ghr:Application': 'github-action-runner',
    'ghr:environment': environment,
    'ghr:Type': type,
    'ghr:Owner': owner,
  };
}

/** `i-` and 17 hex digits from `n`. */
export function instanceId(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An EventBridge EC2 state-change event. */
export function stateChange(id: string, state: string, timeMs: number): string {
  return JSON.stringify({
    version: '0',
    id: `evt-${id}-${state}`,
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: rfc3339(timeMs),
    region: 'us-east-1',
    resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${id}`],
    detail: { 'instance-id': id, state },
  });
}

/** An EventBridge schedule tick. */
export function scheduleTick(timeMs: number): string {
  return JSON.stringify({
    version: '0',
    id: 'tick',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: rfc3339(timeMs),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/tick'],
    detail: {},
  });
}

/** Runs `rcc <args>` with fake credentials, DynamoDB on `dynalite`, EC2 on `ec2`; `input` goes to stdin. */
export type RccRun = (args: string[], input?: string, extraEnv?: Record<string, string>) => Promise<{ stdout: string; stderr: string }>;

export function rccRunner(rcc: string, dynalite: Dynalite, ec2: Ec2Server): RccRun {
  const run = promisify(execFile);
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    AWS_ACCESS_KEY_ID: 'fake',
    AWS_SECRET_ACCESS_KEY: 'fake',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ENDPOINT_URL_EC2: ec2.endpoint,
  };
  return async (args, input, extraEnv = {}) => {
    const child = run(rcc, args, { env: { ...env, ...extraEnv }, timeout: 60000 });
    child.child.stdin?.end(input ?? '');
    return await child;
  };
}

/**
 * build/rcc and build/ec2-test-server (see builtProgram()), and the reason to skip a suite that needs both
 * when either is not there (false when both are).
 */
export function rccPrograms(): { rcc: string; ec2Binary: string; skip: string | false } {
  const rcc = builtProgram('RCC_BINARY', 'rcc');
  const ec2Binary = builtProgram('RCC_EC2_TEST_SERVER', 'ec2-test-server');
  if (rcc === undefined || ec2Binary === undefined) {
    return { rcc: '', ec2Binary: '', skip: 'build/rcc or build/ec2-test-server is not built (or set RCC_BINARY and RCC_EC2_TEST_SERVER)' };
  }
  return { rcc, ec2Binary, skip: false };
}

export interface SentRequest {
  target: string;
  contentType: string;
  body: unknown;
}

export type ScriptedAnswer = { status: number; body: unknown };

/**
 * A DynamoDB client that records every request and answers it with `answer(target, body)`. Each answer is
 * delayed until `release()` when `hold` is set, so a test can see which requests are in flight together.
 */
export function scriptedClient(answer: (target: string, body: Record<string, unknown>) => ScriptedAnswer, hold = false) {
  const sent: SentRequest[] = [];
  const waiting: (() => void)[] = [];
  const handler = {
    async handle(request: { headers: Record<string, string>; body?: unknown }) {
      const target = request.headers['x-amz-target'] ?? '';
      const raw = request.body;
      const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array);
      const body = JSON.parse(text) as Record<string, unknown>;
      sent.push({ target, contentType: request.headers['content-type'] ?? '', body });
      if (hold) await new Promise<void>((resolve) => waiting.push(resolve));
      const { status, body: out } = answer(target, body);
      return {
        response: {
          statusCode: status,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from(JSON.stringify(out))]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
  };
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
    maxAttempts: 1,
    requestHandler: handler,
  });
  const release = (): void => {
    for (const resolve of waiting.splice(0)) resolve();
  };
  return { client, sent, release, waiting };
}
