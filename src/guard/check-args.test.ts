import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { checkArgs } from './check-args.ts';

const refund = z.object({ orderId: z.string(), amount: z.number().positive() });

describe('argument checks', () => {
  it('gives back the parsed arguments, with the schema’s defaults and transforms applied', () => {
    assert.deepEqual(checkArgs(refund, { orderId: 'o-1', amount: 5 }), { ok: true, data: { orderId: 'o-1', amount: 5 } });
    const withDefault = z.object({ n: z.number().default(3), s: z.string().transform((v) => v.toUpperCase()) });
    assert.deepEqual(checkArgs(withDefault, { s: 'a' }), { ok: true, data: { n: 3, s: 'A' } });
  });

  it('says what is wrong with each field, by path', () => {
    const r = checkArgs(refund, { orderId: 7, amount: -1 });
    assert.equal(r.ok, false);
    assert.equal((r as { thrown: boolean }).thrown, false);
    assert.match((r as { message: string }).message, /^orderId: .*; amount: .*/);
  });

  it('names the root when the arguments are not an object at all', () => {
    const r = checkArgs(refund, 'refund please');
    assert.match((r as { message: string }).message, /^\(root\): /);
  });

  it('reports at most eight issues', () => {
    const wide = z.object(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, z.string()])));
    const r = checkArgs(wide, {});
    assert.equal((r as { message: string }).message.split('; ').length, 8);
  });

  it('turns a schema callback that throws into an invalid call, never a crash', () => {
    const fragile = z.object({ n: z.number() }).refine(() => {
      throw new Error('refine exploded');
    });
    assert.deepEqual(checkArgs(fragile, { n: 1 }), { ok: false, message: "the schema's own check threw (refine exploded)", thrown: true });
    const badTransform = z.string().transform(() => {
      throw 'not an error';
    });
    assert.deepEqual(checkArgs(badTransform, 'x'), { ok: false, message: "the schema's own check threw (not an error)", thrown: true });
  });
});
