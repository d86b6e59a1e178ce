/**
 * A module loaded on its first use instead of when the SDK is loaded. Every `proofmark` command
 * loads the whole SDK, and sharp, pkijs + asn1js, ajv, warcio and qrcode together took ~0.4 s of
 * its start-up (measured one by one with `require`), though most commands use none of them.
 * Works for a module object (`lazy.X`, `new lazy.X()`) and for a module that is a function (sharp).
 *
 * @example
 * const sharp = lazyModule<typeof Sharp>("sharp"); // nothing loaded yet
 * await sharp(bytes).png().toBuffer();           // loaded here, once
 */
export function lazyModule<T extends object>(id: string): T {
  let loaded: T | undefined;
  const load = (): T => (loaded ??= require(id) as T);
  return new Proxy(function lazy() {} as unknown as T, {
    get: (_, key) => Reflect.get(load(), key),
    has: (_, key) => Reflect.has(load(), key),
    apply: (_, self, args) => Reflect.apply(load() as unknown as (...a: unknown[]) => unknown, self, args),
    construct: (_, args) => Reflect.construct(load() as unknown as new (...a: unknown[]) => object, args),
  });
}
