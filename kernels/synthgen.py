"""The random processes of the synthetic tick generator (backtestr/synth.py): the daily
walk of the mid, an AR(1) noise, tick arrivals and the quotes of one day. Pure numba
over arrays and scalars; the seeds and the presets are settled by the caller."""

import math

import numpy as np
from numba import njit

NS_PER_MIN = 60_000_000_000


@njit(cache=True, nogil=True)
def _daily_walk(z, jumps, var_frac, x_bar, sigma_d, theta, alpha, beta):  # pragma: no cover
    """Log mid at the start of each day, the diffusion part of each day's move,
    and the daily volatility factor."""
    n = z.shape[0]
    x = np.empty(n + 1)
    diff = np.empty(n)
    g = np.empty(n)
    x[0] = x_bar
    gk = 1.0
    omega = 1.0 - alpha - beta
    for k in range(n):
        g[k] = gk
        vf = var_frac[k]
        d = sigma_d * math.sqrt(gk * vf) * z[k] - theta * vf * (x[k] - x_bar)
        diff[k] = d
        x[k + 1] = x[k] + d + jumps[k]
        if vf > 0.0:
            gk = omega + alpha * gk * z[k] * z[k] + beta * gk
            gk = min(max(gk, 0.25), 6.0)
    return x, diff, g


@njit(cache=True, nogil=True)
def _ar1(eps, phi, sd):  # pragma: no cover
    """Stationary AR(1) with unit-variance shocks scaled to marginal sd ``sd``."""
    n = eps.shape[0]
    out = np.empty(n)
    k = sd * math.sqrt(1.0 - phi * phi)
    x = sd * eps[0]
    out[0] = x
    for i in range(1, n):
        x = phi * x + k * eps[i]
        out[i] = x
    return out


@njit(cache=True, nogil=True)
def _arrivals(counts, expo, day_ns, span):  # pragma: no cover
    """Sorted arrival times: within a minute holding ``c`` ticks, the times are
    the normalised partial sums of ``c + 1`` exponentials (sorted uniforms).
    Equal nanoseconds (rare) are pushed apart by 1 ns."""
    n = 0
    for m in range(counts.shape[0]):
        n += counts[m]
    ts = np.empty(n, dtype=np.int64)
    minute = np.empty(n, dtype=np.int64)
    e = 0
    i = 0
    prev = np.int64(-1)
    for m in range(counts.shape[0]):
        c = counts[m]
        if c == 0:
            continue
        total = 0.0
        for j in range(c + 1):
            total += expo[e + j]
        acc = 0.0
        for j in range(c):
            acc += expo[e + j]
            t = day_ns + m * NS_PER_MIN + np.int64(acc / total * span)
            if t <= prev:
                t = prev + 1
            ts[i] = t
            minute[i] = m
            prev = t
            i += 1
        e += c + 1
    return ts, minute


@njit(cache=True, nogil=True)
def _quotes(
    ts,
    minute,
    day_ns,
    z,
    z_spread,
    z_size,
    jump,
    vol_min,
    spread_min,
    sigma_s,
    x0,
    target,
    scale,
    size_mu,
    size_scale,
    halflife,
    react,
):  # pragma: no cover
    """Mid path and quotes of one day.

    Pass 1: log returns ``sqrt(g) * sigma_s * sqrt(vol * dt) * z`` where the
    volatility factor ``g`` reverts to 1 with the given half-life (seconds),
    reacts to squared shocks and is multiplied by 4 at a jump.
    Pass 2: bridge the diffusion so that it ends at ``target`` (weighting by
    cumulative variance), add the jumps, and build whole-tick bid/ask around
    the mid with a spread of at least one tick; the spread noise decays in time.
    """
    n = ts.shape[0]
    path = np.empty(n)
    cvar = np.empty(n)
    gv = np.empty(n)
    lam = math.log(2.0) / halflife
    g = 1.0
    p = 0.0
    v = 0.0
    prev = day_ns
    for i in range(n):
        d = min((ts[i] - prev) / 1e9, 120.0)
        prev = ts[i]
        g = 1.0 + (g - 1.0) * math.exp(-lam * d)
        gv[i] = g
        sd = sigma_s * math.sqrt(vol_min[minute[i]] * d)
        zi = z[i]
        p += math.sqrt(g) * sd * zi
        v += sd * sd * g
        path[i] = p
        cvar[i] = v
        w = react * math.sqrt(min(d, halflife) / halflife)
        g = g * (1.0 + w * (zi * zi - 1.0))
        if jump[i] != 0.0:
            g *= 4.0
        g = min(max(g, 0.2), 12.0)
    shift = p - target
    bid = np.empty(n)
    ask = np.empty(n)
    bid_size = np.empty(n)
    ask_size = np.empty(n)
    jumps = 0.0
    noise = z_spread[0]
    prev = ts[0]
    for i in range(n):
        jumps += jump[i]
        frac = cvar[i] / v if v > 0.0 else 1.0
        mid = math.exp(x0 + path[i] - frac * shift + jumps) * scale
        # Spread noise: AR(1) in time with a 5 s decay so spreads persist.
        phi = math.exp((prev - ts[i]) / 5e9)
        prev = ts[i]
        noise = phi * noise + math.sqrt(1.0 - phi * phi) * z_spread[i]
        s = spread_min[minute[i]] * math.sqrt(gv[i]) * math.exp(0.3 * noise - 0.045)
        s = max(math.floor(s + 0.5), 1.0)
        b = math.floor(mid - 0.5 * s + 0.5)
        bid[i] = b / scale
        ask[i] = (b + s) / scale
        bid_size[i] = max(math.floor(math.exp(size_mu + 0.6 * z_size[i]) + 0.5), 1.0) / size_scale
        ask_size[i] = max(math.floor(math.exp(size_mu + 0.6 * z_size[n + i]) + 0.5), 1.0) / size_scale
    return bid, ask, bid_size, ask_size
