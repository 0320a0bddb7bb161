import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WaitingClaims } from '../../services/ingest/waitingClaims.ts';

// An unmatched delivery waits for claims; the append that brings one of them wakes it, and only
// such an append does.

const charge = { kind: 'stripe_charge', externalId: 'ch_1' };
const customer = { kind: 'stripe', externalId: 'cus_1' };
const someoneElse = { kind: 'stripe', externalId: 'cus_2' };

function listening() {
  const claims = new WaitingClaims();
  const woken: string[][] = [];
  const unlisten = claims.listen((keys) => woken.push(keys));
  return { claims, woken, unlisten };
}

describe('what unmatched deliveries wait for, in a process', () => {
  test('a delivery kept unmatched is woken once at once: its customer may have come while it was kept', () => {
    const { claims, woken } = listening();
    claims.waiting(['stripe_charge:ch_1', 'stripe:cus_1']);
    assert.deepEqual(woken, [['stripe_charge:ch_1', 'stripe:cus_1']]);
  });

  test('an append with a waited-for claim wakes its deliveries, naming only the claims that were waited for', () => {
    const { claims, woken } = listening();
    claims.waiting(['stripe_charge:ch_1']);
    claims.arrived([customer, charge]);
    assert.deepEqual(woken.at(-1), ['stripe_charge:ch_1']);
  });

  test('an append nobody waits for wakes nothing', () => {
    const { claims, woken } = listening();
    claims.arrived([charge]);
    claims.waiting(['stripe_charge:ch_1']);
    claims.arrived([someoneElse]);
    assert.equal(woken.length, 1);
  });

  test('with nobody listening (retrying off) nothing is kept and nothing wakes', () => {
    const claims = new WaitingClaims();
    claims.waiting(['stripe_charge:ch_1']);
    claims.refresh(['stripe:cus_1'], claims.mark());
    assert.equal(claims.size, 0);
  });

  test('a pass replaces what waits with what the inbox holds, keeping what this process learned while it read', () => {
    const { claims, woken } = listening();
    claims.waiting(['stripe_charge:ch_1']);
    const mark = claims.mark();
    claims.waiting(['stripe:cus_1']);
    // The inbox, read before cus_1 was kept: ch_1 matched since, another process keeps cus_2.
    claims.refresh(['stripe:cus_2'], mark);
    woken.length = 0;
    claims.arrived([charge]);
    assert.deepEqual(woken, []);
    claims.arrived([customer]);
    claims.arrived([someoneElse]);
    assert.deepEqual(woken, [['stripe:cus_1'], ['stripe:cus_2']]);
  });

  test('claims whose deliveries matched are forgotten, unless this process kept another delivery for them since', () => {
    const { claims, woken } = listening();
    claims.waiting(['stripe_charge:ch_1', 'stripe:cus_1']);
    const mark = claims.mark();
    claims.waiting(['stripe:cus_1']);
    claims.forget(['stripe_charge:ch_1', 'stripe:cus_1'], mark);
    woken.length = 0;
    claims.arrived([charge, customer]);
    assert.deepEqual(woken, [['stripe:cus_1']]);
  });

  test('a delivery kept here is announced to other processes; one announced by another is waited for here, not tried here', () => {
    const claims = new WaitingClaims();
    const woken: string[][] = [];
    const announced: string[][] = [];
    claims.listen((keys) => woken.push(keys), (keys) => announced.push(keys));
    claims.waiting(['stripe_charge:ch_1']);
    assert.deepEqual(announced, [['stripe_charge:ch_1']]);
    claims.heard(['stripe:cus_2']);
    assert.equal(woken.length, 1);
    claims.arrived([someoneElse]);
    assert.deepEqual(woken.at(-1), ['stripe:cus_2']);
    assert.equal(announced.length, 1);
  });

  test('a stopped listener forgets what waits', () => {
    const { claims, woken, unlisten } = listening();
    claims.waiting(['stripe_charge:ch_1']);
    unlisten();
    claims.arrived([charge]);
    assert.equal(woken.length, 1);
    assert.equal(claims.size, 0);
  });
});
