import { describe, expect, it } from 'vitest';
import { KeyConfirmation } from '../src/key-confirmation.js';

// The rule behind the browser's badge (BrowserE2ee): the worker's acknowledgement confirms an
// epoch only when it is for the key handed over last.
describe('KeyConfirmation', () => {
  it('confirms the key handed over once the encryptor acknowledges it', () => {
    const c = new KeyConfirmation();
    c.handedOver(5n);
    expect(c.confirmed).toBeUndefined();
    expect(c.acknowledged('5')).toBe(true);
    expect(c.confirmed).toBe(5n);
    expect(c.acknowledged('5')).toBe(false); // no change
  });

  it('a late acknowledgement of a replaced key does not confirm the new epoch', () => {
    const c = new KeyConfirmation();
    c.handedOver(5n);
    c.acknowledged('5');
    c.handedOver(6n);
    expect(c.acknowledged('4')).toBe(false);
    expect(c.confirmed).toBe(5n); // still the worker's last word, never 6 before it says so
    expect(c.acknowledged('6')).toBe(true);
    expect(c.confirmed).toBe(6n);
  });

  it('forgetting clears at once, and an acknowledgement in flight from before does not bring it back', () => {
    const c = new KeyConfirmation();
    c.handedOver(7n);
    c.acknowledged('7');
    expect(c.forgotten()).toBe(true);
    expect(c.confirmed).toBeUndefined();
    expect(c.acknowledged('7')).toBe(false);
    expect(c.confirmed).toBeUndefined();
    // the worker's answer to the forget itself is consistent with it
    expect(c.acknowledged(undefined)).toBe(false);
  });
});
