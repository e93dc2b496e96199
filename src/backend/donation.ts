// Gradients handed over to their last reader: a backward-pass kernel may reuse a donated tensor's buffer for its output.
import type { Tensor } from '@tensorflow/tfjs';

const donated = new WeakSet<Tensor>();

/** Marks `t` as read by nothing after the gradient function now running: its buffer may be overwritten. The caller
 *  (the backward pass) checks that no other tensor shares the buffer and withdraws the mark after the call. */
export function donate(t: Tensor): void {
  donated.add(t);
}

export function withdraw(t: Tensor): void {
  donated.delete(t);
}

export function isDonated(t: Tensor): boolean {
  return donated.has(t);
}
