"""The brain side: measures neuroscientists use on neurons, run alike on recorded units and agents' units
(imported as ``neuroethology.analysis.neural``).

Single-unit tuning (rate maps, spatial information, grid, border, head-direction and speed scores), population
geometry and decoding, model-vs-brain representational comparisons and the dynamics of trained recurrent
cores. Every function takes arrays (or a Recording's ``activity``) with the samples' own durations, so
irregularly sampled recordings are measured as recorded.
"""
