import assert from "node:assert/strict";
import { Deadlines, DEFAULT_RATE_LIMIT, TokenBucket } from "../../mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A clock the test moves by hand. */
function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}

Deno.test("TokenBucket allows a burst, then returns the wait until the next token", () => {
  const c = clock();
  const b = new TokenBucket({ per_second: 2, burst: 3 }, c.now);
  assert.deepEqual([b.take(), b.take(), b.take()], [0, 0, 0]);
  assert.equal(b.take(), 500); // one token per 500 ms
  c.t += 100;
  assert.equal(b.take(), 400);
  assert.deepEqual(b.limit, { per_second: 2, burst: 3 });
});

Deno.test("TokenBucket refills over time, never beyond the burst", () => {
  const c = clock();
  const b = new TokenBucket({ per_second: 10, burst: 2 }, c.now);
  b.take();
  b.take();
  assert.ok(b.take() > 0);
  c.t += 100; // one token
  assert.equal(b.take(), 0);
  assert.equal(b.take(), 100);
  c.t += 60_000; // a minute idle still only fills the burst
  assert.deepEqual([b.take(), b.take()], [0, 0]);
  assert.equal(b.take(), 100);
});

Deno.test("TokenBucket waits are at least 1 ms and rounded up", () => {
  const c = clock();
  const b = new TokenBucket({ per_second: 3, burst: 1 }, c.now);
  assert.equal(b.take(), 0);
  assert.equal(b.take(), 334); // 1000/3 rounded up
  c.t += 333; // 0.999 tokens: just short of one
  assert.equal(b.take(), 1);
});

Deno.test("TokenBucket a refused take() costs nothing", () => {
  const c = clock();
  const b = new TokenBucket({ per_second: 1, burst: 1 }, c.now);
  assert.equal(b.take(), 0);
  for (let i = 0; i < 10; i++) assert.equal(b.take(), 1000);
  c.t += 1000;
  assert.equal(b.take(), 0);
});

Deno.test("TokenBucket uses performance.now by default", () => {
  const b = new TokenBucket(DEFAULT_RATE_LIMIT);
  assert.equal(b.take(), 0);
  const t = b.now();
  assert.ok(Math.abs(t - performance.now()) < 1000);
});

Deno.test("TokenBucket rejects bad limits with a RangeError naming the values", () => {
  for (
    const [limit, text] of [
      [{ per_second: 0, burst: 5 }, "0/s and 5"],
      [{ per_second: -1, burst: 5 }, "-1/s and 5"],
      [{ per_second: 5, burst: 0 }, "5/s and 0"],
      [{ per_second: 5, burst: 0.5 }, "5/s and 0.5"],
      [{ per_second: NaN, burst: 5 }, "NaN/s and 5"],
      [{ per_second: 5, burst: NaN }, "5/s and NaN"],
    ] as const
  ) {
    assert.throws(() => new TokenBucket(limit), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.ok(e.message.includes(text), e.message);
      return true;
    });
  }
});

Deno.test("Deadlines expire in deadline order, each once", async () => {
  const expired: string[] = [];
  const d = new Deadlines<string>((k) => expired.push(k));
  try {
    d.add("c", 90);
    d.add("a", 10);
    d.add("b", 50);
    await sleep(30);
    assert.deepEqual(expired, ["a"]);
    await sleep(100);
    assert.deepEqual(expired, ["a", "b", "c"]);
  } finally {
    d.close();
  }
});

Deno.test("Deadlines.delete() before expiry prevents it", async () => {
  const expired: number[] = [];
  const d = new Deadlines<number>((k) => expired.push(k));
  try {
    d.add(1, 20);
    d.add(2, 30);
    d.delete(1);
    d.delete(99); // unknown: nothing happens
    await sleep(60);
    assert.deepEqual(expired, [2]);
  } finally {
    d.close();
  }
});

Deno.test("Deadlines: a shorter deadline added after a longer one fires on time", async () => {
  const expired: number[] = [];
  const d = new Deadlines<number>((k) => expired.push(k));
  try {
    d.add(1, 10_000);
    const t0 = performance.now();
    d.add(2, 20);
    while (expired.length === 0 && performance.now() - t0 < 2000) await sleep(5);
    assert.deepEqual(expired, [2]);
    assert.ok(performance.now() - t0 < 500, "fired late: the timer was not re-armed");
  } finally {
    d.close();
  }
});

Deno.test("Deadlines: the later deadline still fires after the earlier one (re-armed after a sweep)", async () => {
  const expired: number[] = [];
  const d = new Deadlines<number>((k) => expired.push(k));
  try {
    d.add(1, 60);
    d.add(2, 10);
    await sleep(30);
    assert.deepEqual(expired, [2]);
    await sleep(80);
    assert.deepEqual(expired, [2, 1]);
  } finally {
    d.close();
  }
});

Deno.test("Deadlines: adding a key again moves its deadline", async () => {
  const expired: number[] = [];
  const d = new Deadlines<number>((k) => expired.push(k));
  try {
    d.add(1, 10);
    d.add(1, 80);
    await sleep(40);
    assert.deepEqual(expired, []);
    await sleep(90);
    assert.deepEqual(expired, [1]);
  } finally {
    d.close();
  }
});

Deno.test("Deadlines.close() stops everything; it can be used again afterwards", async () => {
  const expired: number[] = [];
  const d = new Deadlines<number>((k) => expired.push(k));
  d.add(1, 10);
  d.add(2, 20);
  d.close();
  await sleep(50);
  assert.deepEqual(expired, []);
  d.add(3, 10);
  await sleep(40);
  d.close();
  assert.deepEqual(expired, [3]);
});

Deno.test("Deadlines: an expiry callback can add new deadlines", async () => {
  const expired: number[] = [];
  const d = new Deadlines<number>((k) => {
    expired.push(k);
    if (k < 3) d.add(k + 1, 15);
  });
  try {
    d.add(1, 10);
    d.add(10, 200);
    await sleep(120);
    assert.deepEqual(expired, [1, 2, 3]);
  } finally {
    d.close();
  }
});

Deno.test("Deadlines: a deadline beyond setTimeout's range does not fire at once", async () => {
  const expired: number[] = [];
  const d = new Deadlines<number>((k) => expired.push(k));
  try {
    d.add(1, 2 ** 33);
    d.add(2, 2 ** 31 + 5);
    await sleep(30);
    assert.deepEqual(expired, []);
  } finally {
    d.close();
  }
});

// Regression test for a bug found in review.
Deno.test({
  name: "Deadlines: a deadline added from an expiry callback is not expired in the same sweep",
  async fn() {
    let n = 0;
    const d = new Deadlines<number>((k) => {
      n++;
      d.add(k, 0);
    });
    try {
      d.add(1, 5);
      await sleep(30);
    } finally {
      d.close();
    }
    assert.ok(n >= 1);
    assert.ok(n < 1000, `expired ${n} times in 30 ms`);
  },
});
