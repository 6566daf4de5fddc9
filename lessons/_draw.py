"""The lessons' drawing code, kept out of the lessons so that they read as the idea.

Each lesson imports what it draws with (``from _draw import draw_sum``); nothing here
computes what a lesson teaches: the numbers drawn come from scratchgan in the lesson.

    draw_sum(ax, a, b, label_a, label_b)   lesson 01: a + b as grids, broadcast copies dashed
    draw_graph(ax, root)                   lesson 02: the graph behind a Tensor, in backward order
    tile(images, ncol)                     lesson 06: digits in [−1, 1] as one picture
    stroke_digits(n, rng)                  lesson 06: stand-in "digits" when MNIST is not here
"""
from __future__ import annotations

import numpy as np
from matplotlib.patches import FancyBboxPatch, Rectangle

import scratchgan as sg


# --- lesson 01: broadcasting ---------------------------------------------------------------
def draw_operand(ax, values, full_shape, x0, title):
    """Draw a (≤ 2-D) array stretched to full_shape at column x0; virtual copies dashed."""
    v = np.asarray(values)
    v = v.reshape((1,) * (2 - v.ndim) + v.shape)           # rule 2: pad on the left
    rows, cols = full_shape
    for i in range(rows):
        for j in range(cols):
            stored = (v.shape[0] > 1 or i == 0) and (v.shape[1] > 1 or j == 0)
            value = v[i if v.shape[0] > 1 else 0, j if v.shape[1] > 1 else 0]
            ax.add_patch(Rectangle((x0 + j, rows - 1 - i), 1, 1,
                                   facecolor="#cfe2f3" if stored else "#f3f3f3",
                                   edgecolor="black" if stored else "0.6",
                                   linestyle="-" if stored else "--", lw=1.2))
            ax.text(x0 + j + 0.5, rows - 0.5 - i, f"{value:g}", ha="center", va="center",
                    fontsize=10, color="black" if stored else "0.55")
    ax.text(x0 + cols / 2, rows + 0.35, title, ha="center", va="bottom", fontsize=10)
    return x0 + cols


def draw_sum(ax, a, b, label_a, label_b):
    """a + b drawn as three grids, the result computed by scratchgan."""
    result = sg.to_numpy(sg.tensor(a) + sg.tensor(b))
    end = draw_operand(ax, a, result.shape, 0, label_a)
    ax.text(end + 0.6, result.shape[0] / 2, "+", fontsize=18, ha="center", va="center")
    end = draw_operand(ax, b, result.shape, end + 1.2, label_b)
    ax.text(end + 0.6, result.shape[0] / 2, "=", fontsize=18, ha="center", va="center")
    end = draw_operand(ax, result, result.shape, end + 1.2, f"result {result.shape}")
    ax.set_xlim(-0.2, end + 0.2)
    ax.set_ylim(-0.2, result.shape[0] + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return result


# --- lesson 02: the graph -----------------------------------------------------------------
def draw_graph(ax, root):
    """Draw the graph that produced ``root``, inputs on the left, ``root`` on the right."""
    order = sg.autograd._topological_order([root])      # the backward order: root's op first
    step = {id(f): k + 1 for k, f in enumerate(order)}
    col, nodes = {}, {}
    for f in reversed(order):                            # each op after the ops it depends on
        for t in f.inputs:
            nodes[id(t)] = t
            col.setdefault(id(t), 0)
        col[id(f)] = 1 + max(col[id(t)] for t in f.inputs)
        col[id(f.output)] = col[id(f)] + 1
        nodes[id(f)], nodes[id(f.output)] = f, f.output
    leaf_col = {}                                 # leaves: just left of their first user
    for f in order:
        for t in f.inputs:
            if t.is_leaf:
                leaf_col[id(t)] = min(leaf_col.get(id(t), col[id(f)]), col[id(f)])
    col.update({key: c_ - 1 for key, c_ in leaf_col.items()})

    columns = {}
    for key in nodes:
        columns.setdefault(col[key], []).append(key)
    pos, width, height, dx = {}, 1.7, 0.85, 2.4
    for c_, keys in columns.items():
        inner = [k for k in keys if not (isinstance(nodes[k], sg.Tensor) and nodes[k].is_leaf)]
        leaves = [k for k in keys if k not in inner]
        ys = [0.0] * len(inner) + [1.25 * (i + 1) for i in range(len(leaves))]
        if not inner:
            ys = [1.25 * (i - (len(leaves) - 1) / 2) for i in range(len(leaves))]
        for k, y_ in zip(inner + leaves, ys):
            pos[k] = (c_ * dx, y_)

    for key, node in nodes.items():
        x_, y_ = pos[key]
        if isinstance(node, sg.Tensor):
            label = f"{node.name or ''}\n{tuple(node.shape)}".strip()
            color = "#b6d7a8" if node.is_leaf and node.requires_grad else "#cfe2f3"
            style = "round,pad=0.02,rounding_size=0.25"
        else:
            label = f"{node.name}\n#{step[id(node)]}"
            color, style = "#f9cb9c", "square,pad=0.02"
        ax.add_patch(FancyBboxPatch((x_ - width / 2, y_ - height / 2), width, height,
                                    boxstyle=style, facecolor=color, edgecolor="black"))
        ax.text(x_, y_, label, ha="center", va="center", fontsize=9)

    for f in order:
        edges = [(t, f) for t in f.inputs] + [(f, f.output)]
        for n, (src, dst) in enumerate(edges):
            (x1, y1), (x2, y2) = pos[id(src)], pos[id(dst)]
            repeats = sum(1 for s, d in edges if s is src and d is dst)
            rad = 0.0 if repeats == 1 else (0.6 if n == 0 else -0.6)
            ax.annotate("", xy=(x2 - width / 2, y2), xytext=(x1 + width / 2, y1),
                        arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2,
                                        connectionstyle=f"arc3,rad={rad}"))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.annotate("", xy=(min(xs), min(ys) - 1.0), xytext=(max(xs), min(ys) - 1.0),
                arrowprops=dict(arrowstyle="-|>", color="tab:red", lw=1.5, ls="--"))
    ax.text((min(xs) + max(xs)) / 2, min(ys) - 0.85,
            "backward(): gradients flow right to left; #n is each function's turn",
            ha="center", va="bottom", color="tab:red", fontsize=10)
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 1.3, max(ys) + 0.7)
    ax.set_aspect("equal")
    ax.axis("off")


# --- lesson 06: digits ----------------------------------------------------------------------
STROKES = {        # digit: polylines in a unit box (x to the right, y down)
    0: [[(0.5 + 0.27 * np.sin(t), 0.5 - 0.36 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 17)]],
    1: [[(0.38, 0.28), (0.52, 0.14), (0.52, 0.86)]],
    2: [[(0.27, 0.3), (0.45, 0.15), (0.68, 0.2), (0.7, 0.4), (0.27, 0.85), (0.76, 0.85)]],
    3: [[(0.28, 0.17), (0.72, 0.17), (0.47, 0.45), (0.72, 0.62), (0.62, 0.84), (0.28, 0.82)]],
    4: [[(0.62, 0.86), (0.62, 0.14), (0.25, 0.62), (0.78, 0.62)]],
    5: [[(0.72, 0.15), (0.33, 0.15), (0.3, 0.45), (0.65, 0.47), (0.72, 0.7), (0.55, 0.86),
         (0.27, 0.8)]],
    6: [[(0.65, 0.15), (0.38, 0.4), (0.3, 0.7), (0.45, 0.86), (0.66, 0.78), (0.66, 0.58),
         (0.45, 0.52), (0.32, 0.62)]],
    7: [[(0.25, 0.15), (0.75, 0.15), (0.42, 0.86)], [(0.4, 0.5), (0.65, 0.5)]],
    8: [[(0.5 + 0.2 * np.sin(t), 0.31 - 0.16 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 13)],
        [(0.5 + 0.25 * np.sin(t), 0.66 - 0.2 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 13)]],
    9: [[(0.68, 0.4), (0.5, 0.52), (0.32, 0.4), (0.4, 0.18), (0.62, 0.17), (0.68, 0.4),
         (0.6, 0.86)]],
}


def tile(images, ncol=10):
    """Images (N, 784) or (N, 28, 28) in [−1, 1] → one picture in [0, 1], ncol digits a row
    (the same picture as scratchgan.viz.image_grid, which the Trainer uses for its files)."""
    images = (sg.to_numpy(images).reshape(-1, 28, 28) + 1) / 2
    rows = -(-len(images) // ncol)
    canvas = np.zeros((2 + 30 * rows, 2 + 30 * ncol))          # 2-pixel white gaps
    for i, image in enumerate(images):
        r, c = divmod(i, ncol)
        canvas[2 + 30 * r:30 + 30 * r, 2 + 30 * c:30 + 30 * c] = image
    return canvas


def stroke_digits(n, rng):
    """n stand-in digits, uint8 (n, 28, 28), drawn as thick polylines; and their labels."""
    labels = rng.integers(0, 10, size=n)
    yy, xx = np.mgrid[0:28, 0:28] + 0.5
    pixels = np.stack([xx.ravel(), yy.ravel()], axis=1)            # (784, 2) pixel centres
    images = np.zeros((n, 784))
    for i, label in enumerate(labels):
        angle, scale = rng.uniform(-0.2, 0.2), rng.uniform(20, 25)
        rotate = scale * np.array([[np.cos(angle), -np.sin(angle)],
                                   [np.sin(angle), np.cos(angle)]])
        shift, width = 14 + rng.uniform(-1.5, 1.5, size=2), rng.uniform(1.0, 1.8)
        distance = np.full(784, np.inf)          # from each pixel to the nearest stroke
        for line in STROKES[label]:
            points = (np.asarray(line) - 0.5) @ rotate.T + shift
            for a, b in zip(points[:-1], points[1:]):
                t = np.clip((pixels - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1)
                nearest = a + t[:, None] * (b - a)
                distance = np.minimum(distance, np.linalg.norm(pixels - nearest, axis=1))
        images[i] = np.clip(width + 0.5 - distance, 0, 1)
    return (images.reshape(n, 28, 28) * 255).astype(np.uint8), labels.astype(np.uint8)
