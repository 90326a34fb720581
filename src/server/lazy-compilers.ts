import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';

/**
 * Fastify's own schema compilers (ajv for requests, fast-json-stringify for replies), made lazy:
 * each route's validator and serializer is compiled on its first use instead of all at start-up.
 * With a request and a reply schema on every route, compiling them all took most of a second
 * and a half of CPU before the server could listen (PRODUCT §12: start-up under 2 s). What each
 * compiles, and every reply, is exactly what the eager compilers would give.
 */
type Compiled = ((data: unknown) => unknown) & { errors?: unknown };
type Factory = (externalSchemas: unknown, options: unknown) => (route: unknown) => Compiled;

function lazily(factory: Factory): Factory {
  return (externalSchemas, options) => {
    const compileFor = factory(externalSchemas, options);
    return (route) => {
      let compiled: Compiled | undefined;
      const lazy: Compiled = (data) => {
        compiled ??= compileFor(route);
        const result = compiled(data);
        // Fastify reads a validator's errors from the function itself after a call.
        lazy.errors = compiled.errors;
        return result;
      };
      return lazy;
    };
  };
}

export const lazyCompilersFactory = {
  buildValidator: lazily(AjvCompiler() as unknown as Factory),
  buildSerializer: lazily(SerializerSelector() as unknown as Factory),
};
