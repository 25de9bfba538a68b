/** A value a test file's `beforeAll` sets up for its tests (a started app, a launched browser, a scratch database). */
export function setUpInBeforeAll<T>(what: string) {
  let value: T | undefined;
  return {
    set(v: T) {
      value = v;
    },
    /** The value, or undefined when `beforeAll` did not get that far (for `afterAll`). */
    peek: () => value,
    /** The value; reading it before `beforeAll` set it fails, naming it. */
    get(): T {
      if (value === undefined) throw new Error(`${what} is set up in beforeAll`);
      return value;
    },
  };
}
