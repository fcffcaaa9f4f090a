"""Words of the sampler's vocabulary, drawn with its Zipf-Mandelbrot weights."""

from __future__ import annotations

import bisect


def word(sampler, r) -> str:
    """One word: mostly lower case, sometimes Capitalized, now and then ALL CAPS."""
    w = sampler._words[bisect.bisect(sampler._cum, r.random() * sampler._cum[-1])]
    u = r.random()
    if u < 0.74:
        return w
    if u < 0.94:
        return w[:1].upper() + w[1:]
    return w.upper()


def plain_words(sampler, r, n: int) -> list[str]:
    return r.choices(sampler._words, cum_weights=sampler._cum, k=n)
