import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { passwordVerifierMatches, planRole, type RoleState } from './replication-role.ts';

/** A SCRAM-SHA-256 verifier the way PostgreSQL stores it in pg_authid.rolpassword. */
function scram(password: string, salt: Buffer, iterations = 4096): string {
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = crypto.createHash('sha256').update(clientKey).digest('base64');
  const serverKey = crypto.createHmac('sha256', salted).update('Server Key').digest('base64');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey}:${serverKey}`;
}

const fresh: RoleState = { exists: false, login: false, replication: false, superuser: false, missingUsage: [], missingSelect: [], extraSelect: [], passwordMatches: undefined };

describe('passwordVerifierMatches', () => {
  it('checks SCRAM and md5 verifiers', () => {
    const stored = scram('right-pw', crypto.randomBytes(16));
    expect(passwordVerifierMatches(stored, 'cdc', 'right-pw')).toBe(true);
    expect(passwordVerifierMatches(stored, 'cdc', 'wrong-pw')).toBe(false);
    const md5 = 'md5' + crypto.createHash('md5').update('right-pw' + 'cdc').digest('hex');
    expect(passwordVerifierMatches(md5, 'cdc', 'right-pw')).toBe(true);
    expect(passwordVerifierMatches(undefined, 'cdc', 'right-pw')).toBe(false);
  });
});

describe('planRole', () => {
  it('creates a LOGIN REPLICATION role with SELECT on exactly the included tables, the password masked in the diff', () => {
    const plan = planRole('cdc', ['public.orders', 'public.customers'], "it's-secret", fresh);
    expect(plan.action).toBe('create');
    expect(plan.statements.slice(1)).toEqual(['GRANT USAGE ON SCHEMA "public" TO "cdc"', 'GRANT SELECT ON "public"."orders", "public"."customers" TO "cdc"']);
    // The statement carries a SCRAM verifier of the password, never the password (servers log failed statements).
    const create = /^CREATE ROLE "cdc" LOGIN REPLICATION PASSWORD '(SCRAM-SHA-256\$4096:[^']+)'$/.exec(plan.statements[0]!);
    expect(create).not.toBeNull();
    expect(passwordVerifierMatches(create![1], 'cdc', "it's-secret")).toBe(true);
    expect(plan.statements.join('\n') + plan.diff.join('\n')).not.toContain('secret');
  });

  it('grants only what is missing, and nothing when all is in place', () => {
    const existing: RoleState = { ...fresh, exists: true, login: true, replication: false, missingSelect: ['public.orders'] };
    const plan = planRole('cdc', ['public.orders', 'public.customers'], undefined, existing);
    expect(plan.statements).toEqual(['ALTER ROLE "cdc" REPLICATION', 'GRANT SELECT ON "public"."orders" TO "cdc"']);
    expect(planRole('cdc', ['public.orders'], 'pw', { ...existing, replication: true, missingSelect: [], passwordMatches: true }).action).toBe('none');
  });
});
