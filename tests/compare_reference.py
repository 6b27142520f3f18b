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
