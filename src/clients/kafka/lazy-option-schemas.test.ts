import { createRequire } from 'node:module';
import { Producer } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import '../kafka.ts';

// The ajv class the library itself uses (the lazy compile is installed on it by the adapter's import above).
const libraryRequire = createRequire(createRequire(import.meta.url).resolve('@platformatic/kafka'));
const { Ajv2020: Ajv } = libraryRequire('ajv/dist/2020.js') as { Ajv2020: new (options?: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: { keyword: string; instancePath: string }[] | null } } };

describe('the Kafka library option schemas, compiled on first use', () => {
  it('defers compiling until a validator is first called: a broken schema throws there, not at compile', () => {
    const validate = new Ajv().compile({ type: 'no-such-type' });
    expect(() => validate(1)).toThrow(/schema is invalid: data\/type/);
  });

  it('validates as the compiled validator does, errors included, call after call', () => {
    const validate = new Ajv({ allErrors: true }).compile({ type: 'object', properties: { n: { type: 'integer', minimum: 0 } }, required: ['n'] });
    expect(validate({ n: 3 })).toBe(true);
    expect(validate.errors).toBeNull();
    expect(validate({ n: -1 })).toBe(false);
    expect(validate.errors?.map((e) => [e.keyword, e.instancePath])).toEqual([['minimum', '/n']]);
    expect(validate({})).toBe(false);
    expect(validate.errors?.map((e) => e.keyword)).toEqual(['required']);
    expect(validate({ n: 0 })).toBe(true);
  });

  it("keeps the library's own option errors (strict clients validate their options)", async () => {
    expect(() => new Producer({ clientId: 'bad', bootstrapBrokers: ['127.0.0.1:1'], timeout: -1, strict: true })).toThrow('/options/timeout must be >= 0.');
    const valid = new Producer({ clientId: 'good', bootstrapBrokers: ['127.0.0.1:1'], strict: true });
    await valid.close();
  });
});
