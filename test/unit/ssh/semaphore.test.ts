import { describe, expect, it } from "vitest";
import { Semaphore } from "../../../src/ssh/semaphore.js";

describe("Semaphore", () => {
  it("never lets more than `size` holders run at once and serves waiters in order", async () => {
    const sem = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await sem.acquire();
        running += 1;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        sem.release();
      }),
    );
    expect(peak).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("drops a waiter whose signal aborts", async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const ac = new AbortController();
    const waiting = sem.acquire(ac.signal);
    expect(sem.queued).toBe(1);
    ac.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(sem.queued).toBe(0);
    sem.release();
    await sem.acquire();
  });
});
