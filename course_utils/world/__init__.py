"""World Models' loop (chapter 08): collect rollouts, encode them with V, train M on sequences, evolve C.

rollouts: real environment (random collection, batched evaluation of controllers); sequences: episodes
encoded to z and batched for M; dream: rollouts imagined by M for a population of controllers at once;
evolve: CMA-ES from the `cma` package.
"""
