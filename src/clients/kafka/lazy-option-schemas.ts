/**
 * Imported by the adapter (src/clients/kafka.ts) before anything that loads the Kafka library:
 * the library compiles ~40 JSON schemas of its options with ajv while its modules load, ~150 ms
 * of every worker start (a restart after a crash waits for it), although a worker validates
 * with a handful of them. From here on, ajv's `compile` returns a validator that compiles on its
 * first call and then behaves as the compiled one (result, and `errors` after each call). The
 * library is this process's only ajv user; a schema error surfaces at first use, not at load.
 */
import { createRequire } from 'node:module';

/** Marks the lazy compile, so a second load of this module does not wrap it again. */
const LAZY = Symbol.for('stream-migrate.lazy-ajv-compile');

type Validate = ((data: unknown) => boolean) & { errors?: unknown };
type Compile = (this: object, schema: unknown, meta?: boolean) => Validate;

const libraryRequire = createRequire(createRequire(import.meta.url).resolve('@platformatic/kafka'));
const core: unknown = libraryRequire('ajv/dist/core.js');
const ajvPrototype: unknown = typeof core === 'object' && core !== null ? Reflect.get(Reflect.get(core, 'default') ?? {}, 'prototype') : undefined;
const compile: unknown = typeof ajvPrototype === 'object' && ajvPrototype !== null ? Reflect.get(ajvPrototype, 'compile') : undefined;

// Another ajv shape than 8.x's: leave it alone (only start-up time is at stake).
if (typeof compile === 'function' && typeof ajvPrototype === 'object' && ajvPrototype !== null && !Reflect.get(compile, LAZY)) {
  const eager = compile as Compile;
  const lazy: Compile = function (schema, meta) {
    let compiled: Validate | undefined;
    const validate: Validate = (data) => {
      compiled ??= eager.call(this, schema, meta);
      const valid = compiled(data);
      validate.errors = compiled.errors;
      return valid;
    };
    return validate;
  };
  Reflect.set(lazy, LAZY, true);
  Reflect.set(ajvPrototype, 'compile', lazy);
}
