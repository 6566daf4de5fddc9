"""One bench-modes run, scored every N G steps four ways at once: G's last weights with
BatchNorm's running statistics (what bench-modes scores), the same with batch statistics,
and two exponential moving averages of G's weights and buffers (d = 0.999 and 0.9999,
no warm-up).  The extra scoring draws no training noise, so the run trains as bench-modes
trains it.  docs/modes.md ("Scoring an average of G's weights") has what it printed.

    OMP_NUM_THREADS=1 python docs/modes-runs/ema_side_by_side.py pacgan4 grid 120000 5 0 2 5000
    (model, mixture, G steps, lr scale, decay from, seed, score every)
"""
import sys
import time

import numpy as np

from scratchgan import backend
from scratchgan import bench_modes as bm
from scratchgan.autograd import no_grad
from scratchgan.data.toy2d import pacgan_scores

model, dataset, iters, scale, dfrom, seed, every = sys.argv[1:8]
iters, scale, dfrom, seed, every = int(iters), float(scale), float(dfrom), int(seed), int(every)
centres, std, _ = bm.DATASETS[dataset]
DECAYS = (0.999, 0.9999)
ema = {}
Ge = bm.make_generator()
t0 = time.process_time()


def fmt(s):
    sc = pacgan_scores(s, centres, std)
    return f"{sc.modes:2d}/{sc.high_quality:6.1%}/{sc.reverse_kl:.3f}"


def cb(it, G, D):
    st = {k: np.array(v, dtype=np.float64) for k, v in G.state_dict().items()}
    if not ema:
        for d in DECAYS:
            ema[d] = {k: v.copy() for k, v in st.items()}
    else:
        for d in DECAYS:
            for k, v in st.items():
                e = ema[d][k]
                e *= d
                e += (1 - d) * v
    if it and it % every == 0:
        out = [f"{it:7d} raw {fmt(bm.generate(G, bm.EVAL_SAMPLES, seed))}"]
        # batch statistics over the 2,500 samples (G's last weights), buffers restored
        saved = {k: np.array(v) for k, v in G.named_buffers()}
        z = np.random.default_rng([seed, 2500]).standard_normal((bm.EVAL_SAMPLES, 2)).astype(np.float32)
        with no_grad():
            s = backend.to_numpy(G(bm.Tensor(z)).data)
        G.load_state_dict({**{k: p.data for k, p in G.named_parameters()}, **saved})
        out.append(f"trainBN {fmt(s)}")
        for d in DECAYS:
            Ge.load_state_dict({k: v.astype(np.float32) for k, v in ema[d].items()})
            out.append(f"ema{d} {fmt(bm.generate(Ge, bm.EVAL_SAMPLES, seed))}")
        print("  ".join(out), f"cpu {time.process_time()-t0:.0f}", flush=True)


r = bm.train_run(model, dataset, seed, iters, callback=cb,
                 setup=bm.Setup(lr_scale=scale, decay_from=dfrom))
print("FINAL", model, dataset, seed, iters, scale, dfrom, r.modes, f"{r.high_quality:.4f}",
      f"{r.reverse_kl:.4f}", f"cpu {r.cpu_seconds:.0f}", flush=True)
