"""Studies built from many steady solves: what-if sweeps, N-1 failures, capacity search,
and the Dask runner they share."""
