# Reference values for tests/test_compare.c, computed independently of cprof.h: the two-sided p of
# Welch's t-test by integrating Student's t density numerically, and the Benjamini-Hochberg adjusted
# p-values from the definition (a double loop, not the running minimum cprof.h uses). Run: python3 tests/compare_reference.py
import math, itertools
# Welch by direct numerical integration of Student's t density (independent of the continued fraction)
def welch(n1,m1,v1,n2,m2,v2):
    a=v1/n1; b=v2/n2; t=(m2-m1)/math.sqrt(a+b); df=(a+b)**2/(a*a/(n1-1)+b*b/(n2-1))
    c=math.exp(math.lgamma((df+1)/2)-math.lgamma(df/2))/math.sqrt(df*math.pi)
    f=lambda x: c*(1+x*x/df)**(-(df+1)/2)
    # p = 2*integral_|t|^inf ; substitute x=|t|+u/(1-u)
    N=200000; s=0.0; T=abs(t)
    for i in range(N):
        u=(i+0.5)/N; x=T+u/(1-u); s+=f(x)/(1-u)**2
    return t,df,2*s/N
print("welch", welch(10,5,4,12,6.5,9))
print("welch2", welch(100,1000.0,2500.0,80,1010.0,3600.0))
# Benjamini-Hochberg from its definition: each p's adjusted value is the least m p(j) / j over the
# ranks j (1 = smallest) of the p-values at least as large, capped at 1.
def bh(ps):
    m=len(ps); order=sorted(ps)
    return [min(1.0,min(m*order[j]/(j+1) for j in range(m) if order[j]>=p)) for p in ps]
print("bh", bh([0.01,0.04,0.03,0.005,0.5,0.2,0.03]))
print("welch runs", welch(5,102.0,2.5,5,82.0,2.5))
print("welch planted", welch(5,104.0,10.0,5,110.0,10.0))
# test_runs: work's share of each run, 100 w / (w + 100), w = 100..104 ms before and 80..84 after
def welch_samples(x, y):
    n1, n2 = len(x), len(y); m1, m2 = sum(x) / n1, sum(y) / n2
    return welch(n1, m1, sum((a - m1) ** 2 for a in x) / (n1 - 1), n2, m2, sum((a - m2) ** 2 for a in y) / (n2 - 1))
print("welch shares", welch_samples([100 * w / (w + 100) for w in range(100, 105)], [100 * w / (w + 100) for w in range(80, 85)]))
# The moderated t-test (Smyth 2004): digamma and trigamma by finite differences of math.lgamma (not the
# asymptotic series cprof.h uses), trigamma's inverse by bisection, the t's p by the integration above.
def digamma(x, h=1e-4): return (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)
def trigamma(x, h=1e-3): return (math.lgamma(x + h) - 2 * math.lgamma(x) + math.lgamma(x - h)) / (h * h)
def trigamma_inverse(y):
    lo, hi = 1e-6, 1e7 # trigamma falls from +inf to 0
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if trigamma(mid) > y: lo = mid
        else: hi = mid
    return math.sqrt(lo * hi)
def prior(variances, d):
    e = [math.log(v) - digamma(d / 2) + math.log(d / 2) for v in variances if v > 0]
    m = sum(e) / len(e); spread = sum((x - m) ** 2 for x in e) / (len(e) - 1) - trigamma(d / 2)
    if spread <= 0: return math.inf, math.exp(m)
    d0 = 2 * trigamma_inverse(spread)
    return d0, math.exp(m + digamma(d0 / 2) - math.log(d0 / 2))
def t_p(t, df):
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    N = 200000; s = 0.0; T = abs(t)
    for i in range(N):
        u = (i + 0.5) / N; x = T + u / (1 - u); s += c * (1 + x * x / df) ** (-(df + 1) / 2) / (1 - u) ** 2
    return 2 * s / N
def moderated(diff, v, d, n1, n2, d0, s0, cap):
    drawn = s0 if math.isinf(d0) else (d0 * s0 + d * v) / (d0 + d)
    return t_p(diff / math.sqrt(drawn * (1 / n1 + 1 / n2)), min(cap, d0 + d))
d0, s0 = prior([0.01, 0.02, 0.015, 0.03, 0.012], 8)
print("prior", d0, s0)
print("moderated", moderated(0.1, 0.01, 8, 5, 5, d0, s0, 40))
print("prior equal", prior([0.01, 0.01, 0.01], 8))
# A comparison's times: the logs of each tested time's shares of the runs, pooled variance on n1 + n2 - 2
def features(rows):
    out = []
    for x, y in rows:
        lx = [math.log(v) for v in x]; ly = [math.log(v) for v in y]
        mx = sum(lx) / len(lx); my = sum(ly) / len(ly); d = len(x) + len(y) - 2
        out.append((my - mx, (sum((a - mx) ** 2 for a in lx) + sum((a - my) ** 2 for a in ly)) / d, d))
    return out
def moderated_family(rows, extra_constant=0):
    f = features(rows); d = f[0][2]; d0, s0 = prior([v for _, v, _ in f], d)
    return [moderated(diff, v, d, 5, 5, d0, s0, d * (len(f) + extra_constant)) for diff, v, _ in f]
# test_runs: work w = 100..104 ms before, 80..84 after, rest 100 ms: shares of w + 100
work = ([100 * w / (w + 100) for w in range(100, 105)], [100 * w / (w + 100) for w in range(80, 85)])
rest = ([100 * 100 / (w + 100) for w in range(100, 105)], [100 * 100 / (w + 100) for w in range(80, 85)])
print("runs", moderated_family([work, work, rest, rest], extra_constant=1))
# planted_runs: one at 100, 102, ... 108 ms of a 1 s run before, 106 ... 114 after; main's self the rest
# (tiny's 0.01-0.104 ms and `extra` steady functions of 40 ms); main's total and the steady ones constant.
def planted(extra):
    one = ([(100 + 2 * r) / 10 for r in range(5)], [(106 + 2 * r) / 10 for r in range(5)])
    tiny = ([(0.01 + 0.001 * r) / 10 for r in range(5)], [(0.1 + 0.001 * (r + 5)) / 10 for r in range(5)])
    main = tuple([100 - a - b - 4 * extra for a, b in zip(one[s], tiny[s])] for s in range(2))
    return moderated_family([one, one, main], extra_constant=1 + 2 * extra) # the steady: self and total
print("planted 0", planted(0))
print("planted 20", planted(20))
print("spread prior", prior([0.001, 0.02, 0.005, 0.1, 0.012], 8))
d0, s0 = prior([0.001, 0.02, 0.005, 0.1, 0.012], 8)
print("spread moderated", moderated(0.1, 0.01, 8, 5, 5, d0, s0, 40))
