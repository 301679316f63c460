// Launch registration: the scale-up records the runners it just launched, so the count includes them at
// once and the counter needs no tag lookup for them. The same request as the C++ register_launches()
// (include/rcc/registration.h): one conditional UpdateItem per launch that creates the instance item only
// when the table has none, so whatever the counter or reconcile wrote first wins.

import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';

import type { CacheConfig } from './config.js';
import { runnerKey, runnerKeyProblem, type RunnerKey } from './key.js';

/** One instance the scale-up launched. */
export interface LaunchedRunner {
  /** As CreateFleet / RunInstances returned it. */
  instanceId: string;
  /** The ghr:environment, ghr:Type and ghr:Owner tags it was launched with. */
  key: RunnerKey;
  /**
   * Epoch seconds, no later than EC2's launch time: take the clock before sending the launch request, so
   * every event of the instance orders at or after the registration.
   */
  launchTimeS: number;
}

/** What became of one launch: `registered`, `already_known` (the table had an item; nothing written), or an error. */
export type RegistrationResult =
  | { instanceId: string; outcome: 'registered' | 'already_known' }
  | { instanceId: string; outcome: 'failed'; error: Error };

/** Why `launch` cannot be registered, or undefined (the checks of the C++ validate_launch()). */
export function launchProblem(launch: LaunchedRunner): string | undefined {
  if (launch.instanceId === '') return 'launch without an instance id';
  if (launch.instanceId.startsWith('#')) return `instance id ${launch.instanceId} starts with '#'`;
  const keyProblem = runnerKeyProblem(launch.key);
  if (keyProblem !== undefined) return `instance ${launch.instanceId}: ${keyProblem}`;
  if (!Number.isSafeInteger(launch.launchTimeS) || launch.launchTimeS <= 0) {
    return `instance ${launch.instanceId}: launch time must be > 0 (epoch seconds)`;
  }
  return undefined;
}

/**
 * The UpdateItem that registers `launch` at `nowMs`: state pending, order launch_time_s * 8 (rank of
 * pending 0), runner true, the tags, `rkey` and `active_key` set to the key, no `ttl`, under the condition
 * `attribute_not_exists(#pk)`.
 */
export function registrationRequest(
  config: Pick<CacheConfig, 'tableName'>,
  launch: LaunchedRunner,
  nowMs: number,
): UpdateItemCommandInput {
  return {
    // Creates the item, or claims one the counter recorded unresolved while it is still active, keeping the
    // state and order the counter recorded (docs/table-contract.md section 7).
    ConditionExpression: 'attribute_not_exists(#pk) OR (#unresolved = :true AND #state IN (:pending, :running))',
    ExpressionAttributeNames: {
      '#active': 'active_key',
      '#env': 'env',
      '#order': 'order',
      '#owner': 'owner',
      '#pk': 'pk',
      '#rkey': 'rkey',
      '#runner': 'runner',
      '#state': 'state',
      '#ttl': 'ttl',
      '#type': 'type',
      '#unresolved': 'unresolved',
      '#updated': 'updated_ms',
    },
    ExpressionAttributeValues: {
      ':env': { S: launch.key.environment },
      ':order': { N: String(launch.launchTimeS * 8) },
      ':owner': { S: launch.key.owner },
      ':pending': { S: 'pending' },
      ':rkey': { S: runnerKey(launch.key) },
      ':runner': { BOOL: true },
      ':running': { S: 'running' },
      ':state': { S: 'pending' },
      ':true': { BOOL: true },
      ':type': { S: launch.key.type },
      ':updated': { N: String(nowMs) },
    },
    Key: { pk: { S: launch.instanceId } },
    TableName: config.tableName,
    UpdateExpression:
      'SET #state = if_not_exists(#state, :state), #order = if_not_exists(#order, :order), #updated = :updated, ' +
      '#runner = :runner, #env = :env, #type = :type, #owner = :owner, #rkey = :rkey, #active = :rkey ' +
      'REMOVE #unresolved, #ttl',
  };
}

/**
 * Registers every launch, one conditional write each, in order, and returns one result per launch in the
 * same order. A launch with a launchProblem() fails without a write; a failed condition is
 * `already_known`; any other error is that launch's failure (the others are still attempted). Nothing is
 * thrown for a launch: the caller decides what a failure means (the runners exist either way, and the
 * counter still finds them through their events and a tag lookup).
 */
export async function registerLaunches(
  launches: readonly LaunchedRunner[],
  config: Pick<CacheConfig, 'tableName'>,
  deps: { dynamodb: DynamoDBClient; now?: () => number },
): Promise<RegistrationResult[]> {
  const results: RegistrationResult[] = [];
  for (const launch of launches) {
    const problem = launchProblem(launch);
    if (problem !== undefined) {
      results.push({ instanceId: launch.instanceId, outcome: 'failed', error: new Error(problem) });
      continue;
    }
    try {
      await deps.dynamodb.send(new UpdateItemCommand(registrationRequest(config, launch, (deps.now ?? Date.now)())));
      results.push({ instanceId: launch.instanceId, outcome: 'registered' });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        results.push({ instanceId: launch.instanceId, outcome: 'already_known' });
      } else {
        results.push({ instanceId: launch.instanceId, outcome: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
      }
    }
  }
  return results;
}
