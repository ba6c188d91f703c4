import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimSupervisorLock, recordStop, respawnSupervisor, respawnVerdict, type RestartRecord } from './supervisor-process.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const restartAt = (minutesAgo: number, previousPid = 100): RestartRecord => ({ at: new Date(NOW - minutesAgo * 60_000).toISOString(), previousPid, pid: previousPid + 1, by: 'processor-w1' });

describe('respawnVerdict', () => {
  it('restarts a supervisor that is gone when nobody stopped the workers', () => {
    expect(respawnVerdict({ stop: undefined, livePid: undefined, restarts: [], nowMs: NOW })).toEqual({ action: 'respawn' });
  });

  it('leaves workers stopped on purpose stopped, even with restarts to spare', () => {
    const stop = { at: '2026-11-30T11:59:00.000Z', by: '`dev down`' };
    expect(respawnVerdict({ stop, livePid: undefined, restarts: [], nowMs: NOW })).toEqual({ action: 'stopped', stop });
  });

  it('never starts a second supervisor beside a live one', () => {
    expect(respawnVerdict({ stop: undefined, livePid: 4242, restarts: [], nowMs: NOW })).toEqual({ action: 'running', pid: 4242 });
  });

  it('refuses the sixth restart within ten minutes, and counts only those ten minutes', () => {
    const five = [9, 7, 5, 3, 1].map((m) => restartAt(m));
    const verdict = respawnVerdict({ stop: undefined, livePid: undefined, restarts: five, nowMs: NOW });
    expect(verdict.action).toBe('refused');
    expect(verdict.action === 'refused' && verdict.reason).toContain('5 times in the last 10 minutes');
    // Four within the window and one 11 minutes ago: allowed.
    expect(respawnVerdict({ stop: undefined, livePid: undefined, restarts: [restartAt(11), ...five.slice(1)], nowMs: NOW })).toEqual({ action: 'respawn' });
  });
});

describe('supervisor guards (real files and sockets)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('the supervisor lock is held by one server at a time and free again once it closes', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-lock-'));
    const first = await claimSupervisorLock(dir);
    expect(first).toBeDefined();
    expect(await claimSupervisorLock(dir)).toBeUndefined();
    // Another directory has a lock of its own.
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-lock-'));
    const other = await claimSupervisorLock(otherDir);
    expect(other).toBeDefined();
    await new Promise((r) => other!.close(r));
    fs.rmSync(otherDir, { recursive: true, force: true });
    await new Promise((r) => first!.close(r));
    const again = await claimSupervisorLock(dir);
    expect(again).toBeDefined();
    await new Promise((r) => again!.close(r));
  });

  it('does nothing for workers stopped on purpose, and no spawn is tried', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-respawn-'));
    recordStop(dir, '`workers stop`');
    const outcome = respawnSupervisor(dir, 999_999, 'processor-w1');
    expect(outcome).toMatchObject({ action: 'stopped', stop: { by: '`workers stop`' } });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.claim'))).toEqual([]);
  });

  it('lets one of several workers of a dead supervisor claim the restart', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-respawn-'));
    // Five restarts just now: the claimant is refused (so nothing is spawned by this test), the others see the claim.
    fs.writeFileSync(path.join(dir, 'supervisor-restarts.jsonl'), [1, 1, 1, 1, 1].map((m, i) => JSON.stringify({ ...restartAt(m, 200 + i), at: new Date().toISOString() })).join('\n') + '\n');
    const outcomes = ['processor-w1', 'processor-w2', 'sink-s1'].map((by) => respawnSupervisor(dir!, 999_998, by).action);
    expect(outcomes).toEqual(['refused', 'claimed', 'claimed']);
    expect(fs.existsSync(path.join(dir, 'respawn-refused.json'))).toBe(true);
  });
});
