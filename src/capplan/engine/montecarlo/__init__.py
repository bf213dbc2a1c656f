"""The fast plan engine: where the speed work lives.

Everything here computes what :mod:`capplan.engine.evaluate` defines, faster and in less
memory: paths evaluated a block at a time (:mod:`.blocks`), totals of components that follow
from one array added up at the end (:mod:`.contributions`), figures that follow from another
summarised from its order statistics (:mod:`.derivations`), the streaming evaluation
(:mod:`.stream`) and the Monte Carlo summary (:mod:`.summary`). Exact tests hold it equal to
the reference evaluation under the numeric contract stated there.
"""
