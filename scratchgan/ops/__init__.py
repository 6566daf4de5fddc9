"""Every differentiable op, grouped by family; ``scratchgan.functional`` gathers them."""
