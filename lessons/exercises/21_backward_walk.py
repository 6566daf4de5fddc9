"""Exercise 21 — the engine's backward walk, written by you

loss.backward() does two things (scratchgan/autograd.py, lesson 02):
  1. topological_order([loss]): every Function reachable from loss, each listed before the
     functions that made its inputs (consumers before producers). Walk the graph with an
     EXPLICIT stack, not recursion: a chain of 10,000 ops must not hit Python's recursion
     limit. A function is reached once per edge (b = a + a reaches a's maker twice): visit
     it once. Push the inputs' creators in the order f.inputs lists them.
  2. backward_walk(order, grads, backward_of): grads maps id(tensor) → dL/d(tensor), holding
     the loss's own gradient at the start. For each function f, in order: gy = the gradient
     of its output f.output (skip f if grads has none: nothing reached it); then
     backward_of(f, gy) gives one gradient per input, in f.inputs's order (None: not
     needed); ADD each to grads[id(x)] (a tensor used twice collects both shares).
     Read grads, do not remove from it: the engine frees each gradient once passed on.

The Function objects you meet: f.inputs (a tuple of Tensors), f.output (the Tensor it made);
a Tensor's x.creator is the Function that made it, None for a leaf (an input, a weight).

Hint for 1: a post-order (a function appended after all of its inputs' creators have been)
lists producers first; reverse it at the end. With a stack, push (f, False) to expand f and
(f, True) to append it once its inputs' creators are done.

Check:   make check EX=backward_walk        (or: python -m scratchgan check backward_walk)
The check tests your order on a small graph and a 10,000-op chain and your walk with the
engine's order; then it runs the engine's own tests (tests/test_autograd.py: a node used
twice, a deep chain, a fixed order, sg.grad, …) with both of yours in the engine's place.
"""


def topological_order(roots):
    """Every Function reachable from the tensors ``roots``, each before the Functions that
    made its inputs: a list."""
    # YOUR CODE HERE: an explicit stack; each function once; consumers before producers
    raise NotImplementedError("write topological_order (an explicit stack, no recursion)")


def backward_walk(order, grads, backward_of):
    """Pass gradients down: for each Function in ``order``, its output's gradient (summed
    over its uses by now) through backward_of, each input's share added into ``grads``."""
    # YOUR CODE HERE too: read gy, call backward_of(f, gy), add each input's share
    raise NotImplementedError("write backward_walk: add each input's gradient into grads")
