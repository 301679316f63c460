import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runnerKey, runnerKeyProblem } from '../src/index.js';

test('runnerKey is upstream\'s ${environment}#${runnerType}#${runnerOwner} for GitHub names', () => {
  assert.equal(runnerKey({ environment: 'prod', type: 'Org', owner: 'acme' }), 'prod#Org#acme');
  assert.equal(runnerKey({ environment: 'prod', type: 'Repo', owner: 'acme/app.js' }), 'prod#Repo#acme/app.js');
  assert.equal(
    runnerKey({ environment: 'multi-runner-linux-x64', type: 'Org', owner: 'Acme-Corp_1' }),
    'multi-runner-linux-x64#Org#Acme-Corp_1',
  );
});

test('runnerKey escapes % then # in every part, so distinct keys give distinct strings', () => {
  assert.equal(runnerKey({ environment: 'a#b', type: 'Org', owner: 'c' }), 'a%23b#Org#c');
  assert.equal(runnerKey({ environment: 'a', type: 'Org', owner: 'b#c' }), 'a#Org#b%23c');
  assert.equal(runnerKey({ environment: '100%', type: 'Org', owner: '%23' }), '100%25#Org#%2523');
  assert.notEqual(
    runnerKey({ environment: 'a#b', type: 'Org', owner: 'c' }),
    runnerKey({ environment: 'a', type: 'Org', owner: 'b#c' }),
  );
});

test('runnerKeyProblem accepts Org and Repo keys and names the bad part otherwise', () => {
  assert.equal(runnerKeyProblem({ environment: 'prod', type: 'Org', owner: 'acme' }), undefined);
  assert.equal(runnerKeyProblem({ environment: 'prod', type: 'Repo', owner: 'acme/app' }), undefined);
  assert.equal(runnerKeyProblem({ environment: '', type: 'Org', owner: 'acme' }), 'environment: empty');
  assert.equal(runnerKeyProblem({ environment: 'prod', type: 'org', owner: 'acme' }), 'type: want Org or Repo, got "org"');
  assert.equal(runnerKeyProblem({ environment: 'prod', type: 'Org', owner: '' }), 'owner: empty');
});
