"""xdist: zero-shot cross-lingual transfer versus typological distance.

The analysis half (this package without :mod:`xdist.train`) never imports
torch or transformers.  Public entry points live in their modules:

- :mod:`xdist.results` - the results table (load, validate)
- :mod:`xdist.languages` - the one languages table
- :mod:`xdist.distances` - URIEL typological distances
- :mod:`xdist.degradation` - source-language score minus target score
- :mod:`xdist.stats` - bootstrap, correlation tables, adjustment
- :mod:`xdist.analyses` - the research questions as functions
"""

__version__ = "0.1.0"
