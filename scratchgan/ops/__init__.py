"""Every differentiable op, grouped by family; ``scratchgan.functional`` gathers them.

Each file imports only the files before it in this order, and only at its top, so the
families read (and load) from the bottom up without circles:

    autograd (Tensor, Function, Cast) → shape → elementwise → arithmetic → reductions
    → activations → loss_functions, convolution → functional
"""
